"""Static output of a task: HTML and plain text that need no kernel, no widget and no JS.

What ends up in the saved notebook, and why (measured with ipykernel 7.4, nbclient 0.11,
JupyterLab 4.6 with the default ``saveState: false``, anywidget 0.11):

- A widget output alone is not durable. JupyterLab reopens it as "Error displaying widget:
  model not found"; nbconvert picks the widget view whenever nbclient saved widget state (it
  always does) and offline renders nothing; GitHub shows no widget.
- So a TaskView is displayed with ``display(..., display_id=...)`` (``_ipython_display_``;
  the handle formatter goes through it too, since an ``Out[n]`` execute_result cannot carry a
  display id) and its bundle is widget view + ``text/html`` (this module) + ``text/plain``.
  When the task ends, every display is updated (``update_display_data``) to the final
  ``text/html`` + ``text/plain`` only: the widget view is dropped from the output. Exception:
  if the browser could not load an output URL and the kernel relayed the bytes (Binder with
  the simulator, say) and no local copy was saved, the widget stays (with the final static
  HTML beside it), because the static HTML could not show the media in that browser.
  While a browser view is open, the switch waits for the view's report that the media loaded.
- Parent headers decide who records an update. JupyterLab applies ``update_display_data``
  only in the cell whose request is the message's parent (the cell that showed the view;
  it ignores unknown display ids elsewhere). nbclient records only messages whose parent is
  the cell it is running now, and updates the earlier cell by display id. Each final update is
  therefore sent as a reply to the cell that showed the view and, when another cell is
  running, also as a reply to that one. A ``post_run_cell`` hook finishes views whose handle
  ended during a blocking cell (``handle.wait()``, ``%%runway --wait``), polls once if a
  blocking cell (``time.sleep``) made the background poll overdue, and repeats updates that
  were published while no cell ran.
- Results (tests/test_task_view.py, tests/browser/): in JupyterLab the saved notebook holds
  the final static output of each task (about 1.6 kB of HTML + text per task without posters;
  a one-task notebook is ~3.8 kB) and a reopened notebook plays the video without a kernel.
  Headless (nbclient, hence ``jupyter nbconvert --execute``, papermill, nbval), the final
  output is recorded when any later cell runs after the task ended, or a later cell waits
  (``await asyncio.sleep``, ``handle.wait()``); a task still running when the last cell
  finishes keeps its creation-time snapshot (PENDING) - end such notebooks with
  ``handle.wait()`` or use ``%%runway --wait``. ``nbconvert --to html`` of the result shows the
  static HTML.
- Size: a finished view's model is closed (``TaskView._retire``) after its code traits were
  replaced by a stub, because nbclient saves every widget's state (``_esm`` + ``_css`` are
  ~19 kB) and never drops a closed one. Measured: 4 tasks executed headlessly -> 24.6 kB
  notebook (8 kB outputs, 9 kB widget state, mostly ipywidgets' LayoutModel); without the
  stub it was 103 kB.
- Autosave (``save_to``): the HTML refers to the saved files by relative path, which
  JupyterLab resolves to ``/files/...`` of the Jupyter server (so it also works on Binder)
  and which keeps working after Runway's output URLs expire (24-48 h).
- Posters: each video and image output also embeds a small preview as a ``data:`` URI
  (:mod:`runway_nb.notebook.posters`, under 30 kB each), made from its saved file (or from
  bytes the widgets already fetched; never downloaded for this), so GitHub, nbviewer, VS Code
  without widgets, or a copy of the notebook without ``runway_outputs/`` still shows the
  result: a video's ``poster`` stays when its file is missing, an image shows its preview
  linking to the full file (see ``_image_player``). Audio shows its waveform SVG. Under each output, one
  line says where it lives (``_where``): the saved file, or a link and how long it works.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import unquote

from runway_nb.api.task import CANCELLED, FAILED, PENDING, RUNNING, SUCCEEDED, THROTTLED, Routing, Task
from runway_nb.errors import failure_hint
from runway_nb.notebook import posters
from runway_nb.notebook.charges import charged_credits, handle_credits
from runway_nb.notebook.posters import Poster
from runway_nb.notebook.waveform import Waveform, duration_text
from runway_nb.notebook.widgets import _audio
from runway_nb.notebook.widgets import _theme as theme
from runway_nb.notebook.widgets._urls import endpoint_kind, file_url, is_remote, media_kind, safe_url
from runway_nb.notebook.widgets._where import Where, ended_at, link_source, saved, where_link

__all__ = ["badge_colors", "caption_fields", "charged_credits", "media_figure", "static_bundle", "static_html",
           "static_text", "status_note", "task_facts"]


THROTTLED_NOTE = ("Waiting for a free slot: the account's concurrency limit for this model is reached, "
                  "so Runway queues the task until one of your running tasks finishes. It has not failed.")


def badge_colors(status: str) -> str:
    """The inline style of a status badge's colours (theme-aware, see :mod:`._theme`)."""
    return theme.badge_style(status)


