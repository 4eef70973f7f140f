"""IPython's ``magic_arguments`` decorators, typed, and the parse call every magic parser goes through.

Every parser of ``%%runway`` and of the ``%runway`` subcommands is declared the same way, with
``@magic_arguments(name)`` and ``@argument(...)`` on the function that runs it (``name`` as IPython
takes it: ``"runway history"`` reads ``%runway history``, ``"%runway"`` reads ``%%runway``), and parsed with
:func:`parse_words` or :func:`parse_line`. A bad option raises a ``UsageError`` that names it
and, for an unknown option, lists the ones the command takes.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

from IPython.core import magic
from IPython.core import magic_arguments as ipython_arguments
from IPython.core.error import UsageError
from IPython.utils.process import arg_split  # type: ignore[attr-defined]  # documented; no __all__ there

__all__ = ["argument", "cell_magic", "line_magic", "magic_arguments", "needs_local_scope",
           "no_var_expand", "parse_line", "parse_words", "parser_of", "split_line",
           "usage"]

F = TypeVar("F", bound=Callable[..., Any])


# IPython's decorators are not annotated; seen through these casts they keep the decorated
# function's type instead of making it untyped.

def magic_arguments(prog: str) -> Callable[[F], F]:
    """Build the function's parser from the ``@argument`` lines below it; ``prog`` names the command."""
    return cast("Callable[[str], Callable[[F], F]]", ipython_arguments.magic_arguments)(prog)


def argument(*flags: str, **options: Any) -> Callable[[F], F]:
    """One ``add_argument`` call of the parser built by :func:`magic_arguments`."""
    return cast("Callable[..., Callable[[F], F]]", ipython_arguments.argument)(*flags, **options)


def cell_magic(name: str) -> Callable[[F], F]:
    return cast("Callable[[str], Callable[[F], F]]", magic.cell_magic)(name)


def line_magic(name: str) -> Callable[[F], F]:
    return cast("Callable[[str], Callable[[F], F]]", magic.line_magic)(name)


def needs_local_scope(func: F) -> F:
    return cast("Callable[[F], F]", magic.needs_local_scope)(func)


def no_var_expand(func: F) -> F:
    return cast("Callable[[F], F]", magic.no_var_expand)(func)


def split_line(line: str, *, posix: bool = False) -> list[str]:
    """A magic's line as words, the way IPython splits it (``posix`` drops the quotes)."""
    return cast("Callable[..., list[str]]", arg_split)(line, posix=posix)


def parser_of(command: Callable[..., Any]) -> argparse.ArgumentParser:
    """The parser :func:`magic_arguments` attached to ``command``."""
    parser = getattr(command, "parser", None)  # a bound method reads its function's attribute
    if not isinstance(parser, argparse.ArgumentParser):
        raise TypeError(f"{command!r} has no @magic_arguments parser")
    return parser


def usage(command: Callable[..., Any]) -> str:
    """The command's usage on one line, e.g. ``%runway history [--all] [--limit LIMIT]``."""
    text = parser_of(command).format_usage()  # IPython's formatter: "::\n\n  %prog [options]"
    return " ".join(text.removeprefix("::").split())


def _parse(command: Callable[..., Any], words: Sequence[str], *, prefix: str) -> argparse.Namespace:
    parser = parser_of(command)
    try:
        return parser.parse_args(list(words))
    except UsageError as exc:
        message = str(exc)
        if message.startswith("unrecognized arguments"):
            message += f" (usage: {usage(command)})"
        raise UsageError(prefix + message) from None


def parse_words(command: Callable[..., Any], words: Sequence[str]) -> argparse.Namespace:
    """A subcommand's words parsed by its parser; errors start with the command (``%runway history: ...``)."""
    return _parse(command, words, prefix=f"%{parser_of(command).prog}: ")


def parse_line(command: Callable[..., Any], line: str) -> argparse.Namespace:
    """A magic's whole line parsed by its parser (IPython's splitting: quotes are kept)."""
    return _parse(command, split_line(line), prefix="")
