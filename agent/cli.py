"""`logship-agent`: the agent's command line.

Subcommands live in a registry: `send` and `check-config` here; another module adds itself by
defining `SUBCOMMAND = Subcommand(...)` and being named in `EXTENSION_MODULES` (the tailing
agent's `agent/run.py` provides `run`, `agent/checkpoints.py` provides `checkpoints`). Helpers for every subcommand: `add_common_options`
and `config_from_args` (the same `--config/--collector/--token/--tls-ca/--state-dir/-v`
handling), `setup_logging` (process-wide, for `run`) and `logging_to_stderr` (for the duration
of one command, progress-aware), `run_async` (asyncio.run
where SIGTERM cancels like Ctrl-C), `fail` and the exit codes `EXIT_OK/EXIT_FAILED/EXIT_USAGE`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import importlib.util
import json
import logging
import os
import signal
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.config import CONFIG_ENV, AgentConfig, config_path_from_env, load_config
from agent.progress import Progress
from logship import __version__, wire
from logship.config import describe
from logship.errors import ConfigError

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
PROG = "logship-agent"
EXIT_CODES = """exit codes:
  0  done (send: every line ACKed by the collector)
  1  failed (collector unreachable after retries, token refused, file unreadable, interrupted)
  2  usage or configuration error"""

EXTENSION_MODULES = ("agent.run", "agent.checkpoints")

log = logging.getLogger("logship.agent")


@dataclass(frozen=True)
class Subcommand:
    name: str
    help: str  # one line, shown in `logship-agent --help`
    description: str  # purpose and a real example, shown in `logship-agent NAME --help`
    configure: Callable[[argparse.ArgumentParser], None]
    handler: Callable[[argparse.Namespace], int]


# ----------------------------------------------------------------------------- shared helpers


def add_common_options(parser: argparse.ArgumentParser) -> None:
    """--config, --collector, --token, --tls-ca, --state-dir, -v."""
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"agent TOML config file (default: ${CONFIG_ENV}, else defaults + environment)",
    )
    parser.add_argument("--collector", metavar="HOST:PORT", help="collector address")
    parser.add_argument("--token", metavar="TOKEN", help="token the collector expects")
    parser.add_argument(
        "--tls-ca",
        type=Path,
        metavar="FILE",
        help="CA bundle of the collector's certificate (enables TLS)",
    )
    parser.add_argument("--state-dir", type=Path, metavar="DIR", help="checkpoint folder")
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")


def config_from_args(args: argparse.Namespace, **extra: Any) -> AgentConfig:
    """Load the config file named by --config (or $LOGSHIP_AGENT_CONFIG) with the CLI overrides."""
    path = getattr(args, "config", None) or config_path_from_env()
    overrides = {
        "collector": getattr(args, "collector", None),
        "token": getattr(args, "token", None),
        "tls_ca_file": getattr(args, "tls_ca", None),
        "state_dir": getattr(args, "state_dir", None),
        **extra,
    }
    overrides = {k: str(v) if isinstance(v, Path) else v for k, v in overrides.items()}
    try:
        return load_config(path, overrides=overrides)
    except ConfigError as exc:
        text = str(exc)
        if path is not None and str(path) not in text:
            raise ConfigError(f"{path}: {text}") from None
        raise


class _ProgressAwareHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Erases the progress line before printing a log line."""

    def __init__(self, progress: Progress | None) -> None:
        super().__init__(sys.stderr)
        self.progress = progress

    def emit(self, record: logging.LogRecord) -> None:
        if self.progress is not None:
            self.progress.clear()
        super().emit(record)


@contextlib.contextmanager
def logging_to_stderr(verbose: bool = False, progress: Progress | None = None) -> Iterator[None]:
    """Short `logship-agent: ...` log lines on stderr for the duration of a command:
    warnings by default, info with -v. Restores the previous logging setup afterwards."""
    handler = _ProgressAwareHandler(progress)
    handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
    logger = logging.getLogger("logship")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


_service_handler: logging.StreamHandler | None = None  # type: ignore[type-arg]


def setup_logging(verbose: bool = False) -> None:
    """Process-wide short log lines on stderr (for long-running commands such as `run`):
    warnings by default, info with -v. Idempotent; keeps propagation (pytest's caplog works)."""
    global _service_handler
    logger = logging.getLogger("logship")
    if _service_handler is None:
        _service_handler = logging.StreamHandler()
        _service_handler.setFormatter(logging.Formatter(f"{PROG}: %(message)s"))
    if _service_handler not in logger.handlers:
        logger.addHandler(_service_handler)
    _service_handler.setStream(sys.stderr)
    logger.setLevel(logging.INFO if verbose else logging.WARNING)


def fail(message: str, code: int = EXIT_FAILED) -> int:
    print(f"{PROG}: {message}", file=sys.stderr)
    return code


def run_async(main: Callable[[], Any]) -> Any:
    """asyncio.run(main()) where SIGTERM cancels the main task like Ctrl-C does."""

    async def wrapper() -> Any:
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        assert task is not None
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(signal.SIGTERM, task.cancel)
        return await main()

    return asyncio.run(wrapper())


# ----------------------------------------------------------------------------- send


