"""The ``runway-nb`` command.

Each subcommand is one function registered with :func:`command`; its arguments are declared
next to it with :func:`arg`, and its heavy imports happen inside it, so ``runway-nb --help``
stays fast and works without optional extras. Adding a subcommand::

    @command("demo", help="...", arguments=[arg("--speed", type=float, default=20.0)])
    def demo(args: argparse.Namespace) -> int:
        ...
        return 0
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from runway_nb.notebook.demo import positive_number  # light: the demo's heavy imports come when it runs

__all__ = ["COMMANDS", "Command", "arg", "build_parser", "command", "main"]


@dataclass(frozen=True)
class Arg:
    flags: tuple[str, ...]
    options: dict[str, Any]


def arg(*flags: str, **options: Any) -> Arg:
    """One ``add_argument`` call, declared up front."""
    return Arg(flags, options)


@dataclass(frozen=True)
class Command:
    name: str
    help: str
    run: Callable[[argparse.Namespace], int | None]
    arguments: tuple[Arg, ...] = field(default_factory=tuple)
    description: str | None = None


COMMANDS: dict[str, Command] = {}


def command(name: str, *, help: str, arguments: Sequence[Arg] = (),  # `help`: argparse's word
            description: str | None = None) -> Callable[[Callable[[argparse.Namespace], int | None]],
                                                         Callable[[argparse.Namespace], int | None]]:
    """Register ``fn(args) -> exit code`` as ``runway-nb <name>``."""

    def register(fn: Callable[[argparse.Namespace], int | None]) -> Callable[[argparse.Namespace], int | None]:
        if name in COMMANDS:
            raise ValueError(f"runway-nb subcommand {name!r} is registered twice")
        COMMANDS[name] = Command(name, help, fn, tuple(arguments), description or fn.__doc__)
        return fn

    return register


def build_parser() -> argparse.ArgumentParser:
    from runway_nb import __version__

    parser = argparse.ArgumentParser(prog="runway-nb", description="runway-nb: Runway's generation API from "
                                                                   "notebooks, the terminal and agents.")
    parser.add_argument("--version", action="version", version=f"runway-nb {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for cmd in COMMANDS.values():
        sub = subparsers.add_parser(cmd.name, help=cmd.help, description=cmd.description,
                                    formatter_class=argparse.RawDescriptionHelpFormatter)
        for a in cmd.arguments:
            sub.add_argument(*a.flags, **a.options)
        sub.set_defaults(_run=cmd.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(argv) if argv is not None else None)
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help()
        return 2
    try:
        return int(run(args) or 0)
    except KeyboardInterrupt:
        return 130


# ---------------------------------------------------------------------------------------
# runway-nb serve
# ---------------------------------------------------------------------------------------

def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{value} is not a port number (0-65535; 0 = any free port)")
    return value


_PROVIDERS = ("sim", "runway", "comet", "useapi", "makevid")


@command("serve", help="serve Runway's tasks API over REST (port 8080) and MCP (port 9090)", arguments=[
    arg("--port", type=_port, default=8080, help="REST port (default 8080; 0 = any free port)"),
    arg("--mcp-port", type=_port, default=9090, help="MCP port, streamable HTTP at /mcp (default 9090; 0 = any)"),
    arg("--host", default="127.0.0.1",
        help="interface to bind (default 127.0.0.1). There is no authentication of callers: anything that "
             "can reach the ports can spend the key's credits, so keep it on loopback"),
    arg("--provider", choices=_PROVIDERS, default=None,
        help="backend (default: $RUNWAY_NB_PROVIDER, else runway when a key is set, else sim)"),
    arg("--base-url", default=None, help="the provider's base URL, e.g. a simulator started with "
                                         "`python -m runway_nb.sim` (default: the provider's own)"),
    arg("--sim-speed", type=positive_number, default=None,
        help="with the in-process simulator: sim seconds per real second (default $RUNWAY_NB_SIM_SPEED or 1)"),
    arg("--retries", type=int, default=2, help="retries of a failed upstream read (default 2)"),
    arg("--outputs", default=None, metavar="DIR",
        help="archive every succeeded task's outputs into DIR (default $RUNWAY_NB_OUTPUTS, else ./runway_outputs)"),
    arg("--no-save", dest="outputs", action="store_const", const=False,
        help="do not archive outputs (their links expire: 24-48 h on Runway)"),
    arg("--log-level", default="warning", choices=("critical", "error", "warning", "info", "debug")),
    arg("--access-log", action="store_true", help="log every request"),
], description="""\
Serve the Runway tasks capability on top of runway-nb's client:

  REST  GET /v1/tasks/{id}, DELETE /v1/tasks/{id}, POST /v1/{endpoint}, GET /openapi.json
  MCP   tools retrieve-task-status-and-output, cancel-delete-task, create-task (at /mcp)

