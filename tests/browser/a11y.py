"""Accessibility checks the browser tests share: axe-core (from js/node_modules, injected from
disk: nothing from a CDN) and a WCAG contrast measure of every visible text.

axe-core is a dev dependency of js/ (``npm ci`` in js/, which .ci/frontend-check runs before the tests).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[2] / "js" / "node_modules" / "axe-core" / "axe.min.js"

# axe-core's serious and critical violations inside the elements matching a selector.
AXE_RUN = """async (selector) => {
  const include = [...document.querySelectorAll(selector)];
  const r = await axe.run({include}, {resultTypes: ['violations']});
  return r.violations.filter(v => v.impact === 'serious' || v.impact === 'critical').map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => [n.target.join(' '), n.failureSummary])}));
}"""

# For each visible text node under the roots: its text, colour over its effective background, size.
CONTRAST = """(rootsSelector) => {
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 1;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  // Any CSS colour (rgb(), color(srgb ...) from color-mix, names) as [r, g, b, a] in 0..1.
  const rgba = (css) => {
    ctx.clearRect(0, 0, 1, 1);
    ctx.fillStyle = '#000';
    ctx.fillStyle = css;
    ctx.fillRect(0, 0, 1, 1);
    const d = ctx.getImageData(0, 0, 1, 1).data;
    return [d[0] / 255, d[1] / 255, d[2] / 255, d[3] / 255];
  };
  const over = (top, below) => {  // top composited over an opaque colour
    const a = top[3];
    return [0, 1, 2].map(i => top[i] * a + below[i] * (1 - a)).concat([1]);
  };
  const lum = (c) => {
    const ch = c.slice(0, 3).map(v => v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4);
    return 0.2126 * ch[0] + 0.7152 * ch[1] + 0.0722 * ch[2];
  };
  const background = (el) => {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const c = rgba(getComputedStyle(n).backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let bg = [1, 1, 1, 1];
    for (let i = layers.length - 1; i >= 0; i--) bg = over(layers[i], bg);
    return bg;
  };
  const opacity = (el) => {
    let o = 1;
    for (let n = el; n; n = n.parentElement) o *= Number(getComputedStyle(n).opacity);
    return o;
  };
  const out = [];
  for (const root of document.querySelectorAll(rootsSelector)) {
    if (root.parentElement && root.parentElement.closest(rootsSelector)) continue;  // nested: walked once
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let t = walker.nextNode(); t; t = walker.nextNode()) {
      const text = t.data.trim();
      const el = t.parentElement;
      if (!text || !el || el.closest('option, script, style, svg')) continue;
      if (!el.checkVisibility({visibilityProperty: true, opacityProperty: true})) continue;
      const range = document.createRange();
      range.selectNodeContents(t);
      if ([...range.getClientRects()].every(r => r.width === 0 || r.height === 0)) continue;
      if (el.closest('button:disabled, input:disabled, select:disabled')) continue;  // WCAG: inactive
      const cs = getComputedStyle(el);
      const fg = rgba(cs.color);
      fg[3] *= opacity(el);
      const bg = background(el);
      const shown = over(fg, bg);
      const [a, b] = [lum(shown), lum(bg)];
      const ratio = (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
      const size = parseFloat(cs.fontSize);
      const bold = Number(cs.fontWeight) >= 700;
      out.push({text: text.slice(0, 60), cls: el.className && String(el.className), color: cs.color,
                ratio: Math.round(ratio * 100) / 100, large: size >= 24 || (size >= 18.66 && bold)});
    }
  }
  return out;
}"""


def serious_violations(page: Any, selector: str) -> list[dict[str, Any]]:
    """axe-core's serious and critical violations in the elements matching ``selector`` (axe is
    injected on first use)."""
    if not page.evaluate("() => typeof axe !== 'undefined'"):
        assert AXE.exists(), f"{AXE} is missing: run `npm ci` in js/"
        page.add_script_tag(path=str(AXE))
    return list(page.evaluate(AXE_RUN, selector))


def low_contrast(page: Any, selector: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(every text measured under ``selector``, those below WCAG AA: 4.5:1, or 3:1 for large text)."""
    measured = list(page.evaluate(CONTRAST, selector))
    return measured, [m for m in measured if m["ratio"] < (3.0 if m["large"] else 4.5)]


def theme_slug(theme: str) -> str:
    """"JupyterLab Dark High Contrast" -> "dark-high-contrast": for file names."""
    return "-".join(theme.lower().split()[1:])


def open_in_theme(jupyter_servers: Any, page: Any, nb_tools: Any, *, theme: str, name: str, cells: list[str],
                  width: int, height: int) -> Any:
    """Write ``cells`` as notebook ``name`` on a JupyterLab started in ``theme``, open it in a page of
    ``width`` x ``height`` (tall pages lay out every output: JupyterLab skips drawing cells out of
    view) and wait until the page is in that theme. Returns the server."""
    lab = jupyter_servers(theme=theme)
    nb_tools.write(lab, name, cells)
    page.set_viewport_size({"width": width, "height": height})
    nb_tools.open(page, lab, name)
    page.wait_for_function("(name) => document.body.dataset.jpThemeName === name", arg=theme, timeout=30_000)
    return lab
