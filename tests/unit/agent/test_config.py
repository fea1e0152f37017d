"""Unit tests for agent.config: defaults, TOML loading, addresses and validation."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from agent.config import AgentConfig, default_state_dir, load_config, parse_address
from logship.errors import ConfigError


def _load(tmp_path: Path, text: str | None = None, **env: str) -> AgentConfig:
    path = None
    if text is not None:
        path = tmp_path / "agent.toml"
        path.write_text(text)
    return load_config(path, environ=env, dotenv=None)


def test_defaults(tmp_path: Path) -> None:
    """With nothing set: local collector, 1000 lines / 1 MiB batches, window 8, hostname id."""
    cfg = _load(tmp_path)
    assert cfg.address == ("127.0.0.1", 8888)
    assert (cfg.max_batch_lines, cfg.max_batch_bytes, cfg.max_line_bytes) == (1000, 2**20, 2**20)
    assert cfg.window_batches == 8 and cfg.token is None and not cfg.use_tls
    assert cfg.agent == socket.gethostname()
    assert cfg.state_path == default_state_dir()


def test_toml_top_level_keys_and_environment(tmp_path: Path) -> None:
    """Keys are read from the top level of the TOML file; LOGSHIP_<KEY> overrides them."""
    cfg = _load(
        tmp_path,
        'collector = "logs.example.com:9000"\ntoken = "s3cret"\nagent_id = "web-1"\n'
        'state_dir = "/tmp/x"\nwindow_batches = 3\n',
        LOGSHIP_WINDOW_BATCHES="5",
    )
    assert cfg.address == ("logs.example.com", 9000)
    assert (cfg.token, cfg.agent, cfg.state_path, cfg.window_batches) == (
        "s3cret",
        "web-1",
        Path("/tmp/x"),
        5,
    )


def test_state_dir_from_environment(tmp_path: Path) -> None:
    """LOGSHIP_STATE_DIR sets the checkpoint folder."""
    assert _load(tmp_path, LOGSHIP_STATE_DIR=str(tmp_path)).state_path == tmp_path


def test_default_state_dir_for_a_user_honours_xdg(monkeypatch: pytest.MonkeyPatch) -> None:
    """A normal user keeps state under $XDG_STATE_HOME (or ~/.local/state); root under /var/lib."""
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    assert default_state_dir({"XDG_STATE_HOME": "/s"}) == Path("/s/logship-agent")
    assert default_state_dir({}) == Path.home() / ".local/state/logship-agent"
    monkeypatch.setattr("os.geteuid", lambda: 0)
    assert default_state_dir({}) == Path("/var/lib/logship-agent")


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    """A misspelt key is refused with the key and the file named."""
    with pytest.raises(ConfigError, match=r"agent\.toml.*'colector'"):
        _load(tmp_path, 'colector = "x:1"\n')


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("h:1", ("h", 1)),
        ("h", ("h", 8888)),
        ("[::1]:9", ("::1", 9)),
        ("[::1]", ("::1", 8888)),
        (" 10.0.0.1:65535 ", ("10.0.0.1", 65535)),
    ],
)
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    """HOST:PORT, HOST and [IPv6]:PORT are understood; the port defaults to 8888."""
    assert parse_address(text) == expected


@pytest.mark.parametrize("text", ["", ":80", "h:0", "h:70000", "h:x", "::1:80", "[::1]x"])
def test_bad_addresses_are_config_errors(text: str) -> None:
    """A malformed collector address is a ConfigError naming the key."""
    with pytest.raises(ConfigError, match="collector"):
        parse_address(text)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("window_batches = 0\n", "window_batches"),
        ("max_batch_bytes = 5000000\n", "max_batch_bytes"),
        ('tls_cert_file = "/etc/hosts"\n', "tls_key_file"),
        ('tls_ca_file = "/nonexistent/ca.pem"\n', "tls_ca_file"),
        ('agent_id = "a|b"\n', "agent_id"),
        ("checkpoint_interval_s = -1\n", "checkpoint_interval_s"),
        ('collector = "h:99999"\n', "collector"),
    ],
)
def test_validation_names_the_key(tmp_path: Path, text: str, message: str) -> None:
    """Values that cannot work are refused before anything starts, naming the key."""
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, text)


def test_empty_token_means_no_token(tmp_path: Path) -> None:
    """An empty token (e.g. `LOGSHIP_TOKEN=` in .env) means no token at all."""
    assert _load(tmp_path, 'token = ""\n').token is None


def test_tls_is_implied_by_a_ca_file(tmp_path: Path) -> None:
    """Setting tls_ca_file turns TLS on."""
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    assert _load(tmp_path, f'tls_ca_file = "{ca}"\n').use_tls