def status_note(status: str) -> str:
    """A sentence explaining a status that needs one (THROTTLED, unknown statuses)."""
    if status == THROTTLED:
        return THROTTLED_NOTE
    if status not in (PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED):
        return f"Runway reported the status {status!r}, which runway-nb does not know; still watching."
    return ""


def caption_fields(params: dict[str, Any] | None, *, credits: Any = None, caption: Any = None) -> dict[str, Any]:
    """The caption as plain values: prompt, model, ratio, seed, duration, credits (and title)."""
    p = params or {}
    prompt = p.get("promptText", p.get("prompt", p.get("prompt_text")))
    fields: dict[str, Any] = {
        "prompt": prompt,
        "model": p.get("model"),
        "ratio": p.get("ratio"),
        "seed": p.get("seed"),
        "duration": p.get("duration"),
        "credits": credits,
    }
    if isinstance(caption, str):
        fields["title"] = caption
    elif isinstance(caption, dict):
        fields.update(caption)
    return {str(k): _plain(v) for k, v in fields.items() if v is not None and v != ""}


#: Said under any static output of an unfinished task: it will not move until the cell runs again.
SNAPSHOT_NOTE = "snapshot: the live view needs a running kernel"


def output_shape(endpoint: str, params: dict[str, Any] | None) -> tuple[int, int] | None:
    """The output's size in px, as the catalog computes it from the request (a ratio such as "16:9"
    is not a size); None for audio, or when the endpoint or model is unknown."""
    from runway_nb.api import catalog  # the catalog loads with the first view, not at %load_ext

    body = {k: v for k, v in (params or {}).items() if k != "endpoint"}
    model = body.get("model")
    if endpoint_kind(endpoint, model if isinstance(model, str) else None) == "audio":
        return None
    try:
        width, height = catalog.output_size(endpoint, body)
    except Exception:  # an endpoint or model this version does not know
        return None
    return int(width), int(height)


def _plain(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, (int, float)):
        return int(value) if isinstance(value, float) and value.is_integer() else value
    return str(value)


