"""``%%runway`` (submit a generation; the cell body is the prompt) and ``%runway`` (session commands).

Loaded by ``%load_ext runway_nb``. This module holds the ``RunwayMagics`` class (its settings
and the two magics' entry points) and the extension hooks; the parts live in
:mod:`runway_nb.notebook.magics`. Only IPython, traitlets and small runway_nb modules are
imported here; the HTTP client, the catalog and the widgets load on first use.
"""

from __future__ import annotations

import sys
from collections import ChainMap
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast

from IPython.core.magic import Magics, magics_class
from traitlets import Bool, Float, Int, Unicode, observe

from runway_nb.errors import ValidationError
from runway_nb.notebook.magics.arguments import (
    argument,
    cell_magic,
    line_magic,
    magic_arguments,
    needs_local_scope,
    no_var_expand,
    parse_line,
    split_line,
)
from runway_nb.notebook.magics.host import SettingValue
from runway_nb.notebook.magics.line import LINE_HELP, SUBCOMMANDS, run_subcommand
from runway_nb.notebook.magics.submit import submit
from runway_nb.notebook.magics.values import usage_error
from runway_nb.notebook.session import get_session

if TYPE_CHECKING:
    from IPython.core.interactiveshell import InteractiveShell

__all__ = ["SUBCOMMANDS", "RunwayMagics", "load_ipython_extension", "usage_error"]

# Where the task handle classes live: their printer is registered by name, without importing them.
HANDLES_MODULE = "runway_nb.client.handles"
SWEEP_MODULE = "runway_nb.notebook.sweep"
# Shown through the widgets, which load on the first display of one of these (by name: no import).
WORKFLOWS_MODULE = "runway_nb.client.workflows"
FIRST_DISPLAYED = ((HANDLES_MODULE, "TaskHandle"), (HANDLES_MODULE, "AsyncTaskHandle"), (SWEEP_MODULE, "Sweep"),
                   (WORKFLOWS_MODULE, "WorkflowRun"), (WORKFLOWS_MODULE, "AsyncWorkflowRun"))


