// Every colour in the widgets' stylesheets comes from JupyterLab's theme variables (a fixed
// colour only as a var() fallback), so the light, dark and high-contrast themes all work.
// The contrast itself is measured in the browser (tests/browser/test_theme_browser.py).
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { test } from "node:test";

const SRC = new URL("../src/", import.meta.url);
// A video's letterbox stays black in every theme: the bars around a picture.
const ALLOWED = [".rnb-media { max-width: 100%; max-height: 480px; border-radius: 4px; background: #000; }"];

test("stylesheets: no fixed colour outside a var(--jp-…, fallback)", () => {
  const found = [];
  for (const name of readdirSync(SRC).filter((f) => f.endsWith(".css"))) {
    for (const line of readFileSync(new URL(name, SRC), "utf8").split("\n")) {
      if (ALLOWED.includes(line.trim())) continue;
      const bare = line.replace(/var\(--jp-[\w-]+, #[0-9a-fA-F]{3,8}\)/g, "").replace(/\/\*.*?\*\//g, "");
      if (/#[0-9a-fA-F]{3,8}\b|rgba?\(/.test(bare)) found.push(`${name}: ${line.trim()}`);
    }
  }
  assert.deepEqual(found, []);
});

test("the transport button is named by its words: Play all / Pause all, its icon hidden", () => {
  const grid = readFileSync(new URL("grid.js", SRC), "utf8");
  assert.doesNotMatch(grid, /[\u25b6\u23f8]/u, "no ▶/⏸ characters: fonts lack them and screen readers name them");
});
