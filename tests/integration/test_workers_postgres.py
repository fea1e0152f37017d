"""Integration tests of the workers' PostgreSQL sink against the real database."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import msgpack
import pytest

from logship.records import CleanBatch, Event
from workers import runtime, tasks
from workers.config import WorkerConfig
from workers.postgres import dead_letter, forget_partitions, store_batch
from workers.schema import apply_schema

pytestmark = pytest.mark.integration

RECEIVED = 1_764_400_000.5  # 2025-11-29 07:06:40.5 UTC


def make_batch(batch_id: str = "b-1", events: int = 3, received_at: float = RECEIVED) -> CleanBatch:
    evs = [
        Event(
            offset=100 + 10 * i,
            line_count=1 + (i % 2),
            message=f"line {i} of {batch_id}",
            format="json" if i % 2 == 0 else "generic",
            ts=RECEIVED - 60 + i if i % 2 == 0 else None,
            host="db1" if i == 0 else None,
            level="error" if i == 0 else None,
            fields={"n": i} if i % 2 == 0 else None,
        )
        for i in range(events)
    ]
    lines = sum(e.line_count for e in evs)
    return CleanBatch(
        batch_id=batch_id,
        agent="agent-1",
        hostname="web1",
        path="/var/log/app.log",
        file_id="8:42:fp",
        first_offset=100,
        received_at=received_at,
        lines_received=lines + 3,
        events=evs,
        drops={"blank": 2, "binary": 1},
        truncated=1,
        fields={"env": "test"},
    )


async def _with_conn(url: str, fn: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        return await fn(conn)
    finally:
        await conn.close()


def run(url: str, fn: Any) -> Any:
    return asyncio.run(_with_conn(url, fn))


def test_store_batch_stores_exact_rows(clean_db: str) -> None:
    """store_batch writes one ingest_batches row, one log_events row per event, the drops."""
    batch = make_batch()

    async def go(conn: asyncpg.Connection) -> tuple[bool, list[Any], Any, list[Any]]:
        stored = await store_batch(conn, batch)
        events = await conn.fetch(
            "SELECT received_at, ts, host, path, level, format, message, template_id, agent,"
            " file_id, byte_offset, line_count, batch_id, fields FROM log_events ORDER BY byte_offset"
        )
        head = await conn.fetchrow("SELECT * FROM ingest_batches")
        drops = await conn.fetch("SELECT reason, lines FROM ingest_drops ORDER BY reason")
        return stored, events, head, drops

    stored, events, head, drops = run(clean_db, go)
    assert stored is True
    received = datetime(2025, 11, 29, 7, 6, 40, 500000, tzinfo=UTC)
    got = [(*r[:-1], json.loads(r[-1]) if r[-1] else None) for r in events]
    assert got == [
        (
            received,
            datetime(2025, 11, 29, 7, 5, 40, 500000, tzinfo=UTC),
            "db1",
            "/var/log/app.log",
            "error",
            "json",
            "line 0 of b-1",
            None,
            "agent-1",
            "8:42:fp",
            100,
            1,
            "b-1",
            {"env": "test", "n": 0},
        ),
        (
            received,
            None,
            "web1",
            "/var/log/app.log",
            None,
            "generic",
            "line 1 of b-1",
            None,
            "agent-1",
            "8:42:fp",
            110,
            2,
            "b-1",
            {"env": "test"},
        ),
        (
            received,
            datetime(2025, 11, 29, 7, 5, 42, 500000, tzinfo=UTC),
            "web1",
            "/var/log/app.log",
            None,
            "json",
            "line 2 of b-1",
            None,
            "agent-1",
            "8:42:fp",
            120,
            1,
            "b-1",
            {"n": 2, "env": "test"},
        ),
    ]
    assert head["batch_id"] == "b-1"
    assert (head["agent"], head["host"], head["path"], head["file_id"]) == (
        "agent-1",
        "web1",
        "/var/log/app.log",
        "8:42:fp",
    )
    assert (head["lines_received"], head["events_stored"], head["lines_dropped"]) == (7, 3, 3)
    assert head["lines_truncated"] == 1
    assert head["received_at"] == received
    assert [tuple(r) for r in drops] == [("binary", 1), ("blank", 2)]


def test_same_batch_twice_stored_once(clean_db: str) -> None:
    """Storing a batch a second time stores nothing and returns False."""
    batch = make_batch()

    async def go(conn: asyncpg.Connection) -> tuple[bool, bool, int, int]:
        first = await store_batch(conn, batch)
        second = await store_batch(conn, batch)
        n_events = await conn.fetchval("SELECT count(*) FROM log_events")
        n_batches = await conn.fetchval("SELECT count(*) FROM ingest_batches")
        return first, second, n_events, n_batches

    assert run(clean_db, go) == (True, False, 3, 1)


def test_concurrent_store_of_same_batch_stored_once(clean_db: str) -> None:
    """Two connections storing the same batch at once: exactly one stores it, one copy."""
    batch = make_batch(events=200)

    async def go() -> tuple[list[bool], int, int]:
        a = await asyncpg.connect(clean_db)
        b = await asyncpg.connect(clean_db)
        try:
            results = await asyncio.gather(store_batch(a, batch), store_batch(b, batch))
            n_events = await a.fetchval("SELECT count(*) FROM log_events")
            n_drops = await a.fetchval("SELECT count(*) FROM ingest_drops")
        finally:
            await a.close()
            await b.close()
        return sorted(results), n_events, n_drops

    assert asyncio.run(go()) == ([False, True], 200, 2)


def test_accounting_checkable_with_sql(clean_db: str) -> None:
    """For every batch, lines_received = sum(log_events.line_count) + sum(ingest_drops.lines)."""
    batches = [make_batch(f"b-{i}", events=i) for i in range(6)]

    async def go(conn: asyncpg.Connection) -> list[Any]:
        for batch in batches:
            await store_batch(conn, batch)
        return await conn.fetch(
            """
            SELECT b.batch_id, b.lines_received,
                   COALESCE((SELECT sum(line_count) FROM log_events e
                             WHERE e.batch_id = b.batch_id), 0)
                 + COALESCE((SELECT sum(lines) FROM ingest_drops d
                             WHERE d.batch_id = b.batch_id), 0) AS accounted,
                   b.lines_dropped,
                   COALESCE((SELECT sum(lines) FROM ingest_drops d
                             WHERE d.batch_id = b.batch_id), 0) AS drops
            FROM ingest_batches b ORDER BY b.batch_id
            """
        )

    rows = run(clean_db, go)
    assert len(rows) == 6
    for row in rows:
        assert row["lines_received"] == row["accounted"], row["batch_id"]
        assert row["lines_dropped"] == row["drops"]


def test_partition_created_and_recreated(clean_db: str) -> None:
    """A batch of a new day creates its partition; a partition dropped later is re-created."""
    day = 1_900_000_000.0  # 2030-03-17 UTC

    async def go(conn: asyncpg.Connection) -> tuple[bool, bool, int]:
        first = await store_batch(conn, make_batch("p-1", received_at=day))
        await conn.execute("DROP TABLE log_events_20300317")
        second = await store_batch(conn, make_batch("p-2", received_at=day))
        count = await conn.fetchval("SELECT count(*) FROM log_events_20300317")
        return first, second, count

    assert run(clean_db, go) == (True, True, 3)


def test_apply_schema_is_idempotent(clean_db: str) -> None:
    """schema.sql applies again on a database that has it, keeping the data."""

    async def go(conn: asyncpg.Connection) -> int:
        await store_batch(conn, make_batch())
        await apply_schema(conn)
        await apply_schema(conn)
        return int(await conn.fetchval("SELECT count(*) FROM log_events"))

    assert run(clean_db, go) == 3


def test_dead_letter_keeps_payload(clean_db: str) -> None:
    """dead_letter stores the batch id, the error and the raw payload."""

    async def go(conn: asyncpg.Connection) -> Any:
        await dead_letter(conn, "b-9", "RecordError: bad", b"\x81\xa1v\x02")
        return await conn.fetchrow("SELECT batch_id, error, payload FROM dead_letters")

    row = run(clean_db, go)
    assert (row["batch_id"], row["error"], bytes(row["payload"])) == (
        "b-9",
        "RecordError: bad",
        b"\x81\xa1v\x02",
    )


@pytest.fixture
def worker_runtime(clean_db: str) -> Iterator[None]:
    """This process configured as a worker on the test database."""
    runtime.configure(WorkerConfig(database_url=clean_db, apply_schema=True))
    yield
    runtime.shutdown()


def test_task_stores_then_acknowledges_duplicate(clean_db: str, worker_runtime: None) -> None:
    """The task's store path stores a message once and reports a redelivery as duplicate."""
    message = make_batch().to_message()
    assert tasks.store(tasks.store_batch, message) == "stored"
    assert tasks.store(tasks.store_batch, message) == "duplicate"
    assert run(clean_db, lambda c: c.fetchval("SELECT count(*) FROM log_events")) == 3


