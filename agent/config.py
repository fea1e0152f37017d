"""The agent's configuration: one dataclass, loaded from the top level of a TOML file.

`load_config(path)` applies defaults < TOML (`/etc/logship/agent.toml` for the service) <
`.env` < environment (`LOGSHIP_<KEY>`) < command-line overrides, then validates.

Two keys have defaults that depend on the machine and are resolved by properties, so that the
generated configuration reference stays the same everywhere: `agent_id` (empty = the hostname,
see `AgentConfig.agent`) and `state_dir` (unset = `/var/lib/logship-agent` when running as
root, else `$XDG_STATE_HOME/logship-agent` or `~/.local/state/logship-agent`, see
`AgentConfig.state_path`).
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logship import config as cfgmod
from logship.config import doc_field
from logship.errors import ConfigError
from logship.wire import DEFAULT_MAX_FRAME_BYTES

DEFAULT_PORT = 8888
CONFIG_ENV = "LOGSHIP_AGENT_CONFIG"  # names a config file when --config is not given
SYSTEM_STATE_DIR = Path("/var/lib/logship-agent")
# Room left in a frame for msgpack headers, offsets and the other batch fields.
FRAME_MARGIN_BYTES = 64 * 1024


def default_state_dir(environ: Mapping[str, str] | None = None) -> Path:
    """Where checkpoints live when `state_dir` is unset."""
    environ = os.environ if environ is None else environ
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        return SYSTEM_STATE_DIR
    xdg = environ.get("XDG_STATE_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "state"
    return base / "logship-agent"


def parse_address(value: str, default_port: int = DEFAULT_PORT) -> tuple[str, int]:
    """`HOST:PORT`, `HOST`, `[v6]:PORT` -> (host, port). Raises ConfigError."""
    text = value.strip()
    if not text:
        raise ConfigError("key 'collector': expected HOST:PORT, got an empty value")
    if text.startswith("["):
        host, sep, rest = text[1:].partition("]")
        if not sep or (rest and not rest.startswith(":")):
            raise ConfigError(f"key 'collector': expected [IPV6]:PORT, got {value!r}")
        port_text = rest[1:] if rest else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    elif ":" in text:
        raise ConfigError(f"key 'collector': write an IPv6 address as [ADDR]:PORT, got {value!r}")
    else:
        host, port_text = text, ""
    if not host:
        raise ConfigError(f"key 'collector': expected HOST:PORT, the host is missing in {value!r}")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) <= 65535:
        raise ConfigError(f"key 'collector': port must be 1-65535, got {port_text!r} in {value!r}")
    return host, int(port_text)


@dataclass
class AgentConfig:
    collector: str = doc_field("127.0.0.1:8888", "collector address, HOST:PORT")
    token: str | None = doc_field(None, "shared token sent in HELLO (unset = no token)")
    tls: bool = doc_field(False, "connect with TLS (implied by tls_ca_file or tls_cert_file)")
    tls_ca_file: Path | None = doc_field(
        None, "CA bundle that signed the collector's certificate (unset = system CAs)"
    )
    tls_cert_file: Path | None = doc_field(None, "client certificate (PEM) for collectors that ask")
    tls_key_file: Path | None = doc_field(None, "private key of tls_cert_file (PEM)")
    tls_server_name: str | None = doc_field(
        None, "name expected in the collector's certificate (unset = the collector host)"
    )
    agent_id: str = doc_field("", "agent name sent in HELLO and batch ids (empty = hostname)")
    state_dir: Path | None = doc_field(
        None,
        "checkpoint folder (unset = /var/lib/logship-agent as root, "
        "else ~/.local/state/logship-agent)",
    )
    max_batch_lines: int = doc_field(1000, "most lines (events) in one batch")
    max_batch_bytes: int = doc_field(1024 * 1024, "most line bytes in one batch")
    max_line_bytes: int = doc_field(
        1024 * 1024, "longer lines are cut to this many bytes, counted, and the rest skipped"
    )
    batch_age_s: float = doc_field(1.0, "a batch that is not full is sent after this many seconds")
    window_batches: int = doc_field(
        8, "most unacknowledged batches in flight (the collector may lower it)"
    )
    read_chunk_bytes: int = doc_field(64 * 1024, "bytes read from a file at a time")
    connect_timeout_s: float = doc_field(10.0, "time allowed to connect and exchange HELLO")
    ack_timeout_s: float = doc_field(
        60.0, "reconnect (and resend) when the collector answers nothing for this long"
    )
    ping_interval_s: float = doc_field(15.0, "send a PING after this long without traffic")
    retry_max_attempts: int = doc_field(
        5, "connection attempts before `send` gives up (`run` retries forever)"
    )
    retry_backoff_initial_s: float = doc_field(0.5, "first wait between connection attempts")
    retry_backoff_max_s: float = doc_field(30.0, "longest wait between connection attempts")
    checkpoint_interval_s: float = doc_field(
        1.0, "most time between checkpoint writes after ACKs (0 = write after every ACK)"
    )
    checkpoint_expire_s: float = doc_field(
        7 * 86400.0, "forget checkpoints of files not seen for this long"
    )
    shutdown_timeout_s: float = doc_field(
        10.0, "on SIGTERM, how long in-flight batches may take to be ACKed"
    )
    # `logship-agent run` (agent/run.py, agent/inputs.py): what to tail and how.
    inputs: list[dict[str, Any]] = doc_field(
        [], "run: files to tail, [[inputs]] tables (paths, exclude, fields, multiline, ...)"
    )
    rescan_interval_s: float = doc_field(
        10.0, "run: rescan the globs and stat tailed files this often (inotify's fallback)"
    )
    rotate_wait_s: float = doc_field(
        2.0,
        "run: keep reading a rotated or deleted file this long after its last write (a new "
        "file shorter than 1 KiB waits this long, a copy of a tailed file 5 times this long)",
    )
    close_inactive_s: float = doc_field(
        300.0,
        "run: close a file that has not grown for this long once all of it is acknowledged; "
        "it is opened again from its checkpoint when it changes (0 = keep every file open)",
    )
    linger_renamed_s: float = doc_field(
        300.0,
        "run: keep a renamed (rotated) file open and read it this long after its last write, "
        "for a program that still writes to it before reopening its log (0 = close it after "
        "`rotate_wait_s`)",
    )
    metrics_port: int = doc_field(0, "run: serve Prometheus metrics on this port (0 = off)")
    metrics_host: str = doc_field("127.0.0.1", "run: address the metrics server listens on")

    def validate(self) -> None:
        """Raise ConfigError when a value cannot work."""
        parse_address(self.collector)
        cfgmod.require_positive(self, "rescan_interval_s", "rotate_wait_s")
        if self.close_inactive_s < 0:
            raise ConfigError(f"key 'close_inactive_s' must be >= 0 (got {self.close_inactive_s})")
        if self.linger_renamed_s < 0:
            raise ConfigError(f"key 'linger_renamed_s' must be >= 0 (got {self.linger_renamed_s})")
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"key 'metrics_port' must be 0-65535 (got {self.metrics_port})")
        from agent.inputs import input_configs  # here: agent.inputs imports this module

        input_configs(self.inputs)
        cfgmod.require_positive(
            self,
            "max_batch_lines",
            "max_batch_bytes",
            "max_line_bytes",
            "batch_age_s",
            "window_batches",
            "read_chunk_bytes",
            "connect_timeout_s",
            "ack_timeout_s",
            "ping_interval_s",
            "retry_max_attempts",
            "retry_backoff_initial_s",
            "retry_backoff_max_s",
            "shutdown_timeout_s",
            "checkpoint_expire_s",
        )
        if self.checkpoint_interval_s < 0:
            raise ConfigError(
                f"key 'checkpoint_interval_s' must be >= 0 (got {self.checkpoint_interval_s})"
            )
        limit = DEFAULT_MAX_FRAME_BYTES - FRAME_MARGIN_BYTES
        for name in ("max_batch_bytes", "max_line_bytes"):
            if getattr(self, name) > limit:
                raise ConfigError(
                    f"key {name!r} ({getattr(self, name)}) must be <= {limit}: a batch has to "
                    f"fit in the collector's {DEFAULT_MAX_FRAME_BYTES}-byte frame limit"
                )
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ConfigError("keys 'tls_cert_file' and 'tls_key_file' must be set together")
        for name in ("tls_ca_file", "tls_cert_file", "tls_key_file"):
            value = getattr(self, name)
            if value is not None and not Path(value).is_file():
                raise ConfigError(f"key {name!r}: file {value} not found")
        if any(c in self.agent_id for c in "|\n"):
            raise ConfigError(f"key 'agent_id' must not contain '|' or newlines: {self.agent_id!r}")

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) of the collector."""
        return parse_address(self.collector)

    @property
    def agent(self) -> str:
        """The agent id actually used: `agent_id`, or the hostname when empty."""
        return self.agent_id or socket.gethostname()

    @property
    def state_path(self) -> Path:
        """The state folder actually used."""
        return Path(self.state_dir) if self.state_dir is not None else default_state_dir()

    @property
    def use_tls(self) -> bool:
        return self.tls or self.tls_ca_file is not None or self.tls_cert_file is not None


def config_path_from_env(environ: Mapping[str, str] | None = None) -> Path | None:
    """The config file named by LOGSHIP_AGENT_CONFIG, if any."""
    value = (os.environ if environ is None else environ).get(CONFIG_ENV)
    return Path(value).expanduser() if value else None


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv: Path | None = Path(".env"),
    overrides: Mapping[str, Any] | None = None,
) -> AgentConfig:
    """Load and validate the agent configuration (raises ConfigError naming file and key)."""
    return cfgmod.load(AgentConfig, path=path, environ=environ, dotenv=dotenv, overrides=overrides)