def _configure_send(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE", help="log files to send")
    add_common_options(parser)
    parser.add_argument("--json", action="store_true", help="print a machine-readable summary")


def _human_bytes(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1000
    return f"{n} B"


def _print_summary(summary: Any) -> None:
    for f in summary.files:
        if f.status == "already sent":
            print(f"{f.path}: already sent, nothing to do")
        elif f.status == "empty":
            print(f"{f.path}: empty, nothing to send")
        elif len(summary.files) > 1:
            print(f"{f.path}: {f.status}, {f.lines:,} lines")
    if summary.batches or any(f.status == "sent" for f in summary.files):
        rate = summary.lines / summary.seconds if summary.seconds > 0 else 0.0
        line = (
            f"sent {summary.lines:,} lines in {summary.batches:,} batches, "
            f"{_human_bytes(summary.bytes)}, {summary.seconds:.1f} s ({rate:,.0f} lines/s)"
        )
        if summary.truncated_lines:
            line += f"; {summary.truncated_lines:,} over-long lines truncated"
        if summary.reconnects:
            line += f"; {summary.reconnects} reconnects, {summary.resent_batches} batches re-sent"
        print(line)


def _send(args: argparse.Namespace) -> int:
    from agent.send import SendFailed, send_files

    try:
        config = config_from_args(args)
    except ConfigError as exc:
        return fail(f"config error: {exc}", EXIT_USAGE)
    progress = Progress(sys.stderr, 0) if sys.stderr.isatty() else None
    with logging_to_stderr(args.verbose, progress):
        try:
            summary = run_async(lambda: send_files(args.files, config, progress=progress))
        except SendFailed as exc:
            if args.json:
                print(json.dumps({**exc.summary.as_dict(), "ok": False, "error": str(exc)}))
            return fail(str(exc))
        except ConfigError as exc:
            return fail(f"config error: {exc}", EXIT_USAGE)
        except (KeyboardInterrupt, asyncio.CancelledError):
            return fail(
                "interrupted. Nothing was lost: what the collector ACKed is checkpointed in "
                f"{config.state_path}; re-run the same command to resume."
            )
    if args.json:
        print(json.dumps(summary.as_dict()))
    else:
        _print_summary(summary)
    return EXIT_OK


SEND = Subcommand(
    name="send",
    help="ship files once and wait until the collector has ACKed every line",
    description=(
        "Ship log files to the collector once, in constant memory, and wait until every line is "
        "ACKed. Resumable: progress is checkpointed in the state folder by file identity, so a "
        "re-run after a crash sends only what was not ACKed, and a re-run on a finished file "
        "sends nothing.\n\nexample:\n  logship-agent send /var/log/syslog --collector "
        "logs.example.com:8888 --token s3cret"
    ),
    configure=_configure_send,
    handler=_send,
)


# ----------------------------------------------------------------------------- check-config


def _configure_check(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"agent TOML config file (default: ${CONFIG_ENV}, else defaults + environment)",
    )
    parser.add_argument("--json", action="store_true", help="print the effective settings as JSON")


def _shown(key: str, value: Any) -> Any:
    if key == "token" and value:
        return "(set)"
    if isinstance(value, Path):
        return str(value)
    return value


def _check_config(args: argparse.Namespace) -> int:
    path = args.config or config_path_from_env()
    try:
        config = config_from_args(args)
        _check_state_dir(config.state_path)
    except ConfigError as exc:
        return fail(f"config error: {exc}", EXIT_USAGE)
    values = {key: _shown(key, getattr(config, key)) for key, _, _ in describe(AgentConfig)}
    values["agent_id"] = config.agent
    values["state_dir"] = str(config.state_path)
    if args.json:
        print(json.dumps({"ok": True, "file": str(path) if path else None, "settings": values}))
        return EXIT_OK
    source = str(path) if path else "no config file (defaults and environment)"
    print(f"config OK: {source}")
    for key, value in values.items():
        print(f"  {key} = {value!r}" if isinstance(value, str) else f"  {key} = {value}")
    return EXIT_OK


def _check_state_dir(path: Path) -> None:
    probe = path
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"key 'state_dir': {path} is not writable by this user")


CHECK_CONFIG = Subcommand(
    name="check-config",
    help="check the agent configuration without starting anything",
    description=(
        "Load the configuration (file, .env, environment), check every key and print the "
        "effective settings.\n\nexample:\n  logship-agent check-config --config "
        "/etc/logship/agent.toml"
    ),
    configure=_configure_check,
    handler=_check_config,
)


# ----------------------------------------------------------------------------- main


def subcommands() -> list[Subcommand]:
    """Built-in subcommands and those of the extension modules that exist."""
    found = [SEND, CHECK_CONFIG]
    for name in EXTENSION_MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        sub = getattr(importlib.import_module(name), "SUBCOMMAND", None)
        if isinstance(sub, Subcommand):
            found.append(sub)
    return found


def _wrap(text: str, width: int = 78) -> str:
    """Fill the paragraphs written as one long line; keep pre-formatted ones (examples)."""
    return "\n\n".join(
        p if "\n" in p else textwrap.fill(p, width, break_on_hyphens=False)
        for p in text.split("\n\n")
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=(
            "The Logship agent: ships log files to a Logship collector.\n\n"
            "example:\n  logship-agent send app.log --collector 127.0.0.1:8888"
        ),
        epilog=EXIT_CODES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--version", action="version", version=f"{PROG} {__version__} (protocol {wire.VERSION})"
    )
    subs = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for sub in subcommands():
        child = subs.add_parser(
            sub.name,
            help=sub.help,
            description=_wrap(sub.description),
            epilog=EXIT_CODES,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        sub.configure(child)
        child.set_defaults(handler=sub.handler)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