def test_redelivered_batch_counts_its_templates_once(clean_db: str, worker_runtime: None) -> None:
    """Template counts are added in the transaction that stores the batch: a redelivery
    (stored before) adds nothing, so log_templates.events matches log_events."""
    message = make_batch("tc-1", events=4).to_message()
    assert tasks.store(tasks.store_batch, message) == "stored"
    assert tasks.store(tasks.store_batch, message) == "duplicate"

    async def go(conn: asyncpg.Connection) -> tuple[int, int, int]:
        counted = await conn.fetchval("SELECT sum(events) FROM log_templates")
        stored = await conn.fetchval("SELECT count(*) FROM log_events")
        untemplated = await conn.fetchval(
            "SELECT count(*) FROM log_events WHERE template_id IS NULL"
        )
        return counted, stored, untemplated

    assert run(clean_db, go) == (4, 4, 0)


@pytest.mark.parametrize(
    "mutate",
    [
        pytest.param(lambda m: m.pop("events"), id="missing-events"),
        pytest.param(lambda m: m.update(lines=99), id="accounting-broken"),
        pytest.param(lambda m: m["events"][0].__setitem__(0, 2**63), id="offset-out-of-range"),
        pytest.param(lambda m: m["events"][0].__setitem__(2, "bad \ud800"), id="lone-surrogate"),
    ],
)
def test_malformed_record_goes_to_dead_letters(
    clean_db: str, worker_runtime: None, mutate: Any
) -> None:
    """A record that cannot be stored lands in dead_letters with its error and payload; the
    task succeeds and nothing of the batch is stored."""
    message = make_batch("bad-1").to_message()
    mutate(message)
    assert tasks.store(tasks.store_batch, message) == "dead-letter"

    async def go(conn: asyncpg.Connection) -> tuple[Any, int, int]:
        row = await conn.fetchrow("SELECT batch_id, error, payload FROM dead_letters")
        return (
            row,
            await conn.fetchval("SELECT count(*) FROM ingest_batches"),
            await conn.fetchval("SELECT count(*) FROM log_events"),
        )

    row, n_batches, n_events = run(clean_db, go)
    assert row["batch_id"] == "bad-1"
    assert row["error"]
    assert (n_batches, n_events) == (0, 0)
    payload = bytes(row["payload"])
    assert msgpack.unpackb(payload, raw=False, unicode_errors="surrogatepass") == message


def test_concurrent_first_batches_of_a_new_day(clean_db: str) -> None:
    """Several workers storing the first batches of a new day at once all succeed (the day
    partition is created once, a concurrent creation is not an error)."""
    day = 1_950_000_000.0 + 86400 * (uuid.uuid4().int % 20000)

    async def go() -> tuple[list[bool], int]:
        conns = [await asyncpg.connect(clean_db) for _ in range(4)]
        try:
            forget_partitions()
            results = await asyncio.gather(
                *(
                    store_batch(c, make_batch(f"day-{i}", received_at=day))
                    for i, c in enumerate(conns)
                )
            )
            count = await conns[0].fetchval("SELECT count(*) FROM log_events")
        finally:
            for c in conns:
                await c.close()
        return list(results), count

    assert asyncio.run(go()) == ([True] * 4, 12)
