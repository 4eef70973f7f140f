"""``%%runway`` (submit a generation; the cell body is the prompt) and ``%runway`` (session commands).

Loaded by ``%load_ext runway_nb``. Only IPython, traitlets and small runway_nb modules are
imported here; the HTTP client, the catalog and the widgets load on first use.
"""

from __future__ import annotations

import html
import keyword
import os
import re
import sys
from collections import ChainMap
from pathlib import Path
from typing import Any, Callable, Mapping

from IPython.core.error import StdinNotImplementedError, UsageError
from IPython.core.magic import Magics, cell_magic, line_magic, magics_class, needs_local_scope, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments, parse_argstring
from traitlets import Bool, Float, Int, Unicode, observe

from runway_nb.errors import BadRequestError, NotFoundError, ValidationError
from runway_nb.notebook.interpolate import interpolate, is_missing, resolve, whole_field
from runway_nb.notebook.session import SETTINGS, get_session
from runway_nb.notebook.sweep import SweepDeclined, SweepError, describe, split_list, split_prompts

__all__ = ["RunwayMagics", "load_ipython_extension", "usage_error"]

SUBCOMMANDS = ("status", "list", "cancel", "attach", "history", "fetch", "config", "credits", "panel", "help")

# Request fields -> the option (or place) a person typed them in.
_FIELD_OPTION = {
    "promptText": "prompt (the cell body)", "prompt": "prompt (the cell body)",
    "promptImage": "--image", "image": "--image", "referenceImages": "--image", "references": "--image",
    "videoUri": "--video", "promptVideo": "--video", "video": "--video",
    "character": "--character", "reference": "--reference",
    "endpoint": "--type", "type": "--type",
    "model": "--model", "ratio": "--ratio", "duration": "--duration", "seed": "--seed",
    "provider": "--provider", "api_key": "--provider", "out": "--out",
}

_MAGIC_SETTINGS = ("confirm_above", "confirm_credits")
_SEED_MAX = 4294967295


def _option_for(field: str | None) -> str:
    root = re.split(r"[.\[]", field or "")[0]
    return _FIELD_OPTION.get(root) or f"--param {root}"


def usage_error(exc: ValidationError) -> UsageError:
    """A :class:`ValidationError` as a ``UsageError`` naming the option it came from."""
    return UsageError(f"{_option_for(exc.field)}: {exc}")


def _sweep_usage_error(exc: SweepError) -> UsageError:
    lines = [f"{len(exc.problems)} of {exc.total} combination(s) are not allowed; nothing was submitted "
             f"(add --skip-invalid to submit only the allowed ones):"]
    for combo, err in exc.problems[:20]:
        lines.append(f"  - {describe(combo)}: {_option_for(err.field)}: {err}")
    if len(exc.problems) > 20:
        lines.append(f"  ... and {len(exc.problems) - 20} more")
    return UsageError("\n".join(lines))


# ----------------------------------------------------------------------------------------
# option values
# ----------------------------------------------------------------------------------------

def _listify(value: Any) -> list[Any]:
    if isinstance(value, (list, range)):
        return list(value)
    return [value]


def _to_number(option: str, item: Any) -> int | float:
    if isinstance(item, bool):
        raise UsageError(f"{option}: {item!r} is not a number")
    if isinstance(item, (int, float)):
        number = float(item)
    else:
        try:
            number = float(str(item).strip().rstrip("s"))
        except ValueError:
            raise UsageError(f"{option}: {item!r} is not a number of seconds") from None
    if number != number or number <= 0:
        raise UsageError(f"{option}: {item!r} must be a number of seconds > 0")
    return int(number) if number.is_integer() else number


def _to_seed(option: str, item: Any) -> int:
    try:
        seed = int(str(item).strip()) if not isinstance(item, int) or isinstance(item, bool) else item
    except ValueError:
        raise UsageError(f"{option}: {item!r} is not an integer (seeds are 0..{_SEED_MAX})") from None
    if not 0 <= seed <= _SEED_MAX:
        raise UsageError(f"{option}: {seed} is out of range (seeds are 0..{_SEED_MAX})")
    return seed