def task_facts(handle_or_task: Any, params: dict[str, Any] | None = None, files: Sequence[Any] | None = None,
               *, caption: Any = None, outputs: Sequence[str] | None = None,
               poster_side: int | None = posters.SIDE) -> dict[str, Any]:
    """Everything the static views show, from a TaskHandle/AsyncTaskHandle or a Task.

    Each shown output has ``src``, ``kind``, ``local``, ``remote``, ``number``, ``waveform``,
    ``poster`` (a :class:`~runway_nb.notebook.posters.Poster` of its saved file, or of bytes
    already fetched for its URL, at most ``poster_side`` px; None when ``poster_side`` is None)
    and ``where`` (a :class:`~runway_nb.notebook.widgets._where.Where`: saved file or link)."""
    if isinstance(handle_or_task, Task):
        task: Task | None = handle_or_task
        task_id = handle_or_task.id
        estimated = handle_or_task.estimated_cost
        handle_files: Sequence[Any] = ()
        endpoint = None
        routing = handle_or_task.routing
    else:
        handle = handle_or_task
        task = handle.task
        task_id = handle.id
        estimated = handle.estimated_cost
        handle_files = list(getattr(handle, "files", None) or ())
        endpoint = getattr(handle, "endpoint", None)
        routing = getattr(handle, "routing", None) or (task.routing if task is not None else None)
        if params is None:
            params = handle.params
    params = dict(params or {})
    endpoint = endpoint or params.get("endpoint")
    status = task.status if task is not None else PENDING
    raw_outputs = list(outputs if outputs is not None else (task.outputs if task is not None else []))
    file_list = list(files if files is not None else handle_files)
    media = []
    source = link_source(handle_or_task)
    ended: list[float | None] = []  # looked up once, only when an output is shown from its link
    for i, url in enumerate(raw_outputs):
        local = file_url(file_list[i]) if i < len(file_list) else None
        # a server's output shows from an http(s) or data: URL only: a relative "URL" it sent
        # would point at the notebook server (e.g. its logout page); as in TaskView and Grid
        remote = safe_url(url) if is_remote(str(url)) or str(url).startswith("data:") else None
        src = local or remote
        if src is None:
            continue
        kind = media_kind(str(file_list[i]) if local else url, endpoint, params.get("model"))
        waveform = _audio.known(str(url), file_list[i] if local else None) if kind == "audio" else None
        poster = None
        if poster_side is not None and kind in ("video", "image"):
            poster = posters.known(kind, url=str(url), file=file_list[i] if local else None, side=poster_side)
        if local is not None:
            where = saved(unquote(local))
        else:
            if not ended:
                ended.append(ended_at(handle_or_task, task))
            where = where_link(source, ended[0], str(url))
        media.append({"src": src, "kind": kind, "local": local is not None, "remote": remote, "number": i + 1,
                      "waveform": waveform, "poster": poster, "where": where})
    credits = (charged_credits(status, task.cost if task is not None else None, estimated)
               if isinstance(handle_or_task, Task) else handle_credits(handle_or_task, task))
    return {
        "id": task_id,
        "status": status,
        "endpoint": endpoint,
        "progress": task.progress if task is not None else None,
        "failure": task.failure if task is not None else None,
        "failure_code": task.failure_code if task is not None else None,
        "hint": failure_hint(task.failure_code) if task is not None and task.failed else None,
        "created_at": task.created_at if task is not None else None,
        "media": media,
        "dropped": len(raw_outputs) - len(media),
        "total": len(raw_outputs),
        "caption": caption_fields(params, credits=credits, caption=caption),
        "finished": status in (SUCCEEDED, FAILED, CANCELLED),
        "routing": routing.summary() if isinstance(routing, Routing) else None,
    }


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _facts_line(caption: dict[str, Any], *, model: bool = True) -> str:
    """``gen4.5 · 1280:720 · seed 5 · 5 s · 60 credits`` (without the model when a heading shows it)."""
    bits = []
    for key, fmt in (("model", "{}"), ("ratio", "{}"), ("seed", "seed {}"), ("duration", "{} s"),
                     ("credits", "{} credits")):
        if key in caption and (model or key != "model"):
            value = caption[key]
            bits.append(fmt.format(f"{value:,}" if key == "credits" and isinstance(value, (int, float)) else value))
    return " · ".join(bits)


