"""Unit tests of the logship-worker command line."""

from __future__ import annotations

import subprocess
import sys

import pytest

from workers.cli import celery_argv, main
from workers.config import WorkerConfig


def test_celery_argv() -> None:
    """Options become `celery worker` arguments; extra arguments pass through."""
    assert celery_argv(WorkerConfig(), "INFO", []) == ["worker", "--loglevel=INFO"]
    assert celery_argv(WorkerConfig(concurrency=2), "debug", ["--pool=solo"]) == [
        "worker",
        "--loglevel=debug",
        "--concurrency=2",
        "--pool=solo",
    ]


def test_help_has_example(capsys: pytest.CaptureFixture[str]) -> None:
    """--help names the purpose and shows an example."""
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "example:" in out and "logship-worker --concurrency" in out


def test_config_error_exits_2(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A configuration mistake is reported before anything starts, with exit code 2."""
    monkeypatch.setenv("LOGSHIP_DATABASE_URL", "mysql://nope")
    assert main([]) == 2
    assert "database_url" in capsys.readouterr().err


def test_python_m_workers_version() -> None:
    """`python -m workers --version` prints the version."""
    out = subprocess.run(
        [sys.executable, "-m", "workers", "--version"], capture_output=True, text=True, check=True
    )
    assert out.stdout.startswith("logship-worker ")
