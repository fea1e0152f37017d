"""`logship`: the umbrella command for the server side.

Subcommands are dispatched lazily so that each imports only what it needs.
Exit codes: 0 done, 1 failed, 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from logship import __version__
from logship.errors import ConfigError, LogshipError

EXAMPLES = """\
examples:
  logship up                          # collector + worker + embedded PostgreSQL, in ./data
  logship-agent send app.log          # then, in another terminal: ship a file
  logship report --since 1h --format html -o report.html
  logship mine messages.txt --templates
  logship check-config --config /etc/logship/logship.toml
  logship dead-letters list           # batches the workers could not store; replay --all

exit codes: 0 done, 1 failed, 2 usage or configuration error
"""


def _up(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="logship up",
        description="Run collector, pre-filter pool and a Celery worker together on this machine.",
        epilog="example: logship up --port 8888 --data-dir ./data",
    )
    parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8888")))
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("LOGSHIP_DATA_DIR", "data")),
        help="where the embedded database, broker and received files live (default: ./data)",
    )
    parser.add_argument("--queue", default=os.environ.get("LOGSHIP_QUEUE", "logship"))
    parser.add_argument("--workers", type=int, default=0, help="worker processes (0 = cores)")
    args = parser.parse_args(argv)
    from logship import up

    return up.run(args.data_dir, args.host, args.port, args.queue, args.workers)


def _check_config(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="logship check-config",
        description="Check the collector and worker configuration without starting anything.",
        epilog="example: logship check-config --config /etc/logship/logship.toml",
    )
    parser.add_argument("--config", type=Path, help="TOML file with [collector] and [worker]")
    args = parser.parse_args(argv)
    from logship.config import load

    sections = _server_sections()
    for section, cls in sections.items():
        cfg: object = load(cls, path=args.config, section=section)
        print(f"[{section}] ok: {cfg}")
    if args.config is not None:
        from logship.config import read_toml

        unknown = set(read_toml(args.config)) - set(sections)
        if unknown:
            raise ConfigError(f"{args.config}: unknown section(s) {sorted(unknown)}")
    return 0


def _server_sections() -> dict[str, type]:
    from collector.config import CollectorConfig
    from workers.config import WorkerConfig

    sections: dict[str, type] = {"collector": CollectorConfig, "worker": WorkerConfig}
    try:
        from analysis.config import AnalysisConfig

        sections["analysis"] = AnalysisConfig
    except ImportError:
        pass
    return sections


def _delegate(module: str, func: str) -> Callable[[Sequence[str]], int]:
    def run(argv: Sequence[str]) -> int:
        import importlib

        return int(getattr(importlib.import_module(module), func)(list(argv)) or 0)

    return run


COMMANDS: dict[str, tuple[Callable[[Sequence[str]], int], str]] = {
    "up": (_up, "run the whole stack on this machine (embedded default)"),
    "collector": (_delegate("collector.cli", "main"), "run a collector"),
    "worker": (_delegate("workers.cli", "main"), "run a Celery storage worker"),
    "check-config": (_check_config, "check configuration files and environment"),
    "mine": (_delegate("analysis.cli", "mine_main"), "mine log templates from messages"),
    "report": (_delegate("analysis.report", "report_main"), "statistics report"),
    "retention": (_delegate("logship.retention", "retention_main"), "drop old partitions"),
    "status": (_delegate("logship.status", "status_main"), "the pipeline at a glance"),
    "dead-letters": (
        _delegate("workers.dead_letters", "dead_letters_main"),
        "list, show and replay batches that could not be stored",
    ),
}


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(
        prog="logship",
        description="Logship: ship, store and analyse logs.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="commands:\n"
        + "\n".join(f"  {name:<14}{doc}" for name, (_, doc) in COMMANDS.items())
        + "\n\n"
        + EXAMPLES,
    )
    parser.add_argument("--version", action="version", version=f"logship {__version__}")
    parser.add_argument("command", choices=sorted(COMMANDS), metavar="command")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    if not argv:
        parser.print_help()
        return 2
    ns = parser.parse_args(argv[:1])
    func, _ = COMMANDS[ns.command]
    try:
        return func(argv[1:])
    except ConfigError as exc:
        print(f"logship {ns.command}: configuration error: {exc}", file=sys.stderr)
        return 2
    except LogshipError as exc:
        print(f"logship {ns.command}: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