def static_html(handle_or_task: Any, params: dict[str, Any] | None = None, files: Sequence[Any] | None = None,
                *, caption: Any = None, outputs: Sequence[str] | None = None,
                poster_side: int | None = posters.SIDE) -> str:
    """Self-contained HTML for a task: status, media players, caption, failure and hint.

    ``handle_or_task`` is a TaskHandle/AsyncTaskHandle (``params`` and ``files`` then default to
    the handle's) or a :class:`runway_nb.Task` (pass ``params``, the request's display params).
    ``files``: saved copies of the outputs, in output order; they are referred to by relative
    path, so the HTML keeps working after Runway's URLs expire (24-48 h). Every value is
    HTML-escaped and only safe URLs (see ``_urls.safe_url``) reach ``src``/``href``. Inline
    styles only, no script: it renders the same in JupyterLab, nbconvert's HTML and on GitHub.
    Media bytes are never embedded, only each video's and image's poster (a small preview, see
    :mod:`runway_nb.notebook.posters`; ``poster_side`` px at most, None for none), made from its
    saved file or from bytes already fetched, so the output shows without its files.
    """
    f = task_facts(handle_or_task, params, files, caption=caption, outputs=outputs, poster_side=poster_side)
    status = f["status"]
    cap = f["caption"]
    parts = [
        f'<div class="rnb-static" data-rnb-task="{_e(f["id"])}" data-rnb-status="{_e(status)}" '
        f'style="font-family:{theme.FONT};font-size:13px;line-height:1.4;color:{theme.TEXT};'
        f'border:1px solid {theme.BORDER};border-radius:6px;padding:8px 10px;max-width:100%;box-sizing:border-box">',
        '<div style="display:flex;flex-wrap:wrap;gap:8px;align-items:center">',
        f'<span style="font-size:11px;font-weight:600;padding:2px 7px;border-radius:10px;'
        f'{badge_colors(status)}">{_e(status)}</span>',
    ]
    heading_fields = {k: v for k, v in (("endpoint", (f["endpoint"] or "").replace("_", " ")),
                                        ("model", cap.get("model"))) if v}
    heading = " · ".join(str(v) for v in heading_fields.values())
    if heading:
        parts.append(f"<strong>{_e(heading)}</strong>")
    if status == RUNNING and isinstance(f["progress"], (int, float)):
        parts.append(f"<span>{f['progress']:.0%}</span>")
    parts.append("</div>")
    if f["routing"]:
        parts.append(f'<div class="rnb-routing" style="color:{theme.MUTED};margin:2px 0">{_e(f["routing"])}</div>')
    note = status_note(status)
    if note:
        parts.append(f'<div style="color:{theme.WARN_TEXT};margin:4px 0">{_e(note)}</div>')
    if status == FAILED:
        code = f'<code style="font-weight:600;margin-right:6px">{_e(f["failure_code"])}</code>' \
            if f["failure_code"] else ""
        parts.append(f'<div style="{theme.ERROR_BOX};'
                     f'padding:6px 8px;margin:6px 0"><div>{code}{_e(f["failure"] or "The task failed.")}</div>'
                     f'<div style="color:{theme.TEXT};margin-top:4px">{_e(f["hint"] or "")}</div></div>')
    if f["media"]:
        parts.append('<div style="display:flex;flex-wrap:wrap;gap:8px;margin:8px 0 4px">')
        for m in f["media"]:
            parts.append(media_figure(m, f["total"]))
        parts.append("</div>")
    if f["dropped"]:
        parts.append(f'<div style="color:{theme.MUTED}">{f["dropped"]} output URL(s) not shown: '
                     'not an http(s) URL.</div>')
    if cap.get("title"):
        parts.append(f'<div style="font-weight:600">{_e(cap["title"])}</div>')
    if cap.get("prompt"):
        parts.append(f'<div style="color:{theme.MUTED};font-style:italic;overflow-wrap:anywhere">'
                     f'“{_e(cap["prompt"])}”</div>')
    line = _facts_line(cap, model="model" not in heading_fields)
    if line:
        parts.append(f'<div style="color:{theme.MUTED}">{_e(line)}</div>')
    footer = [f"task {f['id']}"]
    if isinstance(f["created_at"], datetime):
        footer.append(f["created_at"].strftime("%Y-%m-%d %H:%M UTC"))
    if not f["finished"]:
        footer.append(SNAPSHOT_NOTE)
    parts.append(f'<div style="color:{theme.MUTED};font-size:11px;margin-top:2px">{_e(" · ".join(footer))}</div>')
    parts.append("</div>")
    return "".join(parts)


def _output_name(number: int, total: int, kind: str) -> str:
    return f"output {number} of {total}" if total > 1 else f"output ({kind})"


#: The widest and tallest a player is drawn (px), as in the live views.
PLAYER_WIDTH = 640
PLAYER_HEIGHT = 480


def _display_width(poster: Poster) -> int:
    """The width (px) the output is drawn at: its own, within PLAYER_WIDTH x PLAYER_HEIGHT."""
    w, h = poster.width, poster.height
    return max(1, round(min(PLAYER_WIDTH, w, PLAYER_HEIGHT * w / h)))


def _image_player(src: str, poster: Poster | None, number: int) -> str:
    if poster is None:
        return (f'<img src="{src}" alt="output {number}" '
                'style="max-width:100%;max-height:480px;border-radius:4px">')
    # The preview is the picture shown, inside a link to the full file. Showing the full image
    # over its preview was tried: without its file a browser draws a broken-image icon for it
    # unless its alt is empty, and JupyterLab gives every <img> without alt text alt="Image"
    # (and no script may hide it). So the saved notebook shows the preview wherever it is
    # opened (JupyterLab, sanitized or not, GitHub, nbviewer, no runway_outputs/), never a
    # broken icon, and the full image is one click away when its file is there.
    return (f'<a href="{src}" target="_blank" rel="noopener noreferrer" class="rnb-image" '
            f'title="Open the full image">'
            f'<img src="{_e(poster.uri)}" alt="output {number}" class="rnb-poster" '
            f'style="width:{_display_width(poster)}px;max-width:100%;height:auto;border-radius:4px"></a>')


