"""``%%runway``: a parsed line and a cell body into one task or a sweep, submitted, optionally waited for."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from IPython.core.error import StdinNotImplementedError, UsageError

from runway_nb.errors import ValidationError
from runway_nb.notebook.api import install_views
from runway_nb.notebook.interpolate import interpolate
from runway_nb.notebook.magics.host import MagicsHost
from runway_nb.notebook.magics.values import (
    check_variable_name,
    layout_option,
    media_values,
    param_values,
    scalar_values,
    sweep_usage_error,
    to_language,
    to_number,
    to_provider,
    to_seed,
    to_text,
    to_type,
    to_voice,
    usage_error,
)
from runway_nb.notebook.reuse import UnsettledRequest, asking_from_magic, magic_cell_key
from runway_nb.notebook.session import get_session
from runway_nb.notebook.sweep import SweepDeclined, SweepError, describe, expand, split_prompts

if TYPE_CHECKING:
    from runway_nb.client.handles import AnyTaskHandle
    from runway_nb.notebook.sweep import Sweep

__all__ = ["submit"]


def _prompts(cell: str | None, ns: Mapping[str, Any]) -> list[str | None]:
    """The body's prompts (``---`` lines split it), filled from the namespace; unfilled fields are reported."""
    prompts: list[str | None] = []
    for part in split_prompts(cell):
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
    return prompts


def _options(args: argparse.Namespace, ns: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Each given option as its list of values (several values make a sweep)."""
    options: dict[str, list[Any] | None] = {
        "model": scalar_values(args.model, ns, "--model", to_text),
        "ratio": scalar_values(args.ratio, ns, "--ratio", to_text),
        "duration": scalar_values(args.duration, ns, "--duration", to_number),
        "seed": scalar_values(args.seed, ns, "--seed", to_seed),
        "image": media_values(args.image, ns, "--image"),
        "video": media_values(args.video, ns, "--video"),
        "character": media_values(args.character, ns, "--character"),
        "reference": media_values(args.reference, ns, "--reference"),
        "voice": scalar_values(args.voice, ns, "--voice", to_voice),
        "audio": media_values(args.audio, ns, "--audio"),
        "target_language": scalar_values(args.target_language, ns, "--target-language", to_language),
        "router": scalar_values(args.router, ns, "--router", to_text),
        "type": scalar_values(args.type, ns, "--type", to_type),
        "provider": scalar_values(args.provider, ns, "--provider", to_provider),
    }
    params = param_values(args.param, ns)
    if "audio" in params and options["audio"] is not None:
        raise UsageError("--param audio: --audio gives the input audio here; -p audio=true/false is the sound "
                         "flag of video models, which take no input audio")
    options.update(params)
    return {k: v for k, v in options.items() if v is not None}


def submit(args: argparse.Namespace, cell: str | None, ns: Mapping[str, Any], host: MagicsHost) -> object:
    """Submit what the cell asks for; the handle (one task), the sweep, or None (a declined sweep).
    With ``--workflow`` the cell runs a published workflow instead (:mod:`runway_nb.notebook.magics.workflow`)."""
    if getattr(args, "workflow", None):
        from runway_nb.notebook.magics.workflow import run_workflow

        return run_workflow(args, cell, ns, host)
    out = check_variable_name("--out", args.out)
    rows = layout_option("--rows", args.rows)
    cols = layout_option("--cols", args.cols)
    prompts = _prompts(cell, ns)
    options = _options(args, ns)
    install_views()  # in a kernel, what the cell submits shows (and saves) through the widgets
    session = get_session()
    result: AnyTaskHandle | Sweep
    key = magic_cell_key(vars(args), cell)  # a re-run of this cell shows the task it made
    if len(expand(prompts, options)) == 1:
        single = {k: v[0] for k, v in options.items()}
        try:
            with asking_from_magic():
                result = session.generate(prompts[0], save=args.save, key=key, new=args.new, **single)
        except ValidationError as exc:
            raise usage_error(exc) from None
        except UnsettledRequest as exc:
            raise UsageError(str(exc)) from None
    else:
        sweep_options: dict[str, Any] = options  # compare takes each option's values as a keyword argument
        confirm = _confirmer(host, args.yes)
        try:
            with asking_from_magic():
                result = session.compare(prompts,  # type: ignore[arg-type]  # None (no body) is allowed, unannotated
                                         save=args.save, skip_invalid=args.skip_invalid, rows=rows, cols=cols,
                                         confirm=confirm, key=key, new=args.new, **sweep_options)
        except UnsettledRequest as exc:
            raise UsageError(str(exc)) from None
        except SweepError as exc:
            raise sweep_usage_error(exc) from None
        except SweepDeclined as exc:
            print(f"runway-nb: {exc}", file=sys.stderr)
            return None
        except ValidationError as exc:
            raise usage_error(exc) from None
        if result.skipped:
            print(f"runway-nb: skipped {len(result.skipped)} combination(s) the models do not allow:\n"
                  + "\n".join(f"  - {describe(c)}: {e}" for c, e in result.skipped), file=sys.stderr)
    if out:
        host.assign(out, result)
    if args.wait:
        wait(result)
    return result


def wait(result: AnyTaskHandle | Sweep) -> None:
    """Block with a progress line until the task(s) finish; Ctrl-C stops waiting, not the tasks."""
    from runway_nb.notebook.session import wait_with_progress
    from runway_nb.notebook.sweep import Sweep

    handles: list[AnyTaskHandle] = list(result.tasks) if isinstance(result, Sweep) else [result]
    try:
        if isinstance(result, Sweep):
            result.wait(progress=True)
        else:
            wait_with_progress(result, raise_on_failure=False)
            get_session().refresh(result)
    except KeyboardInterrupt:
        ids = [h.id for h in handles]
        print(f"\nrunway-nb: stopped waiting; the task(s) keep running on the server ({', '.join(ids)}). "
              f"Cancel with %runway cancel {'all' if len(ids) > 1 else ids[0]}.", file=sys.stderr)
    for handle in handles:
        task = handle.task
        if task is not None and task.failed:
            print(f"runway-nb: task {handle.id} failed [{task.failure_code or '?'}]: {task.failure or ''} "
                  f"{task.hint or ''}".rstrip(), file=sys.stderr)


def _confirmer(host: MagicsHost, yes: bool) -> Callable[[Sequence[object], float | None], bool]:
    """Asks before a sweep above the host's thresholds; ``--yes`` (or no way to ask) decides without asking."""

    def confirm(planned: Sequence[object], credits: float | None) -> bool:
        n = len(planned)
        if yes or (n <= host.confirm_above and (credits is None or credits <= host.confirm_credits)):
            return True
        cost = f" (~{credits:g} credits estimated)" if credits is not None else ""
        question = f"This sweep submits {n} tasks{cost}. Submit them? [y/N] "
        try:
            answer = input(question)
        except (StdinNotImplementedError, EOFError, OSError, RuntimeError):
            raise UsageError(f"This sweep would submit {n} tasks{cost}, above the confirmation threshold "
                             f"({host.confirm_above} tasks or {host.confirm_credits:g} credits), and no "
                             f"answer can be asked for here: add --yes to submit it.") from None
        return answer.strip().lower() in ("y", "yes")

    return confirm
