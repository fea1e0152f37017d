"""`logship-collector`: run the collector, or check its configuration.

Exit codes: 0 done (stopped cleanly, or the configuration is valid), 1 failed at run time
(port in use, pool could not start), 2 usage or configuration error.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from collector.config import CollectorConfig, load_config
from logship import logs
from logship.config import describe
from logship.errors import ConfigError

try:
    from importlib.metadata import version as _version

    VERSION = _version("logship")
except Exception:  # noqa: BLE001 - running from a tree that is not installed
    VERSION = "0.0.0"

EXAMPLE = """\
examples:
  logship-collector --port 8888 --broker-url amqp://guest:guest@127.0.0.1:5672//
  logship-collector --config /etc/logship/logship.toml check-config

Settings come from the [collector] table of --config, then .env and the environment
(LOGSHIP_<KEY>, and HOST, PORT, STORAGE_PATH, BROKER_URL), then these options.
Exit codes: 0 stopped cleanly / config valid, 1 failed while running, 2 usage or config error.
"""

# option name -> config key (options left unset do not override)
_OPTIONS: dict[str, tuple[str, type, str]] = {
    "--host": ("host", str, "address to listen on"),
    "--port": ("port", int, "TCP port for agents (0 = any free port)"),
    "--storage-path": ("storage_path", str, "folder for the archive of received lines"),
    "--broker-url": ("broker_url", str, "Celery broker URL"),
    "--broker-dir": ("broker_dir", str, "folder of the filesystem broker"),
    "--queue": ("queue", str, "Celery queue for cleaned batches"),
    "--pool-processes": ("pool_processes", int, "pre-filter processes (0 = one per core)"),
    "--metrics-port": ("metrics_port", int, "port for /metrics and /healthz (0 = off)"),
    "--tls-cert": ("tls_cert_file", str, "server certificate (PEM)"),
    "--tls-key": ("tls_key_file", str, "server private key (PEM)"),
    "--tls-client-ca": ("tls_client_ca_file", str, "CA to verify agent certificates"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="logship-collector",
        description="Receive logs from Logship agents, clean and parse them, and publish "
        "them to the Celery workers.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {VERSION}")
    parser.add_argument("--config", "-c", type=Path, help="TOML file with a [collector] table")
    for flag, (key, kind, help_text) in _OPTIONS.items():
        parser.add_argument(flag, dest=key, type=kind, default=None, help=help_text)
    parser.add_argument(
        "--token",
        dest="tokens",
        action="append",
        default=None,
        help="accepted agent token (repeatable; none = no authentication)",
    )
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING or ERROR")
    parser.add_argument(
        "command",
        nargs="?",
        default="run",
        choices=("run", "check-config", "show-config"),
        help="run (default); check-config validates and exits; show-config prints every key",
    )
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    keys = [key for key, _, _ in _OPTIONS.values()] + ["tokens"]
    return {key: getattr(args, key) for key in keys if getattr(args, key) is not None}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logs.configure(getattr(logging, str(args.log_level).upper(), logging.INFO))
    try:
        cfg = load_config(args.config, overrides=_overrides(args))
    except ConfigError as exc:
        print(f"logship-collector: configuration error: {exc}", file=sys.stderr)
        return 2
    if args.command == "check-config":
        print(f"configuration OK ({args.config or 'defaults and environment'})")
        return 0
    if args.command == "show-config":
        for key, _default, doc in describe(CollectorConfig):
            print(f"{key} = {getattr(cfg, key)!r}  # {doc}")
        return 0
    from collector.server import run

    try:
        return run(cfg)
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(
            f"logship-collector: cannot start (listening on {cfg.host}:{cfg.port}, storage "
            f"{cfg.storage_path}): {exc}. Nothing was received; free the port (or choose "
            "another with --port) or fix the folder, then start again.",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # noqa: BLE001
        logging.getLogger("logship.collector").exception("Collector failed.")
        print(f"logship-collector: failed: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