def media_figure(m: dict[str, Any], total: int) -> str:
    """One output: its player (video, image, or audio with its waveform and duration) and where it lives.

    ``m``: ``src`` (a safe URL), ``kind``, ``local`` (a saved file), ``number`` (1-based),
    ``waveform`` (a :class:`~runway_nb.notebook.waveform.Waveform` or None) and, optionally,
    ``poster`` (a :class:`~runway_nb.notebook.posters.Poster`) and ``where`` (a
    :class:`~runway_nb.notebook.widgets._where.Where`; default: "saved file" or "link")."""
    src = _e(m["src"])
    name = _output_name(m["number"], total, m["kind"])
    facts: list[str] = [name.capitalize()] if total > 1 else []
    poster: Poster | None = m.get("poster")
    if poster is not None and safe_url(poster.uri) is None:
        poster = None
    if m["kind"] == "video":
        # The poster shows until the video's first frame, and stays when its file is missing. It
        # plays at once, muted and looped, like mediapy's videos (browsers autoplay only muted ones).
        shown = f' poster="{_e(poster.uri)}"' if poster is not None else ""
        width = f"width:{_display_width(poster)}px;" if poster is not None else ""
        player = (f'<video src="{src}"{shown} controls autoplay loop muted playsinline preload="auto" '
                  f'aria-label="{_e(name)}" style="{width}max-width:100%;max-height:480px;border-radius:4px;'
                  'background:#000"></video>')
    elif m["kind"] == "audio":
        waveform: Waveform | None = m["waveform"]
        picture = waveform.svg() if waveform is not None else ""
        player = (f'{picture}<audio src="{src}" controls preload="metadata" aria-label="{_e(name)}" '
                  'style="width:100%;max-width:640px"></audio>')
        if waveform is not None:
            facts.append(duration_text(waveform.duration))
    else:
        player = _image_player(src, poster, m["number"])
    where: Where = m.get("where") or (Where("", "saved file", "") if m["local"] else Where("", "link", ""))
    lead = f'<span>{_e(" · ".join(facts))}</span> · ' if facts else ""
    width = "width:100%;" if m["kind"] == "audio" else ""
    return ('<figure style="margin:0;display:flex;flex-direction:column;gap:4px;'
            f'{width}max-width:640px;min-width:0">{player}'
            f'<figcaption class="rnb-where" style="font-size:12px;color:{theme.MUTED};overflow-wrap:anywhere">{lead}'
            f'{_e(where.before)}<a href="{src}" download target="_blank" rel="noopener noreferrer">'
            f'{_e(where.label)}</a>{_e(where.after)}</figcaption></figure>')


def static_text(handle_or_task: Any, params: dict[str, Any] | None = None, files: Sequence[Any] | None = None,
                *, caption: Any = None, outputs: Sequence[str] | None = None) -> str:
    """One or a few readable lines: what a terminal, or a text-only viewer, shows."""
    f = task_facts(handle_or_task, params, files, caption=caption, outputs=outputs, poster_side=None)
    cap = f["caption"]
    head = [f"Runway task {f['id']}", f["status"]]
    if f["status"] == RUNNING and isinstance(f["progress"], (int, float)):
        head.append(f"{f['progress']:.0%}")
    line = _facts_line(cap)
    if line:
        head.append(line)
    lines = [" · ".join(head)]
    if f["routing"]:
        lines.append(f"  {f['routing']}")
    if cap.get("prompt"):
        prompt = str(cap["prompt"])
        lines.append(f"  prompt: {prompt if len(prompt) <= 200 else prompt[:199] + '…'}")
    if f["status"] == FAILED:
        code = f" [{f['failure_code']}]" if f["failure_code"] else ""
        lines.append(f"  failed{code}: {f['failure'] or 'no reason given'}")
        if f["hint"]:
            lines.append(f"  hint: {f['hint']}")
    note = status_note(f["status"])
    if note:
        lines.append(f"  {note}")
    links = sorted({m["where"].text() for m in f["media"] if not m["local"]})
    if links:  # how long the links below work (a saved file's path says where it is)
        lines.append("  " + "; ".join(links))
    for m in f["media"]:
        label = m["kind"]
        if f["total"] > 1:
            label += f" {m['number']}/{f['total']}"
        if m["waveform"] is not None:
            label += f" ({duration_text(m['waveform'].duration)})"
        lines.append(f"  {label}: {m['src']}")
    return "\n".join(lines)


def static_bundle(handle_or_task: Any, params: dict[str, Any] | None = None, files: Sequence[Any] | None = None,
                  *, caption: Any = None, outputs: Sequence[str] | None = None) -> dict[str, str]:
    """``{"text/html": ..., "text/plain": ...}`` for ``IPython.display.display(bundle, raw=True)``."""
    return {"text/html": static_html(handle_or_task, params, files, caption=caption, outputs=outputs),
            "text/plain": static_text(handle_or_task, params, files, caption=caption, outputs=outputs)}