def _to_type(option: str, item: Any) -> str:
    from runway_nb.api import catalog

    text = str(item).strip().lower().replace("-", "_")
    if text not in catalog.ENDPOINTS:
        raise UsageError(f"{option}: {item!r} is not a task type; allowed: {', '.join(catalog.ENDPOINTS)}")
    return text


def _to_provider(option: str, item: Any) -> str:
    from runway_nb.client.settings import PROVIDERS

    text = str(item).strip().lower()
    if text not in PROVIDERS:
        raise UsageError(f"{option}: {item!r} is not a provider; allowed: {', '.join(PROVIDERS)}")
    return text


def _to_text(option: str, item: Any) -> str:
    text = str(item).strip()
    if not text:
        raise UsageError(f"{option}: empty value")
    return text


def _scalar_values(raw: str | None, ns: Mapping[str, Any], option: str,
                   convert: Callable[[str, Any], Any]) -> list[Any] | None:
    """``--seed 1,2`` / ``--seed {seeds}`` -> typed values (several values make a sweep)."""
    if raw is None:
        return None
    whole = whole_field(raw, ns)
    if not is_missing(whole):
        items = _listify(whole)
    else:
        text = interpolate(raw, ns).text
        try:
            items = split_list(text, option=option)
        except ValidationError as exc:
            raise UsageError(f"{option}: {exc}") from None
    if not items:
        raise UsageError(f"{option}: empty list")
    return [convert(option, item) for item in items]


_LOOKS_LIKE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


def _media_values(raw: str | None, ns: Mapping[str, Any], option: str) -> list[Any] | None:
    """``--image`` etc.: a variable (path, bytes, PIL image; a list of them sweeps), a path or a URL."""
    if raw is None:
        return None
    whole = whole_field(raw, ns)
    if not is_missing(whole):
        return _listify(whole)
    text = raw.strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "\"'":
        text = text[1:-1]  # IPython keeps the quotes of `-i "my photo.png"` in the value
    if _LOOKS_LIKE_NAME.match(text):
        value = resolve(text, ns)
        if not is_missing(value):
            return _listify(value)
    text = interpolate(text, ns).text
    if text.lower().startswith("data:") or Path(os.path.expanduser(text)).exists():
        return [text]
    try:
        items = split_list(text, option=option)
    except ValidationError as exc:
        raise UsageError(f"{option}: {exc}") from None
    out = []
    for item in items:
        value = resolve(item, ns) if _LOOKS_LIKE_NAME.match(item) else None
        if value is not None and not is_missing(value):
            out.append(value)
        elif "://" in item or item.lower().startswith("data:"):
            out.append(item)
        elif Path(os.path.expanduser(item)).exists():
            out.append(item)
        elif item.isidentifier():
            raise UsageError(f"{option}: {item!r} is not defined: give a variable holding a path, bytes or a "
                             f"PIL image, a file path, or an https:// URL")
        else:
            raise UsageError(f"{option}: file not found: {item!r} (give a file path, an https:// URL, or the "
                             f"name of a variable holding a path, bytes or a PIL image)")
    return out


def _param_values(items: list[str] | None, ns: Mapping[str, Any]) -> dict[str, list[Any]]:
    """``-p audio=false -p resolution=720p,1080p`` -> ``{"audio": [False], "resolution": [...]}``."""
    import json

    out: dict[str, list[Any]] = {}
    for item in items or []:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key.isidentifier():
            raise UsageError(f"--param: {item!r} is not KEY=VALUE (e.g. --param audio=false)")
        if key in ("prompt", "promptText", "model", "ratio", "duration", "seed", "image", "video",
                   "character", "reference", "type", "provider"):
            raise UsageError(f"--param: use the --{ {'promptText': 'prompt'}.get(key, key)} option for {key}")
        whole = whole_field(raw, ns)
        if not is_missing(whole):
            out[key] = [whole]  # the object itself (a list stays one value); sweep with commas
            continue
        text = interpolate(raw, ns).text.strip()
        try:
            parsed = json.loads(text)
            out[key] = [parsed]
            continue
        except ValueError:
            pass
        values = []
        for part in split_list(text, option=f"--param {key}") if text else [""]:
            try:
                values.append(json.loads(part))
            except ValueError:
                values.append(part)
        out[key] = values
    return out


# ----------------------------------------------------------------------------------------
# small displays
# ----------------------------------------------------------------------------------------