@magics_class
class RunwayMagics(Magics):
    """``%%runway`` and ``%runway``. Defaults are traitlets: ``c.RunwayMagics.model = "gen4.5"``."""

    model = Unicode(None, allow_none=True, help="Model used when a cell gives no --model.").tag(config=True)
    ratio = Unicode(None, allow_none=True,
                    help="Ratio used when a cell gives no --ratio (where the model takes one).").tag(config=True)
    duration = Float(None, allow_none=True,
                     help="Seconds used when a cell gives no --duration (where the model takes one).").tag(config=True)
    poll_floor = Float(None, allow_none=True,
                       help="Shortest wait between status polls, in seconds (default 5).").tag(config=True)
    provider = Unicode(None, allow_none=True,
                       help="runway, sim or comet (default: runway with a key, else the simulator).").tag(config=True)
    save = Bool(True, help="Archive every output into save_dir when its task succeeds.").tag(config=True)
    save_dir = Unicode("runway_outputs", help="Folder outputs are archived into (beside the notebook).").tag(
        config=True)
    confirm_above = Int(8, help="Ask before submitting a sweep of more tasks than this.").tag(config=True)
    confirm_credits = Float(250.0, help="Ask before submitting a sweep estimated above this many "
                                        "credits.").tag(config=True)

    _syncing = False
    _SESSION_TRAITS = ("model", "ratio", "duration", "poll_floor", "provider", "save", "save_dir")

    def __init__(self, shell: InteractiveShell | None = None, **kwargs: Any):
        super().__init__(shell=shell, **kwargs)  # type: ignore[no-untyped-call]  # IPython's is unannotated
        self._syncing = False
        changed = {name: getattr(self, name) for name in self._SESSION_TRAITS
                   if getattr(self, name) != self.trait_defaults(name)}
        if changed:
            try:
                get_session().configure(**changed)
            except ValidationError as exc:
                print(f"runway-nb: ignoring IPython config RunwayMagics.{exc.field}: {exc}", file=sys.stderr)

    @observe(*_SESSION_TRAITS)
    def _sync_to_session(self, change: Mapping[str, Any]) -> None:
        if self._syncing:
            return
        try:
            get_session().configure(**{change["name"]: change["new"]})
        except ValidationError as exc:
            print(f"runway-nb: RunwayMagics.{change['name']} not applied: {exc}", file=sys.stderr)

    def apply_config(self, defaults: Mapping[str, SettingValue], magic_settings: Mapping[str, float]) -> None:
        """Show what ``%runway config`` set in the traits, without setting the session a second time."""
        self._syncing = True
        try:
            for key in self._SESSION_TRAITS:
                value = defaults[key]
                if key in ("duration", "poll_floor") and value is not None:
                    value = float(value)
                setattr(self, key, value)
            for key, number in magic_settings.items():
                setattr(self, key, number)
        finally:
            self._syncing = False

    def assign(self, name: str, value: object) -> None:
        """``-o NAME``: the result as a variable of the notebook."""
        if self.shell is not None:
            self.shell.user_ns[name] = value

    def _namespace(self, local_ns: Mapping[str, Any] | None) -> ChainMap[str, Any]:
        return ChainMap(dict(local_ns or {}), self.shell.user_ns if self.shell is not None else {})

    # ------------------------------------------------------------------ %%runway
    @no_var_expand
    @needs_local_scope
    @cell_magic("runway")
    @magic_arguments("%runway")
    @argument("-m", "--model", help="Model, e.g. gen4.5, veo3.1, gen4_image, aleph2, act_two.")
    @argument("-r", "--ratio", help="Output ratio as WIDTH:HEIGHT, e.g. 1280:720 (the model's list is enforced).")
    @argument("-d", "--duration", help="Seconds of video, e.g. 5.")
    @argument("--seed", help="Seed (0..4294967295); random when left out (the task records it).")
    @argument("-i", "--image", help="Input image: a path, an https:// URL, or a variable holding a path, "
                                    "bytes or a PIL image.")
    @argument("--video", help="Input video (video_to_video, video_upscale, act_two): path, URL or variable.")
    @argument("--character", help="Act-Two character (image or video): path, URL or variable.")
    @argument("--reference", help="Act-Two reference performance video: path, URL or variable.")
    @argument("--voice", help="Preset voice by name, e.g. Maya (any case); a comma list sweeps. Without --model, "
                              "the first model offering that voice (text_to_speech: eleven_multilingual_v2).")
    @argument("--audio", help="Input audio (speech_to_speech, voice_dubbing, voice_isolation): a path, an https:// "
                              "URL, or a variable holding a path or bytes.")
    @argument("--target-language", metavar="CODE", help="Language to dub into (voice_dubbing), e.g. es, fr, ja; "
                                                        "a comma list sweeps.")
    @argument("--router", metavar="SLUG", help="Router of routed generation (-t generate/video, generate/image, "
                                               "generate/audio), e.g. default.")
    @argument("-t", "--type", help="Task type: any operation of Runway's API, e.g. text_to_video, "
                                   "text_to_speech, voice_dubbing, generate/audio, recipes/product_ad "
                                   "(runway_nb.api.catalog.ENDPOINTS lists all). Inferred from the model "
                                   "and the inputs when left out.")
    @argument("-p", "--param", action="append", metavar="KEY=VALUE",
              help="Any other request field, e.g. -p audio=false -p resolution=720p (repeatable).")
    @argument("--workflow", metavar="NAME_OR_ID", help="Run a published workflow (by name, any case, or id); "
                                                       "-p NODE[.KEY]=VALUE sets its node outputs, the body its "
                                                       "first text input.")
    @argument("-o", "--out", metavar="NAME", help="Also assign the task handle (or sweep) to this variable.")
    @argument("-w", "--wait", action="store_true", help="Block until the task finishes (with a one-line "
                                                        "progress); otherwise the cell returns at once.")
    @argument("--save", nargs="?", const=True, default=None, metavar="DIR",
              help="Archive the outputs into DIR when the task succeeds (default: on, into ./runway_outputs).")
    @argument("--no-save", dest="save", action="store_const", const=False,
              help="Do not archive this cell's outputs (their links expire: 24-48 h on Runway).")
    @argument("--provider", help="runway, sim or comet (default: the session's).")
    @argument("-y", "--yes", action="store_true", help="Submit a large sweep without asking.")
    @argument("--skip-invalid", action="store_true",
              help="In a sweep, submit the allowed combinations and skip the others (default: submit nothing).")
    @argument("--rows", help="Sweep grid: the option shown down the rows (default: chosen from what varies).")
    @argument("--cols", help="Sweep grid: the option shown across the columns.")
    def runway(self, line: str = "", cell: str | None = None, local_ns: Mapping[str, Any] | None = None) -> object:
        """Submit a Runway generation; the cell body is the prompt.

        ``{name}`` and ``{name.attr}`` in the body are filled from the notebook's variables;
        every other brace stays as typed (``{{name}}`` gives a literal ``{name}``). Any option
        takes a comma list, and lines holding only ``---`` split the body into several prompts:
        every combination is submitted as one sweep (checked first: nothing is submitted if
        any combination is refused). The cell returns the task handle (or the sweep), shown
        as a live view, at once; ``--wait`` blocks until it finishes.

        Examples::

            %%runway -m gen4.5 -r 1280:720 -d 5
            A red fox running through fresh snow, golden hour

            %%runway -m gen4.5 -i photo --seed 1,2,3 -o takes
            The camera slowly pushes in on {subject.name}

            %%runway -t text_to_speech --voice Maya
            Welcome back! Today we look at the tide pools.

            %%runway -t text_to_speech --voice Maya,Arjun,Serene
            The same line in three voices, shown side by side with synced play.

            %runway -t voice_dubbing --audio interview.wav --target-language es,fr

            %%runway -t generate/audio --router default --voice Arjun
            A router picks the model; the task shows which one ran and why.

        Speech: ``--voice`` picks a preset voice; with no ``--model`` the first model (in the
        catalog's order) offering it is used, and with neither ``-t text_to_speech`` uses
        seed_audio, which needs no voice. ``--voice`` alone means text_to_speech, ``--voice``
        with ``--audio`` speech_to_speech, ``--target-language`` voice_dubbing. A voice,
        language, input audio or router the operation does not take is refused before
        anything is sent. ``-t generate/audio`` speaks the text (``-p input.type=audio``
        makes a sound instead). ``-p key=value`` sets any other field, dotted for nested ones.
        Every operation of the catalog is a ``-t`` value:
        ``runway_nb.api.catalog.ENDPOINTS`` lists them.
        """
        args = parse_line(self.runway, line)
        return submit(args, cell, self._namespace(local_ns), self)

    # ------------------------------------------------------------------ %runway
    @no_var_expand
    @needs_local_scope
    @line_magic("runway")
    def runway_line(self, line: str = "", local_ns: Mapping[str, Any] | None = None) -> object:
        """%runway SUBCOMMAND: list, status [ID], cancel ID|all, attach ID|--pending [-o NAME],
        history [--all] [--status S ...] [--limit N] [--resolve ROW TASK_ID|none], fetch ID ...|--all,
        config [KEY=VALUE ...], credits, panel. ``%runway`` alone shows this help; ``%%runway?``
        documents the cell magic.

        ``%runway OPTIONS`` (a line starting with an option) submits a task without a prompt, with
        the options of ``%%runway``, e.g. ``%runway -m act_two --character face.png --reference take.mp4``."""
        words = split_line(line.strip(), posix=True) if line.strip() else []
        if words and words[0].startswith("-") and words[0] not in ("-h", "--help"):
            # %runway --character img --reference perf.mp4: a task without a prompt
            return self.runway(line, None, local_ns)
        if not words or words[0] in ("help", "-h", "--help"):
            print(LINE_HELP)
            return None
        return run_subcommand(words, self)


