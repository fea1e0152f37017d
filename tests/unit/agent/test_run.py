"""The `run` command's pure parts: quick-use options, start-at-end alignment, usage errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from agent.cli import build_parser
from agent.copies import line_aligned_end
from agent.run import overrides_from_args
from logship.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]


def _args(*argv: str):  # type: ignore[no-untyped-def]
    return build_parser().parse_args(["run", *argv])


def test_quick_use_builds_the_only_input() -> None:
    """--path/--exclude/--multiline/--start-at/--field make one [[inputs]] table."""
    args = _args(
        "--path",
        "/var/log/app/*.log",
        "--path",
        "/srv/**/*.log",
        "--exclude",
        "*.debug.log",
        "--multiline",
        "java",
        "--start-at",
        "end",
        "--field",
        "service=web",
        "--collector",
        "logs:9000",
        "--state-dir",
        "/tmp/state",
    )
    out = overrides_from_args(args)
    assert out["inputs"] == [
        {
            "paths": ["/var/log/app/*.log", "/srv/**/*.log"],
            "exclude": ["*.debug.log"],
            "multiline": "java",
            "start_at": "end",
            "fields": {"service": "web"},
        }
    ]
    assert out["collector"] == "logs:9000" and out["state_dir"] == "/tmp/state"


def test_input_options_need_path() -> None:
    """--exclude and friends without --path are a usage error."""
    with pytest.raises(ConfigError, match="need --path"):
        overrides_from_args(_args("--exclude", "*.gz"))
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        overrides_from_args(_args("--path", "/x", "--field", "novalue"))


def test_start_at_end_is_aligned_to_a_line(tmp_path: Path) -> None:
    """start_at=end starts after the last complete line, not in the middle of one."""
    f = tmp_path / "a.log"
    f.write_bytes(b"one\ntwo\npart")
    fd = os.open(f, os.O_RDONLY)
    try:
        assert line_aligned_end(fd, f.stat().st_size) == 8
    finally:
        os.close(fd)


def _cli(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGSHIP_")}
    return subprocess.run(
        [sys.executable, "-m", "agent", *argv],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={**env, "PYTHONPATH": str(ROOT)},
        timeout=60,
    )


def test_nothing_to_tail_is_a_usage_error(tmp_path: Path) -> None:
    """`run` without inputs exits 2 and says how to name files."""
    result = _cli("run", "--state-dir", str(tmp_path / "s"), cwd=tmp_path)
    assert result.returncode == 2
    assert "nothing to tail" in result.stderr


def test_bad_config_exits_2_naming_file_and_key(tmp_path: Path) -> None:
    """A config mistake is caught before anything starts: exit 2, file and key named."""
    cfg = tmp_path / "agent.toml"
    cfg.write_text('[[inputs]]\npaths = ["/x/*.log"]\nstart_at = "middle"\n')
    result = _cli("run", "--config", str(cfg), cwd=tmp_path)
    assert result.returncode == 2
    assert str(cfg) in result.stderr and "start_at" in result.stderr


def test_help_has_a_real_example(tmp_path: Path) -> None:
    """`run --help` shows the purpose and an example."""
    result = _cli("run", "--help", cwd=tmp_path)
    assert result.returncode == 0
    assert "logship-agent run --path '/var/log/app/*.log'" in result.stdout
    assert "--state-dir" in result.stdout
