"""``python -m runway_nb.sim`` / ``runway-nb-sim``: serve the simulator over HTTP.

Prints one line with the URL and how to point the official SDK at it; never prints a key.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import threading
from types import FrameType

from runway_nb.sim.app import SimApp
from runway_nb.sim.config import SimConfig
from runway_nb.sim.server import SimServer

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="runway-nb-sim",
                                description="Offline simulator of Runway's generation API (2024-11-06).")
    p.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port (0 = any free port; default 8080)")
    p.add_argument("--speed", type=float, default=1.0, help="sim seconds per real second (default 1)")
    p.add_argument("--concurrency", type=int, default=2, help="max RUNNING tasks per model (default 2)")
    p.add_argument("--pending-seconds", type=float, default=None, help="sim seconds in PENDING")
    p.add_argument("--run-seconds", type=float, default=None,
                   help="sim seconds every task runs (default: 8 for images, 20 + 4/s for videos)")
    p.add_argument("--api-key", default=os.environ.get("RUNWAY_NB_SIM_API_KEY"),
                   help="accept only this Bearer key (default: $RUNWAY_NB_SIM_API_KEY, else any "
                        "non-empty key)")
    p.add_argument("--credits", type=int, default=None, help="starting credit balance")
    p.add_argument("--daily-limit", type=int, default=None, help="creates per model per rolling day")
    p.add_argument("--fault-seed", type=int, default=None, help="seed of the fault RNG")
    for name, text in (("rate-429", "429 with Retry-After"), ("rate-5xx", "502/503/504"),
                       ("rate-5xx-after-create", "create committed, then 500"),
                       ("rate-drop", "connection dropped after handling"),
                       ("rate-drop-before", "connection dropped before handling"),
                       ("rate-slow", "answer delayed by --slow-seconds")):
        p.add_argument(f"--{name}", type=float, default=None, help=f"probability of: {text}")
    p.add_argument("--retry-after", type=float, default=None, help="Retry-After seconds on fault 429s")
    p.add_argument("--slow-seconds", type=float, default=None, help="delay of a slow answer (real s)")
    p.add_argument("--comet-envelope", action="store_true", help="CometAPI GETs answer the envelope")
    p.add_argument("--db", metavar="PATH", default=None,
                   help="keep tasks, outputs and credits in this SQLite file, so they survive a restart of "
                        "the server (default: they live in this process only)")
    return p


def config_from_args(args: argparse.Namespace) -> SimConfig:
    kw = {"speed": args.speed, "concurrency": args.concurrency}
    for name in ("pending_seconds", "run_seconds", "api_key", "credits", "daily_limit", "fault_seed",
                 "rate_429", "rate_5xx", "rate_5xx_after_create", "rate_drop", "rate_drop_before",
                 "rate_slow", "retry_after", "slow_seconds"):
        value = getattr(args, name)
        if value is not None:
            kw[name] = value
    if args.comet_envelope:
        kw["comet_envelope"] = True
    config = SimConfig()
    config.update(**kw)
    return config


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = config_from_args(args)
    except (TypeError, ValueError) as exc:
        print(f"runway-nb-sim: {exc}", file=sys.stderr)
        return 2
    app = SimApp(config)
    db = None
    if args.db:
        from runway_nb.sim.persist import open_db

        try:
            db, loaded = open_db(app, args.db)
        except Exception as exc:
            print(f"runway-nb-sim: cannot use --db {args.db}: {type(exc).__name__}: {exc}", file=sys.stderr)
            app.close()
            return 1
        kept = f"Tasks are kept in {args.db} ({loaded} loaded)."
    else:
        kept = "Tasks live in this process only (--db PATH keeps them across restarts)."
    try:
        server = SimServer(app, host=args.host, port=args.port).start()
    except OSError as exc:
        print(f"runway-nb-sim: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        app.close()
        if db is not None:
            db.close()
        return 1
    key_note = "the key set with --api-key" if config.api_key else "any key"
    print(f"Runway simulator listening on {server.url} (API 2024-11-06, speed {config.speed:g}x). "
          f"Official SDK: RUNWAYML_BASE_URL={server.url} RUNWAYML_API_SECRET=<{key_note}>. {kept} "
          f"Ctrl-C stops it.", flush=True)
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(ValueError):  # not the main thread
            signal.signal(sig, _on_signal)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        if db is not None:
            db.close()  # first: renders cut off by app.close() are started again next time
        app.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
