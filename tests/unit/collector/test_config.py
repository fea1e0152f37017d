"""CollectorConfig: defaults, seed environment names, TOML, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.config import CollectorConfig, load_config
from logship.config import describe
from logship.errors import ConfigError


def test_defaults() -> None:
    """Without a file or environment the documented defaults apply."""
    cfg = load_config(environ={}, dotenv=None)
    assert (cfg.host, cfg.port, cfg.broker_url, cfg.queue) == (
        "0.0.0.0",
        8888,
        "filesystem://",
        "logship",
    )
    assert cfg.storage_path == Path("data/received") and cfg.tokens == []
    assert cfg.max_frame_bytes == 4 * 1024 * 1024 and cfg.max_line_bytes == 64 * 1024
    assert cfg.window_batches == 8 and cfg.pool_processes == 0 and cfg.metrics_port == 0


def test_seed_environment_names() -> None:
    """HOST, PORT, STORAGE_PATH and BROKER_URL are honoured, as are LOGSHIP_* names."""
    env = {
        "HOST": "127.0.0.1",
        "PORT": "9999",
        "STORAGE_PATH": "/tmp/x",
        "BROKER_URL": "amqp://g:g@h//",
        "LOGSHIP_TOKENS": "a, b",
    }
    cfg = load_config(environ=env, dotenv=None)
    assert (cfg.host, cfg.port, cfg.storage_path, cfg.broker_url) == (
        "127.0.0.1",
        9999,
        Path("/tmp/x"),
        "amqp://g:g@h//",
    )
    assert cfg.tokens == ["a", "b"]


def test_toml_section_and_unknown_key(tmp_path: Path) -> None:
    """Keys come from [collector]; an unknown key is an error naming it and the file."""
    path = tmp_path / "logship.toml"
    path.write_text('[collector]\nport = 7000\ntokens = ["t"]\n[agent]\nwhatever = 1\n')
    cfg = load_config(path, environ={}, dotenv=None)
    assert cfg.port == 7000 and cfg.tokens == ["t"]
    path.write_text("[collector]\nprot = 7000\n")
    with pytest.raises(ConfigError, match="prot") as info:
        load_config(path, environ={}, dotenv=None)
    assert str(path) in str(info.value)


@pytest.mark.parametrize(
    "overrides",
    [
        {"port": 70000},
        {"window_batches": 0},
        {"slots": 0},
        {"pool_processes": -1},
        {"slot_bytes": 1024},
        {"max_line_bytes": 0},
        {"publish_timeout_s": 0},
        {"tls_cert_file": "/nonexistent.pem", "tls_key_file": "/nonexistent.key"},
        {"tls_cert_file": "/etc/hostname"},
        {"queue": ""},
        {"tokens": [""]},
        {"drop_patterns": ["(unclosed"]},
    ],
)
def test_invalid_values_are_config_errors(overrides: dict) -> None:
    """Values that cannot work are refused before anything starts."""
    with pytest.raises(ConfigError):
        load_config(environ={}, dotenv=None, overrides=overrides)


def test_every_key_has_a_doc() -> None:
    """Each key has a one-line doc (the basis of docs/configuration.md)."""
    for key, _default, doc in describe(CollectorConfig):
        assert doc and "\n" not in doc, key
