"""The collector's configuration: one dataclass, loaded from `[collector]` of a TOML file.

`load_config(path)` applies defaults < TOML < `.env` < environment (`LOGSHIP_<KEY>`, and the
seed's `HOST`, `PORT`, `STORAGE_PATH`, `BROKER_URL`) < command-line overrides.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from logship import config as cfgmod
from logship.config import doc_field
from logship.errors import ConfigError
from logship.wire import DEFAULT_MAX_FRAME_BYTES

SECTION = "collector"


@dataclass
class CollectorConfig:
    host: str = doc_field("0.0.0.0", "address to listen on for agents", env=("HOST",))
    port: int = doc_field(
        8888, "TCP port to listen on for agents (0 = any free port)", env=("PORT",)
    )
    storage_path: Path = doc_field(
        Path("data/received"),
        "folder where received lines are archived per agent and source",
        env=("STORAGE_PATH",),
    )
    broker_url: str = doc_field(
        "filesystem://", "Celery broker URL (amqp://, redis://, filesystem://)", env=("BROKER_URL",)
    )
    broker_dir: Path = doc_field(
        Path("data/broker"), "folder of the filesystem broker transport (filesystem:// only)"
    )
    queue: str = doc_field("logship", "Celery queue the cleaned batches are published to")
    tokens: list[str] = doc_field([], "accepted agent tokens; empty = no authentication")
    tls_cert_file: Path | None = doc_field(None, "server certificate (PEM); TLS is on when set")
    tls_key_file: Path | None = doc_field(None, "private key of tls_cert_file (PEM)")
    tls_client_ca_file: Path | None = doc_field(
        None, "CA bundle to verify agent certificates; client certificates required when set"
    )
    window_batches: int = doc_field(8, "unacknowledged batches allowed per connection")
    pool_processes: int = doc_field(0, "pre-filter processes (0 = one per CPU core)")
    slot_bytes: int = doc_field(
        DEFAULT_MAX_FRAME_BYTES, "size of one shared-memory slot (>= max_frame_bytes)"
    )
    slots: int = doc_field(16, "shared-memory slots: batches being processed at once, in total")
    max_frame_bytes: int = doc_field(
        DEFAULT_MAX_FRAME_BYTES, "largest frame body accepted from an agent"
    )
    max_line_bytes: int = doc_field(
        64 * 1024, "longer lines are truncated to this many bytes (and counted)"
    )
    publish_timeout_s: float = doc_field(
        30.0, "how long to retry publishing a batch before answering UNAVAILABLE"
    )
    shutdown_timeout_s: float = doc_field(
        20.0, "on SIGTERM, how long in-flight batches may take before exiting"
    )
    hello_timeout_s: float = doc_field(
        30.0, "a connection that sends no HELLO within this time is closed"
    )
    drop_patterns: list[str] = doc_field(
        [],
        "regular expressions (Python `re`, searched in the cleaned text): a line or multiline "
        "event that matches one is dropped and counted as `filtered` (in the environment: a "
        "JSON array, or comma-separated)",
    )
    metrics_port: int = doc_field(0, "port for Prometheus /metrics and /healthz (0 = off)")
    metrics_host: str = doc_field("127.0.0.1", "address the metrics endpoint listens on")

    def validate(self) -> None:
        """Raise ConfigError when a value cannot work."""
        cfgmod.require_positive(
            self,
            "window_batches",
            "slot_bytes",
            "slots",
            "max_frame_bytes",
            "max_line_bytes",
            "publish_timeout_s",
            "shutdown_timeout_s",
            "hello_timeout_s",
        )
        for name in ("port", "metrics_port"):
            value = getattr(self, name)
            if not 0 <= value <= 65535:
                raise ConfigError(f"key {name!r} must be a TCP port 0-65535 (got {value})")
        if self.pool_processes < 0:
            raise ConfigError(f"key 'pool_processes' must be >= 0 (got {self.pool_processes})")
        if self.slot_bytes < self.max_frame_bytes:
            raise ConfigError(
                f"key 'slot_bytes' ({self.slot_bytes}) must be >= max_frame_bytes "
                f"({self.max_frame_bytes}): a whole frame body has to fit in one slot"
            )
        if not self.queue:
            raise ConfigError("key 'queue' must not be empty")
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ConfigError("keys 'tls_cert_file' and 'tls_key_file' must be set together")
        if self.tls_client_ca_file is not None and self.tls_cert_file is None:
            raise ConfigError("key 'tls_client_ca_file' needs tls_cert_file and tls_key_file")
        for name in ("tls_cert_file", "tls_key_file", "tls_client_ca_file"):
            value = getattr(self, name)
            if value is not None and not Path(value).is_file():
                raise ConfigError(f"key {name!r}: file {value} not found")
        if any(not t for t in self.tokens):
            raise ConfigError("key 'tokens' must not contain empty tokens")
        from collector.clean import compile_filter  # here: clean is pure, config is loaded first

        compile_filter(self.drop_patterns)

    @property
    def tls(self) -> bool:
        return self.tls_cert_file is not None


def load_config(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv: Path | None = Path(".env"),
    overrides: Mapping[str, Any] | None = None,
) -> CollectorConfig:
    """Load and validate the collector configuration (raises ConfigError)."""
    return cfgmod.load(
        CollectorConfig,
        path=path,
        section=SECTION,
        environ=environ,
        dotenv=dotenv,
        overrides=overrides,
    )
