"""The static grid: a sweep's cells as self-contained HTML that looks like the live grid.

What nbconvert, GitHub and a reopened notebook show (``Grid.static_html``). Built from divs in a
CSS grid with inline styles only (JupyterLab styles a bare ``<table>`` in rendered HTML: blue
header, striped rows). What every cell shares (prompt, model, seed, …) is said once in the header;
a cell shows only what differs: its picture in a box of the output's true shape (a portrait video
is a narrow column, not letterboxed), a status badge unless it succeeded, its failure, and its
credits. The task ids are one footer line. Every value is escaped; only safe URLs reach
``src``/``href``; no script.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from runway_nb.api.task import FAILED, RUNNING, SUCCEEDED
from runway_nb.notebook import posters
from runway_nb.notebook.charges import credits_text
from runway_nb.notebook.widgets import _theme as theme
from runway_nb.notebook.widgets._static import SNAPSHOT_NOTE, status_note, task_facts

if TYPE_CHECKING:
    from runway_nb.notebook.widgets._grid import Grid

__all__ = ["CELL_HEIGHT", "static_grid"]

#: The tallest a cell's picture is drawn in the static grid (px).
CELL_HEIGHT = 240
_SMALL = f"font-size:12px;color:{theme.MUTED}"


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _header_lines(lines: Sequence[Sequence[str]]) -> str:
    """One header: a line per option (its name, then its full value)."""
    out = []
    for name, value in lines:
        out.append(f'<div style="overflow-wrap:anywhere"><span style="{_SMALL};font-weight:normal">{_e(name)}</span> '
                   f'<span style="font-weight:600">{_e(value)}</span></div>')
    return "".join(out)


def _media(m: dict[str, Any], fill: str) -> str:
    """One output filling its cell's frame (no caption: the header says what it is)."""
    src = _e(m["src"])
    poster = m.get("poster")
    poster_uri = _e(poster.uri) if poster is not None and poster.uri else ""
    if m["kind"] == "video":
        shown = f' poster="{poster_uri}"' if poster_uri else ""
        return (f'<video src="{src}"{shown} controls loop muted playsinline preload="metadata" '
                f'aria-label="output {m["number"]} (video)" style="{fill}background:#000"></video>')
    if m["kind"] == "audio":
        waveform = m.get("waveform")
        picture = waveform.svg() if waveform is not None else ""
        return (f'<div style="display:flex;flex-direction:column;justify-content:center;height:100%;'
                f'padding:4px;box-sizing:border-box">{picture}<audio src="{src}" controls preload="metadata" '
                f'aria-label="output {m["number"]} (audio)" style="width:100%"></audio></div>')
    picture = poster_uri or src
    return (f'<a href="{src}" target="_blank" rel="noopener noreferrer" style="display:block;height:100%">'
            f'<img src="{picture}" alt="output {m["number"]}" style="{fill}"></a>')


