"""Small displays of the ``%runway`` subcommands: a title, two-column facts, and an optional table."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from runway_nb.notebook.charges import credits_text, handle_credits

if TYPE_CHECKING:  # annotations only: the magic loads the client on first use
    from runway_nb.client.handles import AnyTaskHandle

__all__ = ["Facts", "status_facts"]


class _Printer(Protocol):
    """IPython's pretty printer, as far as ``_repr_pretty_`` uses it."""

    def text(self, obj: str) -> None: ...


class Facts:
    """Two-column facts with ``text/plain`` and escaped ``text/html``."""

    def __init__(self, title: str, rows: list[tuple[str, str]], table: Sequence[Mapping[str, object]] | None = None,
                 columns: tuple[str, ...] = ()):
        self.title = title
        self.rows = rows
        self.table = list(table or [])
        self.columns = columns

    def __repr__(self) -> str:
        width = max((len(k) for k, _ in self.rows), default=0)
        lines = [self.title] + [f"  {k.ljust(width)}  {v}" for k, v in self.rows]
        if self.table:
            widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in self.table)) for c in self.columns}
            lines.append("  " + "  ".join(c.ljust(widths[c]) for c in self.columns).rstrip())
            for r in self.table:
                lines.append("  " + "  ".join(str(r.get(c, "")).ljust(widths[c]) for c in self.columns).rstrip())
        return "\n".join(lines)

    def _repr_pretty_(self, p: _Printer, cycle: bool) -> None:
        p.text(repr(self))

    def _repr_html_(self) -> str:
        esc = html.escape
        rows = "".join(f"<tr><th style='text-align:left'>{esc(k)}</th><td style='text-align:left'>{esc(v)}</td></tr>"
                       for k, v in self.rows)
        out = f"<div class='rnb-facts'><strong>{esc(self.title)}</strong><table>{rows}</table>"
        if self.table:
            head = "".join(f"<th>{esc(c)}</th>" for c in self.columns)
            body = "".join("<tr>" + "".join(f"<td>{esc(str(r.get(c, '')))}</td>" for c in self.columns) + "</tr>"
                           for r in self.table)
            out += f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        return out + "</div>"


def status_facts(handle: AnyTaskHandle) -> Facts:
    """One task's facts (``%runway status``): status, request, cost, outputs, files, failure."""
    task = handle.task
    rows = [("status", str(handle.status))]
    if task is not None and task.progress is not None and not task.finished:
        rows.append(("progress", f"{task.progress:.0%}"))
    if handle.status == "THROTTLED":
        rows.append(("note", "queued: waiting for a free slot in the account's concurrency limit"))
    if handle.endpoint:
        rows.append(("type", handle.endpoint))
    for key, value in (handle.params or {}).items():
        if key != "endpoint":
            rows.append((key, str(value)))
    cost = handle_credits(handle)
    if cost is not None:
        rows.append(("credits", credits_text(cost)))
    if task is not None and task.created_at is not None:
        rows.append(("created", task.created_at.isoformat()))
    for i, url in enumerate(task.outputs if task is not None else []):
        rows.append((f"output {i}", url))
    for i, path in enumerate(handle.files):
        rows.append((f"file {i}", str(path)))
    if task is not None and task.failed:
        rows.append(("failure", f"[{task.failure_code or '?'}] {task.failure or 'no reason given'}"))
        rows.append(("hint", task.hint or ""))
    return Facts(f"Task {handle.id}", rows)
