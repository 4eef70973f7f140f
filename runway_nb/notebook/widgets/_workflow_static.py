"""Static output of a workflow run: HTML and plain text that need no kernel, no widget and no JS.

The same rules as a task's static output (``_static.py``): every value is HTML-escaped, only safe
URLs (``_urls.safe_url``) reach ``src``/``href``, inline styles only, no media bytes embedded (an
input's small data: image is shown as the run was given it) but posters: a node output whose
bytes the view already fetched embeds its poster (:mod:`runway_nb.notebook.posters`; nothing is
downloaded for it). One row per node: its status, its name and model, its outputs (players, and
under each where it lives: a link and how long it works), its error flagged; then the cost.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

from runway_nb.api.task import FAILED, RUNNING, SUCCEEDED
from runway_nb.api.workflow import INPUT, NodeState
from runway_nb.client.workflows import AnyWorkflowRun
from runway_nb.notebook import posters
from runway_nb.notebook.widgets import _theme as theme
from runway_nb.notebook.widgets._static import badge_colors, media_figure, status_note
from runway_nb.notebook.widgets._urls import is_remote, safe_url
from runway_nb.notebook.widgets._where import Where, ended_at, link_source, where_link

__all__ = ["node_media", "workflow_static_bundle", "workflow_static_html", "workflow_static_text"]

VALUE_SHOWN = 300  # characters of an input's text shown


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _clip(text: str, limit: int = VALUE_SHOWN) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def node_media(node: NodeState) -> list[str]:
    """The node's outputs that may be shown: http(s) or data: URLs that pass ``safe_url``."""
    shown = []
    for url in node.outputs:
        safe = safe_url(url) if is_remote(url) or url.startswith("data:") else None
        if safe is not None:
            shown.append(safe)
    return shown


def _badge(status: str, small: bool = False) -> str:
    size = "10px" if small else "11px"
    return (f'<span style="font-size:{size};font-weight:600;padding:1px 6px;border-radius:10px;'
            f'{badge_colors(status)}">{_e(status)}</span>')


def _node_html(node: NodeState, where: Callable[[str], Where]) -> str:
    facts = " · ".join(x for x in (node.type.replace("_", " ") if node.type else "", node.model or "",
                                   "optional" if node.optional else "") if x)
    parts = [f'<li data-rnb-node="{_e(node.id)}" data-rnb-status="{_e(node.status)}" '
             f'style="margin:6px 0;padding:6px 8px;border:1px solid {theme.BORDER};border-radius:4px;list-style:none">',
             '<div style="display:flex;flex-wrap:wrap;gap:8px;align-items:center">',
             _badge(node.status, small=True), f"<strong>{_e(node.name)}</strong>"]
    if facts:
        parts.append(f'<span style="color:{theme.MUTED}">{_e(facts)}</span>')
    parts.append("</div>")
    if node.value is not None:
        parts.append(f'<div style="color:{theme.MUTED};font-style:italic;overflow-wrap:anywhere">'
                     f'“{_e(_clip(str(node.value)))}”</div>')
    if node.error is not None:
        code = f'<code style="font-weight:600;margin-right:6px">{_e(node.error.failure_code)}</code>' \
            if node.error.failure_code else ""
        parts.append(f'<div role="alert" style="{theme.ERROR_BOX};'
                     'padding:4px 8px;'
                     f'margin:4px 0">{code}{_e(node.error.message)}</div>')
    media = node_media(node)
    if media:
        parts.append('<div style="display:flex;flex-wrap:wrap;gap:8px;margin:6px 0 2px">')
        for i, src in enumerate(media):
            kind = node.kind or "image"
            parts.append(media_figure({"src": src, "kind": kind, "local": False, "number": i + 1, "waveform": None,
                                       "poster": posters.known(kind, url=src), "where": where(src)}, len(media)))
        parts.append("</div>")
    parts.append("</li>")
    return "".join(parts)


def workflow_static_html(run: AnyWorkflowRun) -> str:
    """Self-contained HTML for a workflow run: status, each node with its outputs and errors, the cost."""
    status = run.status
    invocation = run.invocation
    parts = [
        f'<div class="rnb-static rnb-workflow-static" data-rnb-run="{_e(run.id)}" data-rnb-status="{_e(status)}" '
        f'style="font-family:{theme.FONT};font-size:13px;line-height:1.4;color:{theme.TEXT};'
        f'border:1px solid {theme.BORDER};border-radius:6px;padding:8px 10px;max-width:100%;box-sizing:border-box">',
        '<div style="display:flex;flex-wrap:wrap;gap:8px;align-items:center">', _badge(status),
        f"<strong>{_e('workflow · ' + run.name if run.name else 'workflow')}</strong>",
    ]
    if status == RUNNING and run.progress is not None:
        parts.append(f"<span>{run.progress:.0%}</span>")
    parts.append("</div>")
    note = status_note(status)
    if note:
        parts.append(f'<div style="color:{theme.WARN_TEXT};margin:4px 0">{_e(note)}</div>')
    if run.partial:
        parts.append(f'<div role="alert" style="{theme.WARN_BOX};'
                     'padding:4px 8px;'
                     f'margin:6px 0">Partial run: {len(run.node_errors)} node(s) failed; the others produced '
                     'their outputs.</div>')
    if status == FAILED and invocation is not None:
        code = f'<code style="font-weight:600;margin-right:6px">{_e(invocation.failure_code)}</code>' \
            if invocation.failure_code else ""
        parts.append(f'<div role="alert" style="{theme.ERROR_BOX};'
                     'padding:6px 8px;'
                     f'margin:6px 0">{code}{_e(invocation.failure or "The run failed.")}</div>')
    parts.append('<ul style="margin:6px 0;padding:0">')
    source = link_source(run)
    ended = ended_at(run, run.invocation) if run.finished else None

    def where(url: str) -> Where:
        return where_link(source, ended, url)

    parts += [_node_html(node, where) for node in run.nodes]
    parts.append("</ul>")
    footer = [f"run {run.id}"]
    if run.cost is not None:
        footer.insert(0, f"{run.cost:g} credits")
    if not run.finished:
        footer.append("snapshot: the live view needs a running kernel")
    parts.append(f'<div style="color:{theme.MUTED};font-size:11px;margin-top:2px">{_e(" · ".join(footer))}</div>')
    parts.append("</div>")
    return "".join(parts)


def workflow_static_text(run: AnyWorkflowRun) -> str:
    """A few readable lines: the run, then one per node."""
    lines = [run.summary()]
    for node in run.nodes:
        head = f"  {node.name}: {node.status}"
        if node.status == INPUT and node.value is not None:
            head += f" “{_clip(str(node.value), 80)}”"
        if node.error is not None:
            head += f" — {node.error.message}"
        lines.append(head)
        if node.status == SUCCEEDED:
            lines += [f"    {node.kind or 'output'}: {url}" for url in node_media(node)]
    return "\n".join(lines)


def workflow_static_bundle(run: AnyWorkflowRun) -> dict[str, str]:
    return {"text/html": workflow_static_html(run), "text/plain": workflow_static_text(run)}
