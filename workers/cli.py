"""`logship-worker`: start a Celery worker that stores cleaned batches in PostgreSQL."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from logship import __version__
from logship.config import load
from logship.errors import ConfigError
from workers.config import CONFIG_ENV, SECTION, WorkerConfig

EPILOG = """\
example:
  LOGSHIP_DATABASE_URL=postgresql://postgres@db:5432/logship \\
  BROKER_URL=amqp://guest:guest@mq:5672// logship-worker --concurrency 4

Other arguments go to `celery worker` (e.g. --pool=solo, -n name@%h, -Q other-queue).
Settings: LOGSHIP_* environment variables, .env, or the [worker] table of --config.
Exit codes: 0 stopped cleanly, 1 failed, 2 usage or configuration error.
"""


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="logship-worker",
        description="Start a Celery worker that stores cleaned log batches in PostgreSQL.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="version", version=f"logship-worker {__version__}")
    p.add_argument("--config", type=Path, help="TOML file with a [worker] table")
    p.add_argument(
        "-c", "--concurrency", type=int, help="worker processes (default: config, 0 = one per core)"
    )
    p.add_argument("-l", "--loglevel", default="INFO", help="log level (default: INFO)")
    return p


def celery_argv(cfg: WorkerConfig, loglevel: str, extra: list[str]) -> list[str]:
    """The `celery worker` arguments for this configuration."""
    argv = ["worker", f"--loglevel={loglevel}"]
    if cfg.concurrency > 0:
        argv.append(f"--concurrency={cfg.concurrency}")
    return argv + extra


def main(argv: list[str] | None = None) -> int:
    args, extra = parser().parse_known_args(argv)
    config_path = args.config or (
        Path(os.environ[CONFIG_ENV]) if os.environ.get(CONFIG_ENV) else None
    )
    try:
        cfg = load(
            WorkerConfig,
            path=config_path,
            section=SECTION,
            overrides={"concurrency": args.concurrency},
        )
    except ConfigError as exc:
        print(f"logship-worker: configuration error: {exc}", file=sys.stderr)
        return 2

    from workers import get_app

    app = get_app(cfg)
    try:
        app.worker_main(celery_argv(cfg, args.loglevel, extra))
    except KeyboardInterrupt:
        return 0
    except Exception as exc:  # noqa: BLE001 - a person reads this
        print(f"logship-worker: {exc}", file=sys.stderr)
        return 1
    return 0
