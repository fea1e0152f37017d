"""The collector writes JSON log lines when LOGSHIP_LOG_FORMAT=json."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration


def test_collector_logs_json_lines(tmp_path: Path) -> None:
    """Every stderr line of a collector started with LOGSHIP_LOG_FORMAT=json is a JSON object."""
    env = dict(os.environ, LOGSHIP_LOG_FORMAT="json", PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "collector",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--broker-url",
            "filesystem://",
            "--broker-dir",
            str(tmp_path / "broker"),
            "--storage-path",
            str(tmp_path / "received"),
            "--pool-processes",
            "1",
        ],  # fmt: skip
        env=env,
        cwd=tmp_path,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    lines = []
    try:
        for line in proc.stderr:
            lines.append(json.loads(line))
            if "listening" in lines[-1]["message"]:
                break
    finally:
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=60)
    lines += [json.loads(line) for line in rest.splitlines() if line.strip()] if rest else []
    assert proc.returncode == 0
    listening = next(x for x in lines if "listening" in x["message"])
    assert listening["logger"] == "logship.collector" and listening["loop"] in ("uvloop", "asyncio")