def _cell(grid: Grid, i: int, cell: dict[str, Any]) -> str:
    h = grid.handles[i]
    f = task_facts(h, files=list(h.files or []), poster_side=posters.GRID_SIDE)
    status = f["status"]
    width, height = max(1, int(cell.get("width") or 16)), max(1, int(cell.get("height") or 9))
    frame_w = round(CELL_HEIGHT * width / height)
    fill = "display:block;width:100%;height:100%;object-fit:cover;border:0;"
    inside: list[str] = []
    if f["media"]:
        inside.append(_media(f["media"][0], fill))
    else:
        text = [f'<div style="font-weight:600">{_e(status)}'
                + (f" {f['progress']:.0%}" if status == RUNNING and isinstance(f["progress"], (int, float)) else "")
                + "</div>"]
        note = status_note(status)
        if note:
            text.append(f'<div style="color:{theme.WARN_TEXT}">{_e(note)}</div>')
        if status == FAILED:
            code = f'<code style="font-weight:600">{_e(f["failure_code"])}</code> ' if f["failure_code"] else ""
            text.append(f'<div style="color:{theme.ERROR_TEXT};overflow-wrap:anywhere">{code}'
                        f'{_e(f["failure"] or "The task failed.")}</div>')
            if f["hint"]:
                text.append(f"<div>{_e(f['hint'])}</div>")
        inside.append('<div style="height:100%;display:flex;flex-direction:column;justify-content:center;'
                      'align-items:center;gap:4px;padding:8px;box-sizing:border-box;text-align:center;'
                      f'font-size:12px;overflow:hidden">{"".join(text)}</div>')
    badge = ""
    if status != SUCCEEDED and f["media"]:
        badge = (f'<span style="position:absolute;top:4px;left:4px;font-size:11px;font-weight:600;'
                 f'padding:1px 6px;border-radius:10px;{theme.badge_style(status)}">{_e(status)}</span>')
    meta = []
    if grid.wrap or not (grid.row_labels or grid.col_labels):
        meta.append(f'<span style="overflow-wrap:anywhere">{_e(grid.cell_label(i))}</span>')
    credits = f["caption"].get("credits")  # the badge on the frame says the status: not again here
    if isinstance(credits, (int, float)) and not isinstance(credits, bool):
        meta.append(f'<span style="white-space:nowrap">{_e(credits_text(credits))} credits</span>')
    meta_html = (f'<div style="display:flex;flex-wrap:wrap;gap:2px 8px;justify-content:flex-start;text-align:left;'
                 f'{_SMALL};margin-top:3px">{"".join(meta)}</div>') if meta else ""
    return (f'<div class="rnb-grid-cell" data-rnb-task="{_e(h.id)}" data-rnb-status="{_e(status)}" '
            f'style="grid-row:{_e(cell["grid_row"])};grid-column:{_e(cell["grid_col"])};min-width:0;text-align:left">'
            f'<div style="position:relative;width:{frame_w}px;max-width:100%;aspect-ratio:{width} / {height};'
            f'overflow:hidden;border-radius:4px;border:1px solid {theme.BORDER};box-sizing:border-box;'
            f'background:{theme.tint(theme.NEUTRAL, 8)}">{"".join(inside)}{badge}</div>{meta_html}</div>')


def static_grid(grid: Grid) -> str:
    """The grid as self-contained HTML: the shared facts once, the axis headers, each cell's picture."""
    status = "SUCCEEDED" if grid.finished else RUNNING
    parts = [f'<div class="rnb-static rnb-grid-static" data-rnb-grid="{_e(grid.model_id or "")}" '
             f'data-rnb-sweep-status="{_e(status)}" style="font-family:{theme.FONT};color:{theme.TEXT};'
             'font-size:13px;line-height:1.4;max-width:100%;box-sizing:border-box;text-align:left">',
             f'<div style="font-weight:600">{_e(grid.title)}</div>']
    if grid.fixed:
        fixed = " · ".join(f"{k} {v}" if k != "prompt" else f"“{v}”" for k, v in grid.fixed)
        parts.append(f'<div style="color:{theme.MUTED};overflow-wrap:anywhere">{_e(fixed)}</div>')
    parts.append(f'<div style="color:{theme.MUTED};margin:2px 0 6px">{_e(grid.summary_text())}</div>')
    heads_row = 1 if grid.col_labels else 0
    heads_col = 1 if grid.row_labels else 0
    n_cols = max(grid.columns, max((int(c["col"]) for c in grid.cells), default=-1) + 1)
    template = ("minmax(6em,max-content) " if heads_col else "") + f"repeat({n_cols},minmax(0,max-content))"
    parts.append(f'<div style="display:grid;grid-template-columns:{template};gap:8px 10px;align-items:start;'
                 'justify-content:start;max-width:100%">')
    for c, lines in enumerate(grid.col_lines if grid.col_labels else []):
        parts.append(f'<div style="grid-row:1;grid-column:{c + 1 + heads_col};min-width:0;align-self:end;'
                     f'border-bottom:1px solid {theme.BORDER};padding-bottom:2px">{_header_lines(lines)}</div>')
    for r, lines in enumerate(grid.row_lines if grid.row_labels else []):
        parts.append(f'<div style="grid-row:{r + 1 + heads_row};grid-column:1;min-width:0;align-self:center">'
                     f"{_header_lines(lines)}</div>")
    for i, cell in enumerate(grid.cells):
        placed = dict(cell, grid_row=int(cell["row"]) + 1 + heads_row, grid_col=int(cell["col"]) + 1 + heads_col)
        parts.append(_cell(grid, i, placed))
    parts.append("</div>")
    footer = f'task{"s" if len(grid.handles) != 1 else ""} ' + " · ".join(h.id for h in grid.handles)
    if not grid.finished:
        footer += f" · {SNAPSHOT_NOTE}"
    parts.append(f'<div style="{_SMALL};font-size:11px;margin-top:6px;overflow-wrap:anywhere">{_e(footer)}</div></div>')
    return "".join(parts)
