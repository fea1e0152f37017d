"""Unit tests for agent.cli: --version, --help, exit codes, check-config, the subcommand hook."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent import cli
from logship import __version__


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = cli.main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LOGSHIP_AGENT_CONFIG", "LOGSHIP_COLLECTOR", "LOGSHIP_TOKEN", "LOGSHIP_STATE_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """`--version` prints the version and the protocol version."""
    code, out, _ = _run(capsys, "--version")
    assert code == 0 and out.strip() == f"logship-agent {__version__} (protocol 1)"


def test_help_documents_exit_codes_and_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    """`send --help` shows its purpose, a real example and the exit codes 0/1/2."""
    code, out, _ = _run(capsys, "send", "--help")
    assert code == 0
    assert "example:" in out and "logship-agent send /var/log/syslog" in out
    for text in ("0  done", "1  failed", "2  usage or configuration error"):
        assert text in out
    for option in ("--collector", "--token", "--tls-ca", "--state-dir", "--json", "--config"):
        assert option in out


def test_usage_error_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A missing FILE argument is a usage error: exit 2."""
    code, _, err = _run(capsys, "send")
    assert code == 2 and "FILE" in err


def test_send_with_bad_config_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """A config mistake is caught before anything starts: exit 2 naming file and key."""
    conf = tmp_path / "agent.toml"
    conf.write_text("window_batchez = 3\n")
    code, _, err = _run(capsys, "send", str(tmp_path / "x.log"), "--config", str(conf))
    assert code == 2 and "agent.toml" in err and "window_batchez" in err


def test_check_config_ok_prints_effective_settings(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """`check-config` prints the file and every effective key, with the token hidden."""
    conf = tmp_path / "agent.toml"
    conf.write_text(f'collector = "logs:9000"\ntoken = "s3cret"\nstate_dir = "{tmp_path}/st"\n')
    code, out, _ = _run(capsys, "check-config", "--config", str(conf))
    assert code == 0 and f"config OK: {conf}" in out
    assert "collector = 'logs:9000'" in out and "s3cret" not in out
    code, out, _ = _run(capsys, "check-config", "--config", str(conf), "--json")
    doc = json.loads(out)
    assert code == 0 and doc["ok"] and doc["settings"]["token"] == "(set)"


def test_check_config_bad_value_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    """`check-config` reports a bad value with the file and the key, exit 2."""
    conf = tmp_path / "agent.toml"
    conf.write_text('collector = "logs:http"\n')
    code, _, err = _run(capsys, "check-config", "--config", str(conf))
    assert code == 2 and str(conf) in err and "'collector'" in err


def test_config_file_from_environment(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without --config, $LOGSHIP_AGENT_CONFIG names the file."""
    conf = tmp_path / "agent.toml"
    conf.write_text(f'agent_id = "from-env"\nstate_dir = "{tmp_path}"\n')
    monkeypatch.setenv("LOGSHIP_AGENT_CONFIG", str(conf))
    code, out, _ = _run(capsys, "check-config", "--json")
    assert code == 0 and json.loads(out)["settings"]["agent_id"] == "from-env"


def test_extension_modules_add_subcommands(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module named in EXTENSION_MODULES that defines SUBCOMMAND becomes a subcommand
    (how `run` plugs in)."""
    import sys
    import types

    module = types.ModuleType("agent_test_ext")
    module.SUBCOMMAND = cli.Subcommand(  # type: ignore[attr-defined]
        name="hello",
        help="say hello",
        description="example:\n  logship-agent hello",
        configure=lambda p: p.add_argument("--name", default="x"),
        handler=lambda args: 7 if args.name == "y" else 0,
    )
    module.__spec__ = types.SimpleNamespace(name="agent_test_ext")  # type: ignore[assignment]
    monkeypatch.setitem(sys.modules, "agent_test_ext", module)
    monkeypatch.setattr(cli, "EXTENSION_MODULES", ("agent_test_ext", "agent_missing_ext"))
    assert [s.name for s in cli.subcommands()][-1] == "hello"
    assert cli.main(["hello", "--name", "y"]) == 7
