"""The live-widget layer: what every runway-nb widget that watches tasks in a kernel shares.

- **Front end**: each widget's bundle (``static/<name>.js`` + ``.css``, built from ``js/src`` by
  esbuild and committed, so no node and no CDN are needed at run time), see :func:`asset`.
- **Displays** (see ``_static.py`` for why): a widget is shown with a display id, as a reply to
  the cell that showed it (``_ipython_display_``); :meth:`LiveWidget._publish_displays` updates
  every display (widget view + static HTML, or the static HTML alone) to the cell that showed it
  and, when another cell runs, to that one too; a widget whose displays all became static can
  close its model after replacing its code traits by a stub (:meth:`LiveWidget._retire`).
- **Cells**: ``pre_run_cell``/``post_run_cell`` hooks keep the running cell's parent header
  (:data:`current_cell`) and let each followed widget catch up after a cell
  (:meth:`LiveWidget._after_cell`): a blocking cell may have starved the event loop.
- **Channel**: the front end sends ``{kind: "rnb:call", id, method, args}`` (+ buffers); the
  widget runs its command (:meth:`LiveWidget._commands`, sync or async) and answers
  ``{kind: "rnb:reply", id, ok, result | error}`` (+ buffers). ``id`` null: a notification, no
  answer. The front end times a request out and says so in the widget.
- **Background work**: asyncio tasks on the kernel's loop, strongly referenced in
  :data:`background_tasks` until done; an error ends up in the widget's ``error`` trait.
- **Media through the kernel** (:meth:`LiveWidget._fetch_media`): an output URL the browser
  cannot load is downloaded by the kernel, chosen by index (the browser never names a URL).
- **Archive folder** of a view's ``save_to`` argument (:func:`folder_arg`); the client archives.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import os
import weakref
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Protocol, TypeAlias, TypeVar

import anywidget
import traitlets as t
from ipywidgets import Widget

from runway_nb.client.core import AsyncRunway, AsyncTaskHandle, Runway
from runway_nb.client.handles import AnyTaskHandle
from runway_nb.notebook import posters
from runway_nb.notebook.widgets import _audio
from runway_nb.notebook.widgets._audio import WaveformTrait
from runway_nb.notebook.widgets._urls import media_kind

__all__ = [
    "AUDIO_MIME",
    "CALL",
    "OUTPUT_KEY",
    "REPLY",
    "WIDGET_MIME",
    "CellFollower",
    "Command",
    "LiveWidget",
    "Reply",
    "asset",
    "async_twin",
    "background_tasks",
    "current_cell",
    "final_mark",
    "folder_arg",
    "follow_cells",
    "get_ipython",
    "in_kernel",
    "install_hooks",
    "media_mime",
    "new_display_id",
    "parent_now",
    "post_run_cell",
    "pre_run_cell",
    "publish",
    "register_display",
    "running_loop",
    "show",
    "uninstall_hooks",
    "unregister_display",
    "widget_frontend",
]

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
#: The key of runway-nb's mark in an output's metadata (read by ``runway_nb.jupyter_server_ext``).
OUTPUT_KEY = "runway_nb"
CALL = "rnb:call"
REPLY = "rnb:reply"
RETIRED_ESM = "export default { render() {} };"
STATIC = Path(__file__).resolve().parent / "static"

JSON: TypeAlias = Any  # a JSON value (the comm's payload)
Header: TypeAlias = dict[str, Any]
#: What a command answers: a result dict, optionally with binary buffers; None for {}.
Reply: TypeAlias = "dict[str, JSON] | tuple[dict[str, JSON], list[bytes]] | None"
Command: TypeAlias = Callable[[dict[str, JSON], list[bytes]], "Reply | Awaitable[Reply]"]

#: Background asyncio tasks (pollers, cancels, saves, media): strong references until done.
background_tasks: set[asyncio.Task[Any]] = set()
#: The execute request running now (set by pre_run_cell, cleared by post_run_cell).
current_cell: dict[str, Header | None] = {"parent": None}
_hooked: weakref.WeakSet[Any] = weakref.WeakSet()
# Widgets to call after each cell: kept alive while they watch, weakly once they are done.
_following: dict[int, LiveWidget] = {}
# Watched widgets with nothing to do after a cell unless some task ended during it (views of
# async handles, polled by the loop): a thousand of them are not asked after every cell.
_following_on_end: dict[int, LiveWidget] = {}
_following_done: weakref.WeakValueDictionary[int, LiveWidget] = weakref.WeakValueDictionary()
_ends_at_last_cell = [0]  # client.handles.ends_seen() after the last cell


class CellFollower(Protocol):
    def after_cell(self) -> None: ...


_followers: weakref.WeakSet[CellFollower] = weakref.WeakSet()


def asset(name: str) -> Path:
    """A built front-end file (``task_view.js``, ``grid.css``, ...) shipped in the package."""
    path = STATIC / name
    if not path.is_file():
        raise FileNotFoundError(
            f"runway-nb's front-end bundle {path} is missing: reinstall runway-nb, or in a source "
            "checkout run `npm ci && npm run build` in js/.")
    return path


# ---------------------------------------------------------------------- IPython and the loop
def get_ipython() -> Any:
    try:
        from IPython.core.getipython import get_ipython as current
    except ImportError:  # pragma: no cover - IPython is a dependency
        return None
    return current()


def in_kernel(ip: Any) -> bool:
    return ip is not None and getattr(ip, "kernel", None) is not None


def running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def parent_now(ip: Any) -> Header | None:
    pub = getattr(ip, "display_pub", None)
    header = getattr(pub, "parent_header", None)
    return dict(header) if isinstance(header, dict) and header else None


def publish(ip: Any, data: dict[str, Any], metadata: dict[str, Any], display_id: str, parent: Header | None,
            update: bool) -> None:
    """Publish (or update) a display as a reply to ``parent``.

    The parent header decides who records the message: JupyterLab applies an
    ``update_display_data`` only in the cell whose request is its parent (the cell that showed
    the widget); nbclient records only messages whose parent is the cell it is running now.
    """
    pub = ip.display_pub
    transient = {"display_id": display_id}

    def send() -> None:
        setter = getattr(pub, "set_thread_parent", None)
        if parent is not None and setter is not None:
            setter(parent)
        pub.publish(data=data, metadata=metadata, transient=transient, update=update)

    contextvars.copy_context().run(send)


#: Whether a widget view of this kernel has reported from a page (see ``LiveWidget._command_view``).
_page_seen: dict[str, bool] = {"seen": False}


def widget_frontend() -> bool:
    """Whether a page that renders widgets shows this kernel's outputs: one of its widget views
    reported, or the running cell came with a cell id (JupyterLab and Notebook 7 send one with
    every execute request; nbclient, which papermill and nbconvert use, sends none)."""
    if _page_seen["seen"]:
        return True
    from runway_nb.notebook.reuse import running_cell_id

    return running_cell_id() is not None


def final_mark(final: bool) -> dict[str, Any]:
    """The output metadata that marks a runway-nb output: ``final`` when its ``text/html`` is the
    finished result, so that saving may drop the widget view beside it (``runway_nb.jupyter_server_ext``;
    other widgets' outputs carry no such mark and are never touched)."""
    return {OUTPUT_KEY: {"final": bool(final)}}


def install_hooks(ip: Any) -> None:
    if ip is None or ip in _hooked:
        return
    ip.events.register("pre_run_cell", pre_run_cell)
    ip.events.register("post_run_cell", post_run_cell)
    _hooked.add(ip)


def uninstall_hooks(ip: Any) -> None:
    if ip is None or ip not in _hooked:
        return
    for event, fn in (("pre_run_cell", pre_run_cell), ("post_run_cell", post_run_cell)):
        with contextlib.suppress(ValueError):
            ip.events.unregister(event, fn)
    _hooked.discard(ip)


_displayed: set[type] = set()  # every type register_display has made display as a live view


def register_display(ipython: Any, types: tuple[type, ...], display: Callable[[Any], None]) -> bool:
    """Display objects of ``types`` through ``display`` in a Jupyter kernel, with IPython's
    ``ipython_display_formatter`` rather than a plain mimebundle formatter: an ``execute_result``
    (``Out[n]``) cannot carry a display id, so a live view could never be replaced by its final
    static output. Outside a kernel nothing is registered. Returns whether it registered."""
    ip = ipython or get_ipython()
    if not in_kernel(ip):
        return False
    install_hooks(ip)
    formatter = ip.display_formatter.ipython_display_formatter
    for cls in types:
        formatter.for_type(cls, display)
    _displayed.update(types)
    return True


def unregister_display(ipython: Any, types: tuple[type, ...]) -> None:
    """Undo :func:`register_display` for ``types``; the cell hooks go with the last of them (the
    live views of the types still registered rely on them)."""
    ip = ipython or get_ipython()
    if ip is None:
        return
    formatter = ip.display_formatter.ipython_display_formatter
    for cls in types:
        with contextlib.suppress(KeyError):
            formatter.pop(cls)
    if not any(cls in formatter.type_printers for cls in _displayed):
        uninstall_hooks(ip)


def pre_run_cell(*_: Any) -> None:
    current_cell["parent"] = parent_now(get_ipython())


def post_run_cell(*_: Any) -> None:
    """After each cell: the followed widgets catch up (see :meth:`LiveWidget._after_cell`; those
    that only care once a task ended, after such a cell only), then every other follower
    (:func:`follow_cells`)."""
    from runway_nb.client.handles import ends_seen

    try:
        ends = ends_seen()
        ended, _ends_at_last_cell[0] = ends != _ends_at_last_cell[0], ends
        asked = [*_following.values(), *_following_done.values()]
        if ended:
            asked += _following_on_end.values()
        for widget in asked:
            if widget.wants_cell(ended):
                widget.after_cell()
        for follower in list(_followers):
            follower.after_cell()
    finally:
        current_cell["parent"] = None


def follow_cells(follower: CellFollower) -> None:
    """Call ``follower.after_cell()`` after each cell while it lives (held weakly): a display
    that is not a LiveWidget (the panel) re-sends its output for nbclient there."""
    _followers.add(follower)


def followed(widget: LiveWidget) -> bool:
    """Whether ``widget`` is called after cells (each one, or each one during which a task ended)."""
    return id(widget) in _following or id(widget) in _following_on_end or id(widget) in _following_done


def forget_followed() -> None:
    """Stop calling every widget after cells (tests switching fake kernels)."""
    _following.clear()
    _following_on_end.clear()
    _following_done.clear()
    _followers.clear()


# ---------------------------------------------------------------------- clients
def async_twin(client: Runway | AsyncRunway) -> AsyncRunway:
    """The async client to poll with: the client itself, or one cached twin per sync client."""
    if isinstance(client, AsyncRunway):
        return client
    return client.async_twin()


#: The type of audio bytes by file extension, when the server's Content-Type says nothing useful.
AUDIO_MIME = {".mp3": "audio/mpeg", ".wav": "audio/wav", ".flac": "audio/flac", ".ogg": "audio/ogg",
              ".oga": "audio/ogg", ".opus": "audio/ogg", ".m4a": "audio/mp4", ".aac": "audio/aac"}


def media_mime(url: str, ctype: str | None, endpoint: str) -> str:
    """The mime type to label downloaded output bytes with (never SVG or HTML)."""
    ctype = (ctype or "").split(";")[0].strip().lower()
    if ctype.startswith(("image/", "video/", "audio/")) and ctype != "image/svg+xml":
        return ctype
    kind = media_kind(url, endpoint)
    if kind == "audio":
        path = url.split("?", 1)[0].split("#", 1)[0].lower()
        return next((mime for ext, mime in AUDIO_MIME.items() if path.endswith(ext)), "audio/mpeg")
    return "video/mp4" if kind == "video" else "image/png"


def folder_arg(save_to: str | os.PathLike[str] | bool) -> Path | None:
    """A view's ``save_to`` as the handle's archive folder: True is ``runway_outputs``, False none."""
    if save_to is True:
        return Path("runway_outputs")
    if save_to is False or save_to == "":
        return None
    return Path(str(save_to))


# ---------------------------------------------------------------------- the base widgets
class ChannelWidget(anywidget.AnyWidget):
    """An anywidget that answers its front end's requests and runs background tasks, showing
    their errors in its ``error`` trait. Subclasses list their requests in :meth:`_commands`."""

    error = t.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.on_msg(self._on_custom)

    def _commands(self) -> Mapping[str, Command]:
        """The methods the front end may call."""
        return {}

    # ------------------------------------------------------------------ errors, background tasks
    def _set_error(self, exc: BaseException | str) -> None:
        text = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
        self.error = text[:2000]

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task: asyncio.Task[Any] = asyncio.get_running_loop().create_task(_run(coro))
        background_tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        background_tasks.discard(task)
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._set_error(exc)

    # ------------------------------------------------------------------ the channel
    def _on_custom(self, _widget: Any, content: Any, buffers: Any) -> None:
        if not isinstance(content, dict) or content.get("kind") != CALL:
            return
        call_id = content.get("id")
        if call_id is not None and (not isinstance(call_id, int) or isinstance(call_id, bool)):
            return  # cannot be answered
        method = content.get("method")
        args = content.get("args")
        command = self._commands().get(method) if isinstance(method, str) else None
        if command is None or not isinstance(args, dict):
            self._answer(call_id, error=f"unknown request {method!r}")
            return
        try:
            result = command(args, [bytes(b) for b in (buffers or [])])
        except Exception as exc:
            self._answer(call_id, error=exc)
            return
        if inspect.isawaitable(result):
            self._spawn(self._answer_later(call_id, result))
        else:
            self._answer(call_id, result)

    async def _answer_later(self, call_id: int | None, pending: Awaitable[Reply]) -> None:
        try:
            result = await pending
        except Exception as exc:
            self._answer(call_id, error=exc)
            return
        self._answer(call_id, result)

    def _answer(self, call_id: int | None, result: Reply = None, *, error: BaseException | str | None = None) -> None:
        if call_id is None:
            return
        if error is not None:
            text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
            self.send({"kind": REPLY, "id": call_id, "ok": False, "error": text[:500]})
            return
        data, buffers = result if isinstance(result, tuple) else (result or {}, [])
        self.send({"kind": REPLY, "id": call_id, "ok": True, "result": data}, buffers or None)


class LiveWidget(ChannelWidget):
    """A widget watching tasks: displays that turn static, cell hooks, media through the kernel.

    Subclasses provide :meth:`_static_data`, :meth:`_widget_in_output`, :meth:`_commands`,
    :meth:`_after_cell` and :meth:`watch`; they may refine the display hooks below.
    """

    finished = t.Bool(False).tag(sync=True)

    #: Close the model once its displays became static (see ``_retire``).
    retire_when_static = False

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._displays: list[tuple[str, Header | None]] = []
        self._published: str | None = None
        self._needs_cell_publish = False
        self._retired = False
        self._views = 0
        self._verdicts: list[str] = []
        self._final = False
        self._when_final: list[Callable[[LiveWidget], None]] = []

    # ------------------------------------------------------------------ the final form
    @property
    def _final_ready(self) -> bool:
        """Every task ended and the static output is final (subclasses set it): the output is
        marked so (the server extension saves it without the widget view), and whoever asked
        with :meth:`when_final` is told."""
        return self._final

    @_final_ready.setter
    def _final_ready(self, value: bool) -> None:
        became = bool(value) and not self._final
        self._final = bool(value)
        if became:
            for callback in list(self._when_final):
                callback(self)

    @property
    def final_ready(self) -> bool:
        """Whether the static output is the final result (see ``_final_ready``)."""
        return self._final

    def when_final(self, callback: Callable[[LiveWidget], None]) -> None:
        """Call ``callback(widget)`` once the static output is final (at once if it is): a
        container embedding this widget (the panel) publishes its own final output then."""
        if self._final:
            callback(self)
        else:
            self._when_final.append(callback)

    # ------------------------------------------------------------------ what subclasses say
    def _static_data(self) -> dict[str, str]:
        """``text/plain`` and ``text/html``: the output that needs no kernel."""
        raise NotImplementedError

    def _widget_in_output(self) -> bool:
        """Whether outputs should carry the widget view, or only the static HTML."""
        raise NotImplementedError

    def _commands(self) -> Mapping[str, Command]:
        return {"view": self._command_view}

    def wants_cell(self, ended: bool) -> bool:
        """Whether :meth:`after_cell` has anything to do after this cell; ``ended``: some task
        ended since the last cell. Asked of the followed widgets after each cell (those of
        :meth:`_cell_only_after_ends` only after a cell during which a task ended), so it must
        be cheap: a thousand watched views may be a thousand calls."""
        return True

    def after_cell(self) -> None:
        """Called by the ``post_run_cell`` hook while followed; never breaks the user's cell."""
        try:
            self._after_cell()
        except Exception as exc:
            self._set_error(exc)

    def _after_cell(self) -> None:
        """Catch up after a cell (a blocking cell may have starved the event loop)."""

    def _text_outside_kernel(self) -> str:
        return self._static_data()["text/plain"]

    def _display_kind(self, data: dict[str, Any]) -> str:
        return "widget" if WIDGET_MIME in data else "static"

    def _needs_watching(self) -> bool:
        return not self.finished

    def _before_display(self) -> None:
        """Take in news before a display is published."""

    def watch(self) -> LiveWidget:
        """Start watching (TaskView and Grid poll through the watch engine)."""
        raise NotImplementedError

    def _command_retry(self, _args: dict[str, Any], _buffers: list[bytes]) -> Reply:
        """The view's Retry: clear the error and watch again."""
        self.error = ""
        self.watch()
        return None

    # ------------------------------------------------------------------ after each cell
    def _follow(self, *, keep_alive: bool) -> None:
        """Be called after each cell; ``keep_alive`` holds a strong reference (while watching)."""
        self._unfollow()
        if not keep_alive:
            _following_done[id(self)] = self
        elif self._cell_only_after_ends():
            _following_on_end[id(self)] = self
        else:
            _following[id(self)] = self

    def _unfollow(self) -> None:
        _following.pop(id(self), None)
        _following_on_end.pop(id(self), None)
        _following_done.pop(id(self), None)

    def _cell_only_after_ends(self) -> bool:
        """While watched: whether :meth:`after_cell` has work only after a cell during which
        some task ended (see :meth:`wants_cell`); then it is not asked after other cells."""
        return False

    # ------------------------------------------------------------------ displays
    def _repr_mimebundle_(self, **kwargs: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        """The static output, plus the widget view while the widget belongs in the output; marked
        with whether the static output is final (see :func:`final_mark`)."""
        data: dict[str, Any] = dict(self._static_data())
        mark = final_mark(self._final_ready)
        if not self._widget_in_output():
            return data, mark
        bundle = super()._repr_mimebundle_(**kwargs)
        if bundle is None:
            return data, mark
        widget_data, metadata = bundle if isinstance(bundle, tuple) else (bundle, {})
        data[WIDGET_MIME] = widget_data[WIDGET_MIME]
        return data, {**metadata, **mark}

    def _ipython_display_(self) -> None:
        self._before_display()
        ip = get_ipython()
        if not in_kernel(ip):
            print(self._text_outside_kernel())
            return
        install_hooks(ip)
        parent = parent_now(ip) or current_cell["parent"]
        if parent is not None and any(origin is not None and origin.get("msg_id") == parent.get("msg_id")
                                      for _, origin in self._displays):
            return  # already shown by this cell (e.g. `display_handle(h)` as its last line)
        display_id = new_display_id()
        self._displays.append((display_id, parent))
        data, metadata = LiveWidget._repr_mimebundle_(self)
        self._published = "widget" if WIDGET_MIME in data else "static"
        publish(ip, data, metadata, display_id, parent, update=False)
        if self._published == "static":
            self._retire(ip, parent)
        if self._needs_watching() and running_loop() is not None:
            self.watch()

    def _publish_displays(self, *, force: bool = False, origins: bool = True) -> None:
        """Update every display of this widget with the current bundle.

        Each update goes to the cell that showed the widget (JupyterLab applies it there) and,
        when another cell is running, also as a reply to that cell (nbclient records only the
        running cell's messages; JupyterLab ignores a display id unknown to that cell).
        """
        ip = get_ipython()
        if not self._displays or not in_kernel(ip):
            return
        data, metadata = LiveWidget._repr_mimebundle_(self)
        kind = self._display_kind(data)
        if kind == self._published and not force:
            return
        self._published = kind
        current = current_cell["parent"]
        for display_id, origin in self._displays:
            same = current is not None and origin is not None and current.get("msg_id") == origin.get("msg_id")
            if origins or same:
                publish(ip, data, metadata, display_id, origin, update=True)
            if current is not None and not same:
                publish(ip, data, metadata, display_id, current, update=True)
        self._needs_cell_publish = current is None
        if kind == "static" and (current is not None or self._views > 0):
            self._retire(ip, current)

    def take_displays_of(self, other: LiveWidget) -> None:
        """Show this widget where ``other`` was shown (its displays are updated in place: a page
        applies an update by display id even when no cell runs, as after a button press), and
        retire ``other``, which nothing shows any more."""
        taken = other._displays
        self._displays.extend(taken)
        other._displays = []
        self._publish_displays(force=True)
        if self._needs_watching() and running_loop() is not None:
            self.watch()

    @property
    def retired(self) -> bool:
        """Whether its model was closed: every display of it became static HTML."""
        return self._retired

    def _republish_for_cell(self) -> None:
        """Published while no cell ran: say it again as a reply to the running cell (for nbclient)."""
        if self._needs_cell_publish and current_cell["parent"] is not None:
            self._publish_displays(force=True, origins=False)

    def _retire(self, ip: Any, parent: Header | None) -> None:
        """Close the model once every display of it became static HTML.

        Nothing shows the model any more, and its state (mostly ``_esm``/``_css``) would
        otherwise be saved into the notebook: by nbclient always, by JupyterLab with
        ``saveState``. nbclient never forgets a closed comm's state, so the code traits are
        first replaced by a stub, as a reply to the running cell (the only messages it records).
        Widgets embedded elsewhere (``retire_when_static = False``) are left alone.
        """
        if self._retired or not self.retire_when_static or self.comm is None:
            return
        self._retired = True
        kernel = getattr(ip, "kernel", None)
        shell_parent = getattr(kernel, "_shell_parent", None)

        def send() -> None:
            if parent is not None and shell_parent is not None and hasattr(shell_parent, "set"):
                shell_parent.set({"header": parent, "parent_header": {}, "metadata": {}, "content": {}})
            with self.hold_sync():
                self._esm = RETIRED_ESM
                self._css = ""
            Widget.close(self)

        contextvars.copy_context().run(send)
        self.__dict__.pop("_repr_mimebundle_", None)  # ipywidgets' close() blanks it
        _following_done.pop(id(self), None)

    def _command_view(self, _args: dict[str, JSON], _buffers: list[bytes]) -> Reply:
        self._views += 1
        _page_seen["seen"] = True
        return None

    def _take_verdicts(self, args: dict[str, JSON], limit: int) -> bool:
        """A view reports whether its outputs loaded ("loaded", "relayed", "failed")."""
        results = args.get("results")
        if not isinstance(results, list):
            return False
        self._verdicts.extend(str(r) for r in results[:limit])
        return True

    def _fetch_media(self, url: str, endpoint: str, client: Runway | AsyncRunway,
                     async_client: Callable[[], AsyncRunway]) -> Reply | Awaitable[Reply]:
        """An output's bytes for the front end: ``{"mime"}`` + one buffer (never stored in a trait).
        ``client`` is the run's own; ``async_client`` gives the one to fetch with on the event loop."""
        if running_loop() is not None:
            return self._fetch_media_async(url, endpoint, async_client)
        if isinstance(client, AsyncRunway):
            raise RuntimeError("an async run's outputs can only be fetched on the event loop")
        data, ctype = client.download_with_type(url)
        mime = media_mime(url, ctype, endpoint)
        posters.remember(url, data, mime)  # the static output shows these bytes' poster, with no second download
        return {"mime": mime}, [data]

    async def _fetch_media_async(self, url: str, endpoint: str, async_client: Callable[[], AsyncRunway]) -> Reply:
        data, ctype = await async_client().download_with_type(url)
        mime = media_mime(url, ctype, endpoint)
        await asyncio.to_thread(posters.remember, url, data, mime)
        return {"mime": mime}, [data]

    # ------------------------------------------------------------------ waveforms of audio outputs
    def _waveforms_sync(self, handle: AnyTaskHandle, urls: list[str], kinds: list[str],
                        files: list[Any]) -> list[WaveformTrait]:
        """Each output's waveform trait value (``{}`` but for audio), fetched through the client
        or read from its saved copy, then remembered for the static output (see ``_audio``)."""
        client = handle.client
        if isinstance(client, AsyncRunway):  # no loop to download on: saved copies and known ones only
            found = [_audio.known(u, files[i] if i < len(files) else None) if kinds[i] == "audio" else None
                     for i, u in enumerate(urls)]
            return [_audio.trait(w) for w in found]
        return [_audio.trait(w) for w in _audio.analyze_outputs(urls, kinds, files, client.download_with_type)]

    async def _posters_async(self, files: list[Any], kinds: list[str], side: int) -> None:
        """Make the posters of saved outputs in a thread, so the static output (rendered on the
        event loop) finds them made."""
        for path, kind in zip(files, kinds, strict=False):
            if path is not None and kind in ("video", "image"):
                await posters.of_file_async(path, kind, side)

    async def _waveforms_async(self, twin: AsyncTaskHandle, urls: list[str], kinds: list[str],
                               files: list[Any]) -> list[WaveformTrait]:
        found = await _audio.analyze_outputs_async(urls, kinds, files, twin.client.download_with_type)
        return [_audio.trait(w) for w in found]


async def _run(coro: Awaitable[Any]) -> Any:
    return await coro


def new_display_id() -> str:
    """A fresh display id (a display updated in place as a result changes)."""
    import uuid

    return uuid.uuid4().hex


ShownWidget = TypeVar("ShownWidget", bound=LiveWidget)


def show(view: ShownWidget) -> ShownWidget:
    """Show ``view``: the live widget in Jupyter; in a terminal or script, a blocking watch
    with a one-line progress."""
    if in_kernel(get_ipython()):
        view._ipython_display_()
    else:
        view.watch()
    return view