class _Facts:
    """Two-column facts with ``text/plain`` and escaped ``text/html``."""

    def __init__(self, title: str, rows: list[tuple[str, str]], table: list[dict] | None = None,
                 columns: tuple[str, ...] = ()):
        self.title = title
        self.rows = rows
        self.table = table or []
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

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
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


def _status_facts(handle: Any) -> _Facts:
    task = handle.task
    rows = [("status", handle.status)]
    if task is not None and task.progress is not None and not task.finished:
        rows.append(("progress", f"{task.progress:.0%}"))
    if handle.status == "THROTTLED":
        rows.append(("note", "queued: waiting for a free slot in the account's concurrency limit"))
    if handle.endpoint:
        rows.append(("type", handle.endpoint))
    for key, value in (handle.params or {}).items():
        if key != "endpoint":
            rows.append((key, str(value)))
    cost = task.cost if task is not None and task.cost is not None else handle.estimated_cost
    if cost is not None:
        rows.append(("credits", f"{cost:g}"))
    if task is not None and task.created_at is not None:
        rows.append(("created", task.created_at.isoformat()))
    for i, url in enumerate(task.outputs if task is not None else []):
        rows.append((f"output {i}", url))
    for i, path in enumerate(handle.files):
        rows.append((f"file {i}", str(path)))
    if task is not None and task.failed:
        rows.append(("failure", f"[{task.failure_code or '?'}] {task.failure or 'no reason given'}"))
        rows.append(("hint", task.hint or ""))
    return _Facts(f"Task {handle.id}", rows)


# ----------------------------------------------------------------------------------------
# the magics
# ----------------------------------------------------------------------------------------

