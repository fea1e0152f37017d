"""End to end: `logship-agent run` → collector → pool → Celery worker → PostgreSQL.

The tailing agent is SIGKILLed at random moments while a steady writer appends and rotates the
file, and the collector is stopped for 30 s mid-stream; afterwards every written line
is in `log_events` exactly once (batch ids make re-sent batches stored once), and a multiline
event is stored as one event.
"""

from __future__ import annotations

import os
import random
import time
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import Stack, query, wait_for
from tests.integration.agent_run_support import Agent, Writer

pytestmark = pytest.mark.e2e

# How long the collector stays down (the 30 s; LOGSHIP_TEST_AGENT_OUTAGE_S=3 for a quick run).
OUTAGE_S = float(os.environ.get("LOGSHIP_TEST_AGENT_OUTAGE_S", "30"))


def _stored(url: str) -> int:
    rows = query(url, "SELECT coalesce(sum(lines_received), 0) AS n FROM ingest_batches")
    return int(rows[0]["n"])


def test_run_killed_20_times_with_rotation_and_collector_outage_stores_each_line_once(
    stack: Stack, tmp_path: Path
) -> None:
    """20 SIGKILLs, rename and copytruncate rotations and a collector outage: each line stored
    exactly once,
    and a Python traceback is stored as one event."""
    logs = tmp_path / "logs"
    logs.mkdir()
    rng = random.Random(42)
    (tmp_path / "agent").mkdir()
    agent = Agent(
        tmp_path / "agent",
        stack.collector,
        [
            {
                "paths": [f"{logs}/app.log*"],
                "multiline": "python",
                "multiline_flush_s": 0.5,
                "fields": {"service": "e2e"},
            }
        ],
        ack_timeout_s=3.0,
        ping_interval_s=1.0,
    )
    writer = Writer(logs / "app.log", rate=1000, prefix="2024-05-01 12:00:00 INFO e2e line")
    writer.start()
    try:
        for cycle in range(20):
            agent.start()
            time.sleep(rng.uniform(0.3, 1.0))
            agent.kill()
            if cycle % 7 == 3:
                writer.rotate("rename" if cycle < 10 else "copytruncate")
        agent.start()
        time.sleep(1.0)
        stack.stop("collector")  # the collector goes away mid-stream...
        time.sleep(OUTAGE_S)
        stack.start_collector()  # ...and comes back
        time.sleep(1.0)
        written = writer.stop()
        with (logs / "app.log").open("a") as fh:
            fh.write(
                "2024-05-01 12:00:01 ERROR request failed\n"
                "Traceback (most recent call last):\n"
                '  File "app.py", line 3, in handle\n'
                "ValueError: boom\n"
            )
        total = len(written) + 4
        try:
            wait_for(lambda: _stored(stack.database_url) >= total, 120, f"{total} lines stored")
        except AssertionError as exc:
            dead = query(stack.database_url, "SELECT batch_id, error FROM dead_letters")
            raise AssertionError(
                f"{exc}: {_stored(stack.database_url)} stored; dead letters: {dead[:3]}; "
                f"agent log:\n{agent.log()[-3000:]}"
            ) from None
        assert agent.stop() == 0
    finally:
        writer.stop()
        agent.close()
    time.sleep(1.0)  # a late duplicate, if there were one, would be stored by now
    url = stack.database_url
    assert _stored(url) == total
    rows = query(url, "SELECT message, line_count, fields FROM log_events")
    lines = [r["message"] for r in rows if r["line_count"] == 1]
    counts = Counter(lines)
    assert [m for m, n in counts.items() if n > 1] == []
    assert len(lines) == len(written)
    assert sum(1 for m in lines if "e2e line" in m) == len(written)
    (trace,) = [r for r in rows if r["line_count"] > 1]
    assert trace["line_count"] == 4 and "ValueError: boom" in trace["message"]
    dupes = query(
        url, "SELECT file_id, byte_offset FROM log_events GROUP BY 1, 2 HAVING count(*) > 1"
    )
    assert dupes == []
