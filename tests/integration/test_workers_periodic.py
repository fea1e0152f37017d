"""The periodic worker tasks: anomaly detection and retention, against the real PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from workers import runtime
from workers.app import beat_schedule
from workers.celery_app import DETECT_TASK, RETENTION_TASK
from workers.config import WorkerConfig
from workers.tasks import apply_retention, detect_anomalies

pytestmark = pytest.mark.integration


def test_beat_schedule_follows_the_config() -> None:
    """Detection runs every detect_interval_s; retention only when retention_keep_days is set."""
    assert beat_schedule(WorkerConfig(detect_interval_s=30, retention_keep_days=0)) == {
        "detect-anomalies": {"task": DETECT_TASK, "schedule": 30}
    }
    both = beat_schedule(WorkerConfig(detect_interval_s=0, retention_keep_days=7))
    assert list(both.values()) == [{"task": RETENTION_TASK, "schedule": 3600.0}]


async def _partitions(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'log_events'::regclass"
        )
        return {r["relname"] for r in rows}
    finally:
        await conn.close()


async def _make_partitions(url: str, days: list[date]) -> None:
    conn = await asyncpg.connect(url)
    try:
        for day in days:
            await conn.execute("SELECT logship_ensure_partition($1)", day)
    finally:
        await conn.close()


def test_retention_task_drops_only_old_partitions(clean_db: str) -> None:
    """With retention_keep_days=3, partitions older than 3 days go and recent ones stay."""
    today = datetime.now(UTC).date()
    old, recent = today - timedelta(days=10), today - timedelta(days=1)
    asyncio.run(_make_partitions(clean_db, [old, recent, today]))
    runtime.configure(WorkerConfig(database_url=clean_db, retention_keep_days=3))
    try:
        assert apply_retention() >= 1  # other tests may have left old partitions too
    finally:
        runtime.shutdown()
        runtime.configure(WorkerConfig(database_url=clean_db))
    names = asyncio.run(_partitions(clean_db))
    assert f"log_events_{old:%Y%m%d}" not in names
    assert {f"log_events_{recent:%Y%m%d}", f"log_events_{today:%Y%m%d}"} <= names


def test_detection_task_runs_against_the_database(clean_db: str) -> None:
    """The periodic detection task runs on an empty database without error and finds nothing."""
    runtime.configure(WorkerConfig(database_url=clean_db))
    try:
        assert detect_anomalies() == 0
    finally:
        runtime.shutdown()