_LINE_HELP = """\
%runway SUBCOMMAND: this session's Runway tasks and settings.

  %runway list                  this session's tasks as a table (refreshes unfinished ones)
  %runway status [ID]           one task's facts (default: the latest task)
  %runway cancel ID|all         cancel a task, or every unfinished task of this session
  %runway attach ID [-o NAME]   watch an existing task by id (shown as the live task view)
  %runway attach --pending      watch again every unfinished task of the journal (after a restart)
  %runway history [--all] [--status S ...] [--limit N]
                                past tasks from the journal, also from other kernels and notebooks
  %runway history --resolve ROW TASK_ID|none
                                settle a create whose outcome is unknown
  %runway fetch ID ...|--all    archive outputs not saved yet (GETs the task again for fresh URLs)
  %runway config                provider, base URL, masked key and the session defaults
  %runway config KEY=VALUE ...  set defaults: model, ratio, duration, poll_floor, provider,
                                save, save_dir, confirm_above, confirm_credits (VALUE none resets)
  %runway credits               the account's credit balance and per-model limits
  %runway panel                 the form panel

  %runway OPTIONS               submit a task without a prompt (act_two, upscale), e.g.
                                %runway --character face.png --reference take.mp4

%%runway [options] submits a generation; see %%runway? for its options.
"""


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
    save = Bool(False, help="Save every output to save_dir when its task succeeds.").tag(config=True)
    save_dir = Unicode("runway_outputs", help="Folder for saved outputs.").tag(config=True)
    confirm_above = Int(8, help="Ask before submitting a sweep of more tasks than this.").tag(config=True)
    confirm_credits = Float(250.0, help="Ask before submitting a sweep estimated above this many "
                                        "credits.").tag(config=True)

    _syncing = False
    _SESSION_TRAITS = ("model", "ratio", "duration", "poll_floor", "provider", "save", "save_dir")

    def __init__(self, shell: Any = None, **kwargs: Any):
        super().__init__(shell=shell, **kwargs)
        self._syncing = False
        changed = {name: getattr(self, name) for name in self._SESSION_TRAITS
                   if getattr(self, name) != self.trait_defaults(name)}
        if changed:
            try:
                get_session().configure(**changed)
            except ValidationError as exc:
                print(f"runway-nb: ignoring IPython config RunwayMagics.{exc.field}: {exc}", file=sys.stderr)

    @observe(*_SESSION_TRAITS)
    def _sync_to_session(self, change: Any) -> None:
        if self._syncing:
            return
        try:
            get_session().configure(**{change["name"]: change["new"]})
        except ValidationError as exc:
            print(f"runway-nb: RunwayMagics.{change['name']} not applied: {exc}", file=sys.stderr)

    def _namespace(self, local_ns: Mapping[str, Any] | None) -> ChainMap:
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
    @argument("-t", "--type", help="Task type (endpoint): text_to_video, image_to_video, text_to_image, "
                                   "video_to_video, character_performance, video_upscale. Inferred from the "
                                   "model and the inputs when left out.")
    @argument("-p", "--param", action="append", metavar="KEY=VALUE",
              help="Any other request field, e.g. -p audio=false -p resolution=720p (repeatable).")
    @argument("-o", "--out", metavar="NAME", help="Also assign the task handle (or sweep) to this variable.")
    @argument("-w", "--wait", action="store_true", help="Block until the task finishes (with a one-line "
                                                        "progress); otherwise the cell returns at once.")
    @argument("--save", nargs="?", const=True, default=None, metavar="DIR",
              help="Save the outputs when the task succeeds, to DIR (default ./runway_outputs).")
    @argument("--provider", help="runway, sim or comet (default: the session's).")
    @argument("-y", "--yes", action="store_true", help="Submit a large sweep without asking.")
    @argument("--skip-invalid", action="store_true",
              help="In a sweep, submit the allowed combinations and skip the others (default: submit nothing).")
    @argument("--rows", help="Sweep grid: the option shown down the rows (default: chosen from what varies).")
    @argument("--cols", help="Sweep grid: the option shown across the columns.")
    def runway(self, line: str = "", cell: str | None = None, local_ns: Mapping[str, Any] | None = None) -> Any:
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
        """
        args = parse_argstring(self.runway, line)
        ns = self._namespace(local_ns)
        out = (args.out or "").strip() or None
        if out is not None and (not out.isidentifier() or keyword.iskeyword(out)):
            raise UsageError(f"--out: {args.out!r} is not a valid Python variable name")
        for name in ("rows", "cols"):
            value = getattr(args, name)
            if value and value not in ("prompt", "model", "ratio", "duration", "seed", "image", "video",
                                       "character", "reference", "type", "provider"):
                raise UsageError(f"--{name}: {value!r} is not an option name (e.g. model, ratio, seed, prompt)")

        prompts = []
        for part in split_prompts(cell if cell is not None else None):
            if part is None:
                prompts.append(None)
                continue
            filled = interpolate(part, ns)
            for name in dict.fromkeys(filled.unresolved):
                if "." not in name and name.isidentifier():
                    print(f"runway-nb: {{{name}}} was left as typed: no variable named {name!r} "
                          f"(write {{{{{name}}}}} to mean the literal text)", file=sys.stderr)
                else:
                    print(f"runway-nb: {{{name}}} was left as typed: it does not resolve", file=sys.stderr)
            prompts.append(filled.text)

        options: dict[str, Any] = {
            "model": _scalar_values(args.model, ns, "--model", _to_text),
            "ratio": _scalar_values(args.ratio, ns, "--ratio", _to_text),
            "duration": _scalar_values(args.duration, ns, "--duration", _to_number),
            "seed": _scalar_values(args.seed, ns, "--seed", _to_seed),
            "image": _media_values(args.image, ns, "--image"),
            "video": _media_values(args.video, ns, "--video"),
            "character": _media_values(args.character, ns, "--character"),
            "reference": _media_values(args.reference, ns, "--reference"),
            "type": _scalar_values(args.type, ns, "--type", _to_type),
            "provider": _scalar_values(args.provider, ns, "--provider", _to_provider),
        }
        options.update(_param_values(args.param, ns))
        options = {k: v for k, v in options.items() if v is not None}
        session = get_session()
        from runway_nb.notebook.sweep import expand

        if len(expand(prompts, options)) == 1:
            single = {k: v[0] for k, v in options.items()}
            try:
                result = session.generate(prompts[0], save=args.save, **single)
            except ValidationError as exc:
                raise usage_error(exc) from None
            if out:
                self.shell.user_ns[out] = result
            if args.wait:
                self._wait(result)
            return result

        try:
            result = session.compare(prompts, save=args.save, skip_invalid=args.skip_invalid, rows=args.rows,
                                     cols=args.cols, confirm=self._confirmer(args.yes), **options)
        except SweepError as exc:
            raise _sweep_usage_error(exc) from None
        except SweepDeclined as exc:
            print(f"runway-nb: {exc}", file=sys.stderr)
            return None
        except ValidationError as exc:
            raise usage_error(exc) from None
        if result.skipped:
            print(f"runway-nb: skipped {len(result.skipped)} combination(s) the models do not allow:\n"
                  + "\n".join(f"  - {describe(c)}: {e}" for c, e in result.skipped), file=sys.stderr)
        if out:
            self.shell.user_ns[out] = result
        if args.wait:
            self._wait(result)
        return result

    def _wait(self, result: Any) -> None:
        from runway_nb.notebook.session import wait_with_progress
        from runway_nb.notebook.sweep import Sweep

        try:
            if isinstance(result, Sweep):
                result.wait(progress=True)
            else:
                wait_with_progress(result, raise_on_failure=False)
                get_session().refresh(result)
        except KeyboardInterrupt:
            ids = result.ids if isinstance(result, Sweep) else [result.id]
            print(f"\nrunway-nb: stopped waiting; the task(s) keep running on the server ({', '.join(ids)}). "
                  f"Cancel with %runway cancel {'all' if len(ids) > 1 else ids[0]}.", file=sys.stderr)
        task_failed = [t for t in (result.tasks if isinstance(result, Sweep) else [result])
                       if t.task is not None and t.task.failed]
        for t in task_failed:
            print(f"runway-nb: task {t.id} failed [{t.task.failure_code or '?'}]: {t.task.failure or ''} "
                  f"{t.task.hint or ''}".rstrip(), file=sys.stderr)

    def _confirmer(self, yes: bool) -> Callable[[list, float | None], bool]:
        def confirm(planned: list, credits: float | None) -> bool:
            n = len(planned)
            if yes or (n <= self.confirm_above and (credits is None or credits <= self.confirm_credits)):
                return True
            cost = f" (~{credits:g} credits estimated)" if credits is not None else ""
            question = f"This sweep submits {n} tasks{cost}. Submit them? [y/N] "
            try:
                answer = input(question)
            except (StdinNotImplementedError, EOFError, OSError, RuntimeError):
                raise UsageError(f"This sweep would submit {n} tasks{cost}, above the confirmation threshold "
                                 f"({self.confirm_above} tasks or {self.confirm_credits:g} credits), and no "
                                 f"answer can be asked for here: add --yes to submit it.") from None
            return answer.strip().lower() in ("y", "yes")

        return confirm

    # ------------------------------------------------------------------ %runway
    @no_var_expand
    @needs_local_scope
    @line_magic("runway")
    def runway_line(self, line: str = "", local_ns: Mapping[str, Any] | None = None) -> Any:
        """%runway SUBCOMMAND: list, status [ID], cancel ID|all, attach ID|--pending [-o NAME],
        history [--all] [--status S ...] [--limit N] [--resolve ROW TASK_ID|none], fetch ID ...|--all,
        config [KEY=VALUE ...], credits, panel. ``%runway`` alone shows this help; ``%%runway?``
        documents the cell magic.

        ``%runway OPTIONS`` (a line starting with an option) submits a task without a prompt, with
        the options of ``%%runway``, e.g. ``%runway -m act_two --character face.png --reference take.mp4``."""
        from IPython.utils._process_common import arg_split

        words = arg_split(line.strip(), posix=True) if line.strip() else []
        if words and words[0].startswith("-") and words[0] not in ("-h", "--help"):
            # %runway --character img --reference perf.mp4: a task without a prompt
            return self.runway(line, None, local_ns)
        if not words or words[0] in ("help", "-h", "--help"):
            print(_LINE_HELP)
            return None
        command, rest = words[0].lower(), words[1:]
        handler = getattr(self, f"_cmd_{command}", None)
        if command not in SUBCOMMANDS or handler is None:
            raise UsageError(f"%runway: unknown subcommand {command!r}; use one of: {', '.join(SUBCOMMANDS)} "
                             f"(to submit a generation use the cell magic %%runway)")
        try:
            return handler(rest)
        except ValidationError as exc:
            raise UsageError(f"%runway {command}: {exc}") from None
        except (NotFoundError, BadRequestError) as exc:
            raise UsageError(f"%runway {command}: no such task on provider "
                             f"{get_session().client.provider!r} ({exc})") from None

    def _cmd_help(self, rest: list[str]) -> None:
        print(_LINE_HELP)

    def _cmd_list(self, rest: list[str]) -> Any:
        if rest:
            raise UsageError(f"%runway list takes no arguments (got {' '.join(rest)!r})")
        return get_session().table(refresh=True)

    def _cmd_status(self, rest: list[str]) -> Any:
        session = get_session()
        if len(rest) > 1:
            raise UsageError("%runway status takes at most one task id")
        if rest:
            handle = session.get(rest[0]) or session.attach(rest[0])
        else:
            handle = session.last()
            if handle is None:
                raise UsageError("%runway status: no tasks in this session yet; give a task id")
        session.refresh(handle)
        return _status_facts(handle)

    def _cmd_cancel(self, rest: list[str]) -> None:
        if len(rest) != 1:
            raise UsageError("%runway cancel needs one task id, or 'all'")
        session = get_session()
        if rest[0].lower() == "all":
            ids = session.cancel(None)
            print(f"Cancelled {len(ids)} task(s): {', '.join(ids)}" if ids else "No unfinished tasks to cancel.")
        else:
            session.cancel(rest[0])
            print(f"Cancelled task {rest[0]}.")

    def _cmd_attach(self, rest: list[str]) -> Any:
        from runway_nb.notebook.history import attach_command

        return attach_command(rest, self.shell)

    def _cmd_history(self, rest: list[str]) -> Any:
        from runway_nb.notebook.history import history_command

        return history_command(rest)

    def _cmd_fetch(self, rest: list[str]) -> Any:
        from runway_nb.notebook.history import fetch_command

        return fetch_command(rest)

    def _cmd_config(self, rest: list[str]) -> Any:
        session = get_session()
        if rest:
            settings: dict[str, Any] = {}
            magic_settings: dict[str, Any] = {}
            for word in rest:
                key, sep, value = word.partition("=")
                key = key.strip().replace("-", "_")
                if not sep:
                    raise UsageError(f"%runway config: {word!r} is not KEY=VALUE")
                if key in ("api_key", "key", "base_url"):
                    raise UsageError("%runway config does not take keys or URLs (they would end up in the "
                                     "notebook): set RUNWAYML_API_SECRET / RUNWAYML_BASE_URL in the environment, "
                                     "or pass them to runway_nb.Runway(...) and get_session().use_client(...)")
                if key in _MAGIC_SETTINGS:
                    magic_settings[key] = value
                elif key in SETTINGS:
                    settings[key] = value
                else:
                    raise UsageError(f"%runway config: unknown setting {key!r}; known: "
                                     f"{', '.join(list(SETTINGS) + list(_MAGIC_SETTINGS))}")
            parsed_magic = {}
            for key, value in magic_settings.items():
                try:
                    parsed_magic[key] = int(value) if key == "confirm_above" else float(value)
                except ValueError:
                    raise UsageError(f"%runway config: {key}={value!r} is not a number") from None
            try:
                new = session.configure(**settings)
            except ValidationError as exc:
                raise UsageError(f"%runway config: {exc}") from None
            self._syncing = True
            try:
                for key in self._SESSION_TRAITS:
                    trait_value = new[key]
                    if key in ("duration", "poll_floor") and trait_value is not None:
                        trait_value = float(trait_value)
                    setattr(self, key, trait_value)
                for key, value in parsed_magic.items():
                    setattr(self, key, value)
            finally:
                self._syncing = False
        return self._config_facts()

    def _config_facts(self) -> _Facts:
        session = get_session()
        rows: list[tuple[str, str]] = []
        try:
            client = session.client
        except ValidationError as exc:
            rows.append(("provider", str(session.defaults.get("provider") or "(auto)")))
            rows.append(("client", f"not ready: {exc}"))
        else:
            sim = " (built-in simulator, in-process)" if client.settings.in_process_sim else ""
            rows.append(("provider", f"{client.provider}{sim}"))
            rows.append(("base URL", client.settings.base_url))
            rows.append(("API key", client.masked_key))
            rows.append(("poll floor", f"{client.poll_floor:g} s"))
        for key, (description, default) in SETTINGS.items():
            value = session.defaults.get(key)
            if key == "poll_floor":
                continue
            shown = "(model's default)" if value is None and key in ("ratio", "duration") else (
                "(chosen from the inputs)" if value is None and key == "model" else (
                    "(auto)" if value is None else str(value)))
            rows.append((f"default {key}", shown))
        rows.append(("confirm sweeps above", f"{self.confirm_above} tasks or {self.confirm_credits:g} credits"))
        return _Facts("runway-nb configuration", rows)

    def _cmd_credits(self, rest: list[str]) -> Any:
        if rest:
            raise UsageError("%runway credits takes no arguments")
        session = get_session()
        org = session.client.organization()
        tier = org.get("tier") or {}
        usage = ((org.get("usage") or {}).get("models")) or {}
        rows = [("provider", session.client.provider),
                ("credit balance", "unknown" if org.credit_balance is None else f"{org.credit_balance:,.0f}")]
        if tier.get("maxMonthlyCreditSpend") is not None:
            rows.append(("max monthly spend", f"{tier['maxMonthlyCreditSpend']:,.0f} credits"))
        from runway_nb.api import catalog

        generation_models = {m.model for m in catalog.models()}
        table, others = [], 0
        for model, limits in (tier.get("models") or {}).items():
            used = (usage.get(model) or {}).get("dailyGenerations", 0)
            if model not in generation_models and not used:
                others += 1  # audio, avatar and workflow models runway-nb does not submit
                continue
            table.append({"model": model,
                          "concurrent": limits.get("maxConcurrentGenerations", ""),
                          "daily limit": limits.get("maxDailyGenerations", ""),
                          "used today": used})
        if others:
            rows.append(("other models", f"{others} more in the account's tier (not generation models "
                                         f"runway-nb submits)"))
        return _Facts("Runway organization", rows, table, ("model", "concurrent", "daily limit", "used today"))

    def _cmd_panel(self, rest: list[str]) -> Any:
        try:
            from runway_nb.notebook.widgets import Panel  # type: ignore[attr-defined]
        except ImportError as exc:
            raise ImportError("%runway panel needs runway_nb.notebook.widgets.Panel, which this installation does not "
                              f"have yet ({exc})") from exc
        return Panel()


def _first_display(obj: Any) -> None:
    """The first time a task handle is displayed: load the widgets, then display it with them.

    Registered by name (no import) so that ``%load_ext`` stays fast; the widgets (anywidget,
    pydantic, httpx) load when there is a task to show.
    """
    from IPython import get_ipython
    from IPython.display import display

    ip = get_ipython()
    formatter = ip.display_formatter.ipython_display_formatter
    for name in ("TaskHandle", "AsyncTaskHandle"):
        key = ("runway_nb.client.core", name)
        if formatter.deferred_printers.get(key) is _first_display:
            del formatter.deferred_printers[key]
    for cls, printer in list(formatter.type_printers.items()):
        if printer is _first_display:
            del formatter.type_printers[cls]
    try:
        from runway_nb.notebook.widgets import register_formatters  # type: ignore[attr-defined]
    except ImportError as exc:
        print(f"runway-nb: the task widget is not available ({exc}); showing tasks as text", file=sys.stderr)
    else:
        register_formatters(ip)
    try:
        printer = formatter.lookup(obj)
    except KeyError:
        printer = None
    if printer is not None and printer is not _first_display:
        printer(obj)
    else:
        display(obj)  # the handle's own text repr


def load_ipython_extension(ip: Any) -> None:
    """Register ``%%runway`` / ``%runway``; in a Jupyter kernel, show task handles as the task widget.

    The widget formatters are installed on the first display of a handle (see
    :func:`_first_display`), not here: loading stays well under 150 ms.
    """
    ip.register_magics(RunwayMagics(shell=ip))
    if getattr(ip, "kernel", None) is None:
        return  # terminal IPython: handles keep their one-line repr; --wait prints progress
    formatter = ip.display_formatter.ipython_display_formatter
    for name in ("TaskHandle", "AsyncTaskHandle"):
        if ("runway_nb.client.core", name) not in formatter.deferred_printers:
            formatter.for_type_by_name("runway_nb.client.core", name, _first_display)