def _first_display(obj: object) -> None:
    """The first time a task handle is displayed: load the widgets, then display it with them.

    Registered by name (no import) so that ``%load_ext`` stays fast; the widgets (anywidget,
    pydantic, httpx) load when there is a task to show.
    """
    from IPython.core.getipython import get_ipython
    from IPython.display import display

    show = cast("Callable[[object], None]", display)  # IPython's functions have no annotations
    ip = cast("Callable[[], InteractiveShell | None]", get_ipython)()
    if ip is None or ip.display_formatter is None:  # nowhere to install the widgets: the handle's own repr
        show(obj)
        return
    formatter = ip.display_formatter.ipython_display_formatter
    for key in FIRST_DISPLAYED:
        if formatter.deferred_printers.get(key) is _first_display:
            del formatter.deferred_printers[key]
    for cls, printer in list(formatter.type_printers.items()):
        if printer is _first_display:
            del formatter.type_printers[cls]
    try:
        from runway_nb.notebook.widgets import register_formatters
    except ImportError as exc:
        print(f"runway-nb: the task widget is not available ({exc}); showing tasks as text", file=sys.stderr)
    else:
        register_formatters(ip)
    try:
        found = formatter.lookup(obj)
    except KeyError:
        found = None
    if found is not None and found is not _first_display:
        found(obj)
    else:
        show(obj)  # the handle's own text repr


def load_ipython_extension(ip: InteractiveShell) -> None:
    """Register ``%%runway`` / ``%runway``; in a Jupyter kernel, show task handles as the task widget.

    The widget formatters are installed on the first display of a handle (see
    :func:`_first_display`), not here: loading stays well under 150 ms.
    """
    ip.register_magics(RunwayMagics(shell=ip))
    if getattr(ip, "kernel", None) is None or ip.display_formatter is None:
        return  # terminal IPython: handles keep their one-line repr; --wait prints progress
    formatter = ip.display_formatter.ipython_display_formatter
    for module, name in FIRST_DISPLAYED:
        if (module, name) not in formatter.deferred_printers:
            formatter.for_type_by_name(module, name, _first_display)
