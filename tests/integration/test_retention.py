"""Retention against the real PostgreSQL: old day partitions go, recent ones and
ingest_batches (the idempotency keys) stay."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from logship.retention import apply_retention

pytestmark = pytest.mark.integration

OLD_DAYS = [date(2020, 1, 1), date(2020, 1, 2), date(2020, 1, 3)]


def part(day: date) -> str:
    return f"log_events_{day:%Y%m%d}"


async def _setup(url: str, days: list[date], detach: list[date]) -> None:
    conn = await asyncpg.connect(url)
    try:
        for day in days:
            await conn.execute("SELECT logship_ensure_partition($1::date)", day)
            await conn.execute(
                "INSERT INTO log_events (received_at, host, path, format, message, agent,"
                " file_id, byte_offset, batch_id) VALUES ($1, 'h', '/p', 'raw', 'm', 'a',"
                " 'f', 0, $2)",
                datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
                f"batch-{day:%Y%m%d}",
            )
            await conn.execute(
                "INSERT INTO ingest_batches (batch_id, agent, host, path, file_id, first_offset,"
                " lines_received, events_stored, lines_dropped, received_at) VALUES"
                " ($1, 'a', 'h', '/p', 'f', 0, 1, 1, 0, $2)",
                f"batch-{day:%Y%m%d}",
                datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
            )
        for day in detach:
            await conn.execute(f"ALTER TABLE log_events DETACH PARTITION {part(day)}")
    finally:
        await conn.close()


async def _tables(url: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname ~ '^log_events_[0-9]{8}$'"
        )
        return {r["relname"] for r in rows}
    finally:
        await conn.close()


async def _scalar(url: str, sql: str) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetchval(sql)
    finally:
        await conn.close()


async def _retention(url: str, keep_days: int, dry_run: bool) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await apply_retention(conn, keep_days, dry_run=dry_run)
    finally:
        await conn.close()


def test_retention_drops_old_partitions_and_keeps_batches(clean_db: str) -> None:
    """Partitions older than --keep are dropped (also one left detached by an interrupted
    run); recent partitions, their events and every ingest_batches row stay."""
    today = datetime.now(UTC).date()
    recent = [today - timedelta(days=1), today]
    asyncio.run(_setup(clean_db, OLD_DAYS + recent, detach=[OLD_DAYS[2]]))

    dry = asyncio.run(_retention(clean_db, 30, dry_run=True))
    assert {part(d) for d in OLD_DAYS} <= set(dry.dropped)
    assert {part(d) for d in OLD_DAYS} <= asyncio.run(_tables(clean_db)), "dry run dropped"

    result = asyncio.run(_retention(clean_db, 30, dry_run=False))
    assert {part(d) for d in OLD_DAYS} <= set(result.dropped)
    tables = asyncio.run(_tables(clean_db))
    assert not {part(d) for d in OLD_DAYS} & tables
    assert {part(d) for d in recent} <= tables
    assert asyncio.run(_scalar(clean_db, "SELECT count(*) FROM log_events")) == len(recent)
    batches = asyncio.run(_scalar(clean_db, "SELECT count(*) FROM ingest_batches"))
    assert batches == len(OLD_DAYS) + len(recent)


def test_retention_command_dry_run_then_drop(clean_db: str) -> None:
    """`logship retention --keep 30d --dry-run --json` lists without dropping; without
    --dry-run it drops, and a second run finds nothing more to drop."""
    asyncio.run(_setup(clean_db, OLD_DAYS[:1], detach=[]))
    cmd = [sys.executable, "-m", "logship", "retention", "--keep", "30d"]
    cmd += ["--database-url", clean_db, "--json"]

    dry = subprocess.run([*cmd, "--dry-run"], capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    summary = json.loads(dry.stdout)
    assert summary["dry_run"] is True
    assert part(OLD_DAYS[0]) in summary["dropped"]
    assert part(OLD_DAYS[0]) in asyncio.run(_tables(clean_db))

    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert part(OLD_DAYS[0]) in json.loads(done.stdout)["dropped"]
    assert part(OLD_DAYS[0]) not in asyncio.run(_tables(clean_db))

    again = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0, again.stderr
    assert part(OLD_DAYS[0]) not in json.loads(again.stdout)["dropped"]


def test_retention_command_unreachable_database_exits_1() -> None:
    """An unreachable database is a failure (exit 1) with a message saying nothing was dropped."""
    cmd = [sys.executable, "-m", "logship", "retention", "--keep", "30d"]
    cmd += ["--database-url", "postgresql://postgres@127.0.0.1:1/none"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "nothing dropped" in done.stderr
