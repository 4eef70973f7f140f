// Bundles src/ into one ES module and one stylesheet per widget, written into the Python
// package (runway_nb/notebook/widgets/static/), where they are committed: installing runway-nb
// never needs node, and nothing loads from a CDN. Deterministic: no sourcemaps, no timestamps,
// no legal comments, so the same sources always give byte-identical files (.ci/frontend-check
// rebuilds and compares).
import * as esbuild from "esbuild";
import { fileURLToPath } from "node:url";

const here = (path) => fileURLToPath(new URL(path, import.meta.url));
const WIDGETS = ["task_view", "grid", "panel", "workflow_view"];

await esbuild.build({
  entryPoints: WIDGETS.flatMap((name) => [here(`src/${name}.js`), here(`src/${name}.css`)]),
  outdir: here("../runway_nb/notebook/widgets/static"),
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  sourcemap: false,
  legalComments: "none",
  charset: "utf8",
  logLevel: "warning",
});