The API key is read from the environment, never from the command line: RUNWAYML_API_SECRET or
RUNWAY_API_KEY (Runway), COMETAPI_KEY, USEAPI_TOKEN, MAKEVID_API_KEY. It is never printed; the
startup line shows it masked. --provider sim without --base-url uses an in-process simulator.
""")
def serve(args: argparse.Namespace) -> int:
    import asyncio

    from runway_nb import errors

    try:
        from runway_nb.serve.app import LOOPBACK_HOSTS, ServeOptions, Service
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        if not missing or missing == "runway_nb":
            raise
        print(f"runway-nb serve: needs the {missing!r} package, which is not installed: "
              f"pip install 'runway-nb[serve]'", file=sys.stderr)
        return 2

    if args.port == args.mcp_port and args.port != 0:
        print(f"runway-nb serve: --port and --mcp-port must differ (both are {args.port})", file=sys.stderr)
        return 2
    options = ServeOptions(provider=args.provider, base_url=args.base_url, host=args.host, port=args.port,
                           mcp_port=args.mcp_port, sim_speed=args.sim_speed, max_retries=max(0, args.retries),
                           log_level=args.log_level, access_log=args.access_log, outputs=args.outputs)
    try:
        options.resolved_provider()  # a missing key is reported before any port is opened
    except errors.ValidationError as exc:
        print(f"runway-nb serve: {exc}", file=sys.stderr)
        return 2
    if args.host not in LOOPBACK_HOSTS:
        print(f"runway-nb serve: warning: binding {args.host}: callers are not authenticated, so anyone who can "
              f"reach these ports can read, cancel and create tasks with this key", file=sys.stderr)

    def ready(service: Service) -> None:
        print(service.startup_line(), flush=True)

    service = Service(options)
    try:
        asyncio.run(service.run(on_ready=ready, handle_signals=True))
    except OSError as exc:
        print(f"runway-nb serve: cannot listen on {args.host} (ports {args.port}, {args.mcp_port}): "
              f"{exc.strerror or exc}", file=sys.stderr)
        return 1
    return 0


# ---------------------------------------------------------------------------------------
# runway-nb demo
# ---------------------------------------------------------------------------------------

def _demo_arguments() -> list[Arg]:
    from runway_nb.notebook.demo import ARGUMENTS  # light: the heavy imports happen when the demo runs

    return [arg(*flags, **options) for flags, options in ARGUMENTS]


@command("demo", help="run the demo notebooks on the simulator and print where the outputs are",
         arguments=_demo_arguments(), description="""\
Run the demo notebooks (installed with runway-nb; notebooks/ in a source checkout) top to
bottom in fresh kernels, on the built-in simulator: no API key, no network, no credits. Writes into one folder (default
./runway-demo/): the executed notebooks, their HTML export and the generated media
(runway_outputs/), and prints where they are. Exits 1 naming the cell if a notebook fails.

  runway-nb demo                                    every demo notebook
  runway-nb demo --only 01 --prompt "a red fox in the snow" --ratio 1080:1080 --out fox

With RUNWAYML_API_SECRET set the demo still uses the simulator (the kernels do not get the key)
unless --allow-runway is given.
""")
def demo(args: argparse.Namespace) -> int:
    from runway_nb.notebook.demo import run_from_args

    return run_from_args(args)


if __name__ == "__main__":
    sys.exit(main())
