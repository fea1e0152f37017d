"""Unit tests of workers.config.WorkerConfig loading and validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from logship.config import describe
from logship.errors import ConfigError
from workers.config import DEFAULT_DATABASE_URL, WorkerConfig, load_config


def test_defaults() -> None:
    """Without settings the worker uses the embedded defaults."""
    cfg = load_config(environ={}, dotenv=None)
    assert cfg.database_url == DEFAULT_DATABASE_URL
    assert cfg.broker_url == "filesystem://"
    assert cfg.broker_dir == Path("data/broker")
    assert cfg.queue == "logship"
    assert cfg.concurrency == 0
    assert cfg.apply_schema is True
    assert cfg.metrics_port == 0


def test_environment_names() -> None:
    """DATABASE_URL and BROKER_URL are read; LOGSHIP_DATABASE_URL wins over DATABASE_URL."""
    cfg = load_config(
        environ={"DATABASE_URL": "postgresql://a/x", "BROKER_URL": "amqp://guest@mq//"},
        dotenv=None,
    )
    assert cfg.database_url == "postgresql://a/x"
    assert cfg.broker_url == "amqp://guest@mq//"
    cfg = load_config(
        environ={"DATABASE_URL": "postgresql://a/x", "LOGSHIP_DATABASE_URL": "postgresql://b/y"},
        dotenv=None,
    )
    assert cfg.database_url == "postgresql://b/y"


def test_typed_values_from_environment() -> None:
    """Environment strings are converted to the field types."""
    cfg = load_config(
        environ={
            "LOGSHIP_APPLY_SCHEMA": "false",
            "LOGSHIP_CONCURRENCY": "3",
            "LOGSHIP_RETRY_BACKOFF_MAX_S": "2.5",
        },
        dotenv=None,
    )
    assert cfg.apply_schema is False
    assert cfg.concurrency == 3
    assert cfg.retry_backoff_max_s == 2.5


def test_dotenv_and_toml(tmp_path: Path) -> None:
    """The [worker] table of LOGSHIP_CONFIG and `.env` are read; the environment wins."""
    toml = tmp_path / "logship.toml"
    toml.write_text('[worker]\nqueue = "q1"\ndb_pool_size = 5\n')
    dotenv = tmp_path / ".env"
    dotenv.write_text("BROKER_URL=redis://127.0.0.1:6379/0\nLOGSHIP_QUEUE=q2\n")
    cfg = load_config(environ={"LOGSHIP_CONFIG": str(toml)}, dotenv=dotenv)
    assert cfg.db_pool_size == 5
    assert cfg.queue == "q2"
    assert cfg.broker_url == "redis://127.0.0.1:6379/0"


def test_unknown_toml_key_names_key_and_file(tmp_path: Path) -> None:
    """An unknown key is an error naming the key and the file."""
    toml = tmp_path / "logship.toml"
    toml.write_text("[worker]\nqueu = 'x'\n")
    with pytest.raises(ConfigError, match="queu") as info:
        load_config(environ={"LOGSHIP_CONFIG": str(toml)}, dotenv=None)
    assert str(toml) in str(info.value)


@pytest.mark.parametrize(
    ("var", "value", "key"),
    [
        ("LOGSHIP_DATABASE_URL", "mysql://x", "database_url"),
        ("LOGSHIP_QUEUE", " ", "queue"),
        ("LOGSHIP_CONCURRENCY", "-1", "concurrency"),
        ("LOGSHIP_DB_POOL_SIZE", "0", "db_pool_size"),
        ("LOGSHIP_RETRY_BACKOFF_MAX_S", "0", "retry_backoff_max_s"),
        ("LOGSHIP_METRICS_PORT", "70000", "metrics_port"),
        ("LOGSHIP_APPLY_SCHEMA", "maybe", "LOGSHIP_APPLY_SCHEMA"),
    ],
)
def test_invalid_values_name_the_key(var: str, value: str, key: str) -> None:
    """Impossible values raise ConfigError naming the key."""
    with pytest.raises(ConfigError, match=key):
        load_config(environ={var: value}, dotenv=None)


def test_every_key_documented() -> None:
    """Every key has a one-line doc."""
    for name, _default, doc in describe(WorkerConfig):
        assert doc and "\n" not in doc, name
