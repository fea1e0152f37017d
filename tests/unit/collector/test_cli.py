"""logship-collector's command line: help, version, config checks, exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from collector.cli import main
from collector.metrics import render


def test_help_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    """--help exits 0 and shows a real example."""
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "logship-collector --port 8888" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the version and exits 0."""
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert "logship-collector" in capsys.readouterr().out


def test_check_config_ok(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-config with a valid file exits 0."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.toml"
    path.write_text("[collector]\nport = 9000\n")
    assert main(["--config", str(path), "check-config"]) == 0
    assert "configuration OK" in capsys.readouterr().out


def test_check_config_error_exits_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A wrong key exits 2 and names the key and the file."""
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "c.toml"
    path.write_text("[collector]\nportt = 9000\n")
    assert main(["--config", str(path), "check-config"]) == 2
    err = capsys.readouterr().err
    assert "portt" in err and str(path) in err


def test_usage_error_exits_2() -> None:
    """An unknown option is a usage error (exit 2)."""
    with pytest.raises(SystemExit) as info:
        main(["--no-such-option"])
    assert info.value.code == 2


def test_options_override(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Command-line options override the file and environment."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PORT", "1111")
    assert main(["--port", "2222", "--token", "a", "--token", "b", "show-config"]) == 0
    out = capsys.readouterr().out
    assert "port = 2222" in out and "tokens = ['a', 'b']" in out


def test_metric_names() -> None:
    """Metric names share one prefix; counters end in _total."""
    text = render().decode()
    types = [line.split()[2:4] for line in text.splitlines() if line.startswith("# TYPE")]
    assert len(types) >= 10
    for name, kind in types:
        assert name.startswith("logship_collector_")
        if kind == "counter":
            assert name.endswith("_total"), name
