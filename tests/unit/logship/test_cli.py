"""The `logship` umbrella command (logship/cli.py): help, version, dispatch, exit codes
(0 done, 1 failed, 2 usage or configuration error), and the error hierarchy those exit codes
rest on (logship/errors.py). Commands are called in-process; none reaches a service.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pytest

from agent.errors import AgentError
from analysis.errors import AnalysisError
from collector.errors import CollectorError
from logship import __version__, cli
from logship.errors import ConfigError, LogshipError, ProtocolError
from logship.retention import RetentionError
from logship.up import UpError
from workers.errors import SchemaNotFoundError, WorkerError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No LOGSHIP_* settings from the caller's environment; run in an empty folder."""
    for name in list(os.environ):
        if name.startswith("LOGSHIP_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def _fake(monkeypatch: pytest.MonkeyPatch, behaviour: BaseException | int) -> list[list[str]]:
    """Register a `fake` command that raises `behaviour` (or returns it); returns its calls."""
    calls: list[list[str]] = []

    def run(argv: Sequence[str]) -> int:
        calls.append(list(argv))
        if isinstance(behaviour, BaseException):
            raise behaviour
        return behaviour

    monkeypatch.setitem(cli.COMMANDS, "fake", (run, "a command for tests"))
    return calls


def test_help_lists_every_command_and_the_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    """--help exits 0 and lists each command with its summary, examples and exit codes."""
    with pytest.raises(SystemExit) as info:
        cli.main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for name, (_, doc) in cli.COMMANDS.items():
        assert f"  {name:<14}{doc}" in out
    assert "exit codes: 0 done, 1 failed, 2 usage or configuration error" in out
    assert "logship up" in out


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Without a command the help is printed and the exit code is 2 (usage)."""
    assert cli.main([]) == 2
    assert "commands:" in capsys.readouterr().out


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints `logship <version>` and exits 0."""
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"logship {__version__}"


def test_unknown_command_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown command is a usage error (exit 2) naming the bad choice."""
    with pytest.raises(SystemExit) as info:
        cli.main(["frobnicate"])
    assert info.value.code == 2
    assert "invalid choice: 'frobnicate'" in capsys.readouterr().err


def test_arguments_after_the_command_go_to_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Everything after the command, options included, is passed to it untouched; its
    return value is the exit code."""
    calls = _fake(monkeypatch, 0)
    assert cli.main(["fake", "--version", "-x", "value"]) == 0
    assert calls == [["--version", "-x", "value"]]
    _fake(monkeypatch, 3)
    assert cli.main(["fake"]) == 3


def test_config_error_exits_2_with_its_message(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A ConfigError from a command exits 2 with `logship <command>: configuration error:`."""
    conf = tmp_path / "logship.toml"
    conf.write_text("[collector]\nport = 9999\n[bogus]\nx = 1\n")
    assert cli.main(["check-config", "--config", str(conf)]) == 2
    captured = capsys.readouterr()
    assert "[collector] ok" in captured.out and "port=9999" in captured.out
    assert captured.err == (
        f"logship check-config: configuration error: {conf}: unknown section(s) ['bogus']\n"
    )


def test_check_config_of_a_good_file_exits_0(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """check-config of a file with known sections only exits 0, one `ok` line per section."""
    conf = tmp_path / "logship.toml"
    conf.write_text("[worker]\nqueue = 'q1'\n")
    assert cli.main(["check-config", "--config", str(conf)]) == 0
    out = capsys.readouterr().out
    assert "[collector] ok" in out and "[worker] ok" in out and "queue='q1'" in out


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (LogshipError("plain"), 1),
        (AgentError("agent"), 1),
        (CollectorError("collector"), 1),
        (WorkerError("worker"), 1),
        (SchemaNotFoundError("schema"), 1),
        (AnalysisError("analysis"), 1),
        (UpError("up"), 1),
        (ProtocolError(5, "protocol"), 1),
        (ConfigError("config"), 2),
        (RetentionError("retention"), 2),
    ],
)
def test_every_package_error_maps_to_an_exit_code(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: LogshipError,
    code: int,
) -> None:
    """Each package's errors derive from LogshipError: a failing command exits 1 with its
    message, a configuration error (any ConfigError) exits 2."""
    _fake(monkeypatch, error)
    assert cli.main(["fake"]) == code
    prefix = "logship fake: configuration error: " if code == 2 else "logship fake: "
    assert capsys.readouterr().err == f"{prefix}{error}\n"


def test_other_exceptions_are_not_swallowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """A bug (not a LogshipError) propagates with its traceback; Ctrl-C exits 130."""
    _fake(monkeypatch, RuntimeError("bug"))
    with pytest.raises(RuntimeError, match="bug"):
        cli.main(["fake"])
    _fake(monkeypatch, KeyboardInterrupt())
    assert cli.main(["fake"]) == 130


def test_protocol_error_keeps_its_code_and_message() -> None:
    """ProtocolError carries the ERROR code to send to the peer and its bare message."""
    exc = ProtocolError(7, "token missing")
    assert (exc.code, exc.message, str(exc)) == (7, "token missing", "token missing")
