"""The analysis settings: defaults, environment, TOML, validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.config import AnalysisConfig, load_config
from logship.config import describe
from logship.errors import ConfigError


def test_every_key_has_a_default_and_a_doc() -> None:
    """describe() lists each key with its default and a one-line doc."""
    for name, default, doc in describe(AnalysisConfig):
        assert default is not None and doc and "\n" not in doc, name


def test_environment_and_file_override_defaults(tmp_path: Path) -> None:
    """[analysis] in the file, then LOGSHIP_* variables, override the defaults."""
    path = tmp_path / "logship.toml"
    path.write_text("[analysis]\nwindow_s = 60\nsensitivity_z = 5.5\n")
    cfg = load_config(
        path,
        environ={"LOGSHIP_BASELINE_WINDOWS": "24", "DATABASE_URL": "postgresql://x/y"},
        dotenv=None,
    )
    assert (cfg.window_s, cfg.sensitivity_z, cfg.baseline_windows) == (60, 5.5, 24)
    assert cfg.database_url == "postgresql://x/y"


def test_unknown_key_names_the_key_and_file(tmp_path: Path) -> None:
    """A typo in [analysis] is an error naming the key and the file."""
    path = tmp_path / "logship.toml"
    path.write_text("[analysis]\nwindow = 60\n")
    with pytest.raises(ConfigError, match="'window'.*|logship.toml"):
        load_config(path, environ={}, dotenv=None)


@pytest.mark.parametrize(
    ("key", "value"),
    [("window_s", "0"), ("min_history_windows", "99"), ("min_error_rate_increase", "2")],
)
def test_invalid_values_are_rejected(key: str, value: str) -> None:
    """Values that cannot work raise ConfigError naming the key."""
    with pytest.raises(ConfigError, match=key):
        load_config(environ={f"LOGSHIP_{key.upper()}": value}, dotenv=None)
