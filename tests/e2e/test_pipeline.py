"""End to end: `logship-agent send` → collector → shared-memory pool → Celery → PostgreSQL.

Every test runs the real processes on the real PostgreSQL and broker and checks the database.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import loggen
from tests.e2e.conftest import Stack, query, wait_for

pytestmark = pytest.mark.e2e

ACCOUNTING = """
SELECT (SELECT coalesce(sum(lines_received), 0) FROM ingest_batches) AS received,
       (SELECT coalesce(sum(line_count), 0) FROM log_events) AS in_events,
       (SELECT coalesce(sum(lines), 0) FROM ingest_drops) AS dropped,
       (SELECT count(*) FROM log_events) AS events
"""


def accounting(url: str) -> tuple[int, int, int, int]:
    row = query(url, ACCOUNTING)[0]
    return int(row["received"]), int(row["in_events"]), int(row["dropped"]), int(row["events"])


def wait_stored(url: str, lines: int, timeout_s: float = 120) -> None:
    """ACK means broker-confirmed, not yet stored: wait for the workers to catch up."""
    wait_for(lambda: accounting(url)[0] >= lines, timeout_s, f"{lines} lines stored")


def test_send_stores_every_line_with_its_content(stack: Stack, tmp_path: Path) -> None:
    """Each line sent is stored once with its text, or counted as dropped with a reason."""
    log = tmp_path / "mixed.log"
    loggen.write(log, 3000)
    with log.open("ab") as fh:
        fh.write(b"\n")  # blank: dropped as 'blank'
        fh.write(b"caf\xe9 au lait \xff\n")  # invalid UTF-8: kept, repaired
        fh.write(b"\x00\x01\x02\x03\x04\x05\x06\x07binary\x00\x00\n")  # binary: dropped
        fh.write(b"x" * 300_000 + b"\n")  # longer than the collector's max line: truncated
        fh.write(b"y" * 10_000_000 + b"\n")  # 10 MB: the agent cuts it to 1 MiB, then as above
        fh.write(b"last line without newline")
    total = 3000 + 6
    result = stack.agent("send", str(log), "--collector", stack.collector)
    assert result.returncode == 0, result.stderr
    wait_stored(stack.database_url, total)
    received, in_events, dropped, events = accounting(stack.database_url)
    assert received == total
    assert in_events + dropped == total
    assert dropped == 2
    reasons = {r["reason"] for r in query(stack.database_url, "SELECT reason FROM ingest_drops")}
    assert len(reasons) == 2
    first = next(loggen.lines(1))
    rows = query(stack.database_url, "SELECT message, host, format FROM log_events")
    messages = [r["message"] for r in rows]
    assert any("last line without newline" in m for m in messages)
    assert any(m.startswith("caf") and "au lait" in m for m in messages)
    assert any("Accepted publickey for" in m for m in messages)
    assert first.split(": ", 1)[1] in "\n".join(messages)
    truncated = query(stack.database_url, "SELECT sum(lines_truncated) AS n FROM ingest_batches")
    assert truncated[0]["n"] == 2
    longest = query(stack.database_url, "SELECT max(length(message)) AS n FROM log_events")
    assert longest[0]["n"] <= 64 * 1024
    untemplated = query(
        stack.database_url, "SELECT count(*) AS n FROM log_events WHERE template_id IS NULL"
    )
    assert untemplated[0]["n"] == 0
    templates = query(stack.database_url, "SELECT count(*) AS n FROM log_templates")
    assert 5 < templates[0]["n"] < 500
    formats = {
        r["format"] for r in query(stack.database_url, "SELECT DISTINCT format FROM log_events")
    }
    assert {
        "rfc3164",
        "rfc5424",
        "access",
        "json",
        "python",
        "logfmt",
        "java",
        "generic",
    } <= formats


def test_sending_the_same_file_again_stores_nothing_twice(stack: Stack, tmp_path: Path) -> None:
    """A re-run with the checkpoint sends nothing; one without it is deduplicated by batch id."""
    log = tmp_path / "again.log"
    loggen.write(log, 2000)
    assert stack.agent("send", str(log), "--collector", stack.collector).returncode == 0
    wait_stored(stack.database_url, 2000)
    before = accounting(stack.database_url)
    assert before[0] == 2000
    again = stack.agent("send", str(log), "--collector", stack.collector)
    assert again.returncode == 0, again.stderr
    other_state = tmp_path / "other-state"
    fresh = stack.agent(
        "send", str(log), "--collector", stack.collector, "--state-dir", str(other_state)
    )
    assert fresh.returncode == 0, fresh.stderr
    # A sentinel file sent last: once it is stored, any duplicate published before it has been
    # consumed too.
    sentinel = tmp_path / "sentinel.log"
    sentinel.write_text("sentinel\n")
    assert stack.agent("send", str(sentinel), "--collector", stack.collector).returncode == 0
    wait_stored(stack.database_url, 2001)
    time.sleep(1)
    received, in_events, dropped, events = accounting(stack.database_url)
    assert (received - 1, in_events - 1, dropped, events - 1) == before


def test_send_killed_mid_way_then_rerun_stores_every_line_once(
    stack: Stack, tmp_path: Path
) -> None:
    """SIGKILL during `send`, then a re-run: every line is stored exactly once."""
    log = tmp_path / "big.log"
    total = 60_000
    loggen.write(log, total)
    proc = subprocess.Popen(
        [sys.executable, "-m", "agent", "send", str(log), "--collector", stack.collector],
        env=stack.env,
        cwd=stack.tmp,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    wait_for(lambda: stack.stored_lines() > 0, what="first stored batch")
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert stack.stored_lines() < total, "send finished before it was killed; make the file bigger"
    result = stack.agent("send", str(log), "--collector", stack.collector)
    assert result.returncode == 0, result.stderr
    wait_stored(stack.database_url, total)
    received, in_events, dropped, _ = accounting(stack.database_url)
    assert received == total and in_events + dropped == total
    dupes = query(
        stack.database_url,
        "SELECT file_id, byte_offset FROM log_events GROUP BY 1, 2 HAVING count(*) > 1",
    )
    assert dupes == []


def test_unreachable_collector_fails_clearly(stack: Stack, tmp_path: Path) -> None:
    """With nothing listening, `send` exits 1 after its retries and says what was kept safe."""
    log = tmp_path / "x.log"
    log.write_text("hello\n")
    stack.env["LOGSHIP_RETRY_MAX_ATTEMPTS"] = "2"
    result = stack.agent("send", str(log), "--collector", "127.0.0.1:1")
    assert result.returncode == 1
    assert "127.0.0.1:1" in result.stderr


def test_logship_up_runs_with_no_services_configured(tmp_path: Path) -> None:
    """`logship up` with no database or broker configured starts an embedded stack that stores."""
    from tests.e2e.conftest import free_port, wait_port

    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("LOGSHIP_DATABASE_URL", "DATABASE_URL", "BROKER_URL")
        and not k.startswith("LOGSHIP_TEST_")
    }
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    env["LOGSHIP_STATE_DIR"] = str(tmp_path / "state")
    data = tmp_path / "data"
    up = subprocess.Popen(
        [sys.executable, "-m", "logship", "up", "--port", str(port), "--data-dir", str(data)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_port(port, up, timeout_s=180)
        log = tmp_path / "app.log"
        loggen.write(log, 500)
        sent = subprocess.run(
            [sys.executable, "-m", "agent", "send", str(log), "--collector", f"127.0.0.1:{port}"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sent.returncode == 0, sent.stderr
        url = (data / "database_url").read_text().strip()
        wait_for(lambda: accounting(url)[0] == 500, timeout_s=60, what="500 lines stored")
        assert accounting(url)[1] + accounting(url)[2] == 500
    finally:
        up.send_signal(signal.SIGINT)
        out, _ = up.communicate(timeout=60)
    assert up.returncode == 0, out
    assert "logship-agent send" in out


def test_status_wait_idle_returns_once_everything_is_stored(stack: Stack, tmp_path: Path) -> None:
    """`logship status --wait-idle` returns 0 once every sent line is stored, and says so."""
    import json

    log = tmp_path / "status.log"
    loggen.write(log, 5000)
    assert stack.agent("send", str(log), "--collector", stack.collector).returncode == 0
    result = subprocess.run(
        [sys.executable, "-m", "logship", "status", "--wait-idle", "--timeout", "120", "--json"],
        env=stack.env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["idle"] is True
    assert data["lines_received"] == 5000
    assert data["events_stored"] + data["lines_dropped"] == 5000
