"""The worker role's configuration: one dataclass, every key with a default, a unit and a doc.

Loaded by `load_config()` from defaults < the `[worker]` table of the TOML file named by
`LOGSHIP_CONFIG` (if set) < `.env` < the environment (`LOGSHIP_<KEY>`, plus the seed names
`DATABASE_URL` and `BROKER_URL`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from logship.config import doc_field, load
from logship.database_url import DEFAULT_DATABASE_URL
from logship.errors import ConfigError

CONFIG_ENV = "LOGSHIP_CONFIG"
SECTION = "worker"


@dataclass
class WorkerConfig:
    """Settings of a Celery worker that stores cleaned batches in PostgreSQL."""

    database_url: str = doc_field(
        DEFAULT_DATABASE_URL,
        "PostgreSQL URL the workers store batches in.",
        env=("DATABASE_URL",),
    )
    broker_url: str = doc_field(
        "filesystem://",
        "Celery broker URL: amqp://..., redis://... or filesystem:// (embedded default).",
        env=("BROKER_URL",),
    )
    broker_dir: Path = doc_field(
        Path("data/broker"), "Folder of the filesystem broker (used only with filesystem://)."
    )
    queue: str = doc_field("logship", "Celery queue the cleaned batches are published to.")
    concurrency: int = doc_field(0, "Worker processes per `logship-worker` (0 = one per core).")
    db_pool_size: int = doc_field(2, "PostgreSQL connections per worker process.")
    db_connect_timeout_s: float = doc_field(10.0, "Timeout of one PostgreSQL connection attempt.")
    db_command_timeout_s: float = doc_field(120.0, "Timeout of one PostgreSQL statement or COPY.")
    retry_backoff_base_s: float = doc_field(
        1.0, "First retry delay after a connection error; doubles on every retry."
    )
    retry_backoff_max_s: float = doc_field(
        60.0, "Upper bound of the retry delay after connection errors (jitter included)."
    )
    retry_wait_in_task: bool = doc_field(
        True,
        "Wait out retry delays inside the task (backpressure) instead of as Celery ETA tasks.",
    )
    apply_schema: bool = doc_field(True, "Apply schema.sql (idempotent) when a worker starts.")
    mine_templates: bool = doc_field(
        True, "Assign a log template (log_templates.id) to every event before it is stored."
    )
    detect_interval_s: float = doc_field(
        60.0,
        "Seconds between periodic anomaly-detection runs (needs `-B` or `celery beat`; 0 = off).",
    )
    retention_keep_days: int = doc_field(
        0, "Drop log_events day partitions older than this many days, hourly (0 = keep all)."
    )
    metrics_port: int = doc_field(0, "Port serving Prometheus metrics (0 = off).")
    metrics_host: str = doc_field("127.0.0.1", "Address the metrics port listens on.")

    def validate(self) -> None:
        """Raise ConfigError naming the key when a value cannot work."""
        if not self.database_url.startswith(("postgres://", "postgresql://")):
            raise ConfigError(
                f"key 'database_url' must be a postgresql:// URL (got {self.database_url!r})"
            )
        if "://" not in self.broker_url:
            raise ConfigError(f"key 'broker_url' must be a URL (got {self.broker_url!r})")
        if not self.queue.strip():
            raise ConfigError("key 'queue' must not be empty")
        if self.concurrency < 0:
            raise ConfigError(f"key 'concurrency' must be >= 0 (got {self.concurrency})")
        for name in (
            "db_pool_size",
            "db_connect_timeout_s",
            "db_command_timeout_s",
            "retry_backoff_base_s",
            "retry_backoff_max_s",
        ):
            if getattr(self, name) <= 0:
                raise ConfigError(f"key {name!r} must be > 0 (got {getattr(self, name)!r})")
        if self.retry_backoff_base_s > self.retry_backoff_max_s:
            raise ConfigError(
                "key 'retry_backoff_base_s' must not exceed 'retry_backoff_max_s' "
                f"({self.retry_backoff_base_s} > {self.retry_backoff_max_s})"
            )
        if not 0 <= self.metrics_port <= 65535:
            raise ConfigError(f"key 'metrics_port' must be 0..65535 (got {self.metrics_port})")


def load_config(
    environ: Mapping[str, str] | None = None, dotenv: Path | None = Path(".env")
) -> WorkerConfig:
    """The worker configuration from `LOGSHIP_CONFIG`'s `[worker]` table, `.env` and environ."""
    env = os.environ if environ is None else environ
    path = env.get(CONFIG_ENV) or None
    return load(
        WorkerConfig,
        path=Path(path) if path else None,
        section=SECTION,
        environ=env,
        dotenv=dotenv,
    )
