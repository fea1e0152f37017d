"""`logship-agent run`: the command line of the tailing agent (the work is `agent.runner`).

    logship-agent run --config /etc/logship/agent.toml
    logship-agent run --path '/var/log/app/*.log' --collector HOST:PORT [--state-dir DIR]

The configuration is checked before anything starts (exit 2 with the file and the key on a
mistake). SIGTERM/SIGINT stop cleanly (exit 0), SIGHUP reloads the configuration file: a bad
one is refused with a message and the running configuration is kept. Exit 1 when the
collector refuses the token.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import resource
import signal
import sys
from typing import Any

from agent.cli import EXIT_USAGE, Subcommand, add_common_options, fail, setup_logging
from agent.inputs import RunConfig, load_run_config
from agent.runner import Runner
from logship.errors import ConfigError


def _raise_nofile_limit() -> None:
    """Many files are tailed at once: use the hard limit of open files."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# ----------------------------------------------------------------------------- command line


def _configure(parser: argparse.ArgumentParser) -> None:
    add_common_options(parser)
    parser.add_argument(
        "--path",
        action="append",
        metavar="GLOB",
        help="tail files matching GLOB (repeatable; replaces the config's [[inputs]])",
    )
    parser.add_argument("--exclude", action="append", metavar="GLOB", help="do not tail these")
    parser.add_argument(
        "--multiline", metavar="RULE", help="python, java or a first-line regex (with --path)"
    )
    parser.add_argument(
        "--start-at", choices=("beginning", "end"), help="where to start in files found at start"
    )
    parser.add_argument(
        "--field",
        action="append",
        metavar="KEY=VALUE",
        help="field added to every event (with --path; repeatable)",
    )
    parser.add_argument("--metrics-port", type=int, metavar="PORT", help="serve metrics here")


def overrides_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """Config overrides from the command line (quick use: --path builds the only input)."""
    out: dict[str, Any] = {
        "collector": args.collector,
        "token": args.token,
        "tls_ca_file": None if args.tls_ca is None else str(args.tls_ca),
        "state_dir": None if args.state_dir is None else str(args.state_dir),
        "metrics_port": args.metrics_port,
    }
    if args.path:
        table: dict[str, Any] = {"paths": list(args.path)}
        if args.exclude:
            table["exclude"] = list(args.exclude)
        if args.multiline:
            table["multiline"] = args.multiline
        if args.start_at:
            table["start_at"] = args.start_at
        if args.field:
            fields = {}
            for item in args.field:
                key, sep, value = item.partition("=")
                if not sep or not key:
                    raise ConfigError(f"option --field: expected KEY=VALUE, got {item!r}")
                fields[key] = value
            table["fields"] = fields
        out["inputs"] = [table]
    elif args.exclude or args.multiline or args.start_at or args.field:
        raise ConfigError("options --exclude, --multiline, --start-at and --field need --path")
    return out


def _run(args: argparse.Namespace) -> int:
    setup_logging(args.verbose)
    try:
        overrides = overrides_from_args(args)
        config = load_run_config(args.config, overrides=overrides)
        if not config.inputs:
            raise ConfigError(
                "nothing to tail: give --path GLOB, or [[inputs]] tables in the config file"
            )
        config.state_path.mkdir(parents=True, exist_ok=True)
    except ConfigError as exc:
        return fail(f"config error: {exc}", EXIT_USAGE)
    except OSError as exc:
        return fail(f"config error: key 'state_dir': {exc}", EXIT_USAGE)
    _raise_nofile_limit()

    def reload() -> RunConfig:
        new = load_run_config(args.config, overrides=overrides)
        if not new.inputs:
            raise ConfigError("the new configuration has no [[inputs]]")
        return new

    runner = Runner(config, reload=reload)

    async def main() -> int:
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGTERM, runner.request_stop)
        loop.add_signal_handler(signal.SIGINT, runner.request_stop)
        loop.add_signal_handler(signal.SIGHUP, runner.request_reload)
        try:
            return await runner.run()
        finally:
            await runner.aclose_client()

    try:
        return asyncio.run(main())
    except ConfigError as exc:
        return fail(f"config error: {exc}", EXIT_USAGE)


SUBCOMMAND = Subcommand(
    name="run",
    help="tail log files continuously and ship every new line (the service)",
    description=(
        "Tail log files and ship them continuously, without losing or duplicating a line: "
        "follows rotation (rename and copytruncate), resumes from checkpoints after a restart, "
        "joins multiline events, pauses reading while the collector is down. SIGTERM stops "
        "cleanly, SIGHUP reloads the configuration.\n\nexamples:\n"
        "  logship-agent run --config /etc/logship/agent.toml\n"
        "  logship-agent run --path '/var/log/app/*.log' --collector logs.example.com:8888"
    ),
    configure=_configure,
    handler=_run,
)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_run(argparse.ArgumentParser().parse_args()))
