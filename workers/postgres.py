"""PostgreSQL sink: store a cleaned batch idempotently with COPY, or dead-letter it.

`store_batch` writes a batch in one transaction: the `ingest_batches` row first with
`ON CONFLICT (batch_id) DO NOTHING` (the idempotency key: a batch delivered twice, even to two
workers at once, is stored once), then its events with COPY, its drop counts and its events
in `log_templates.events` (so a redelivered batch is counted once too). Partitions of
`log_events` are created before the transaction and remembered per process.
"""

from __future__ import annotations

import contextlib
from datetime import date
from typing import Any

import asyncpg

from analysis.template_store import count_templates
from logship.records import CleanBatch
from workers.rows import BATCH_COLUMNS, EVENT_COLUMNS, BatchRows, batch_rows

INSERT_BATCH = (
    f"INSERT INTO ingest_batches ({', '.join(BATCH_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(BATCH_COLUMNS) + 1))}) "
    "ON CONFLICT (batch_id) DO NOTHING RETURNING batch_id"
)
INSERT_DROPS = (
    "INSERT INTO ingest_drops (batch_id, reason, lines) "
    "SELECT $1, reason, lines FROM unnest($2::text[], $3::integer[]) AS d (reason, lines)"
)
INSERT_DEAD_LETTER = (
    "INSERT INTO dead_letters (batch_id, error, payload) VALUES ($1, $2, $3) RETURNING id"
)

_TEMPLATE_ID = EVENT_COLUMNS.index("template_id")

# Days whose log_events partition is known to exist (per process). A partition dropped behind
# our back is noticed by the COPY failing and re-created.
_known_partitions: set[date] = set()


async def ensure_partition(conn: asyncpg.Connection, day: date) -> None:
    """Create the day partition of log_events unless this process knows it exists."""
    if day in _known_partitions:
        return
    # Another worker may create it at the same moment: the function's existence check, made
    # after its advisory lock, can miss a table committed meanwhile ("already exists").
    with contextlib.suppress(asyncpg.DuplicateTableError, asyncpg.UniqueViolationError):
        await conn.execute("SELECT logship_ensure_partition($1::date)", day)
    _known_partitions.add(day)


def forget_partitions() -> None:
    """Forget which partitions exist (after a database change)."""
    _known_partitions.clear()


def _missing_partition(exc: BaseException) -> bool:
    return isinstance(exc, asyncpg.CheckViolationError) and "no partition" in str(exc)


async def _write(conn: asyncpg.Connection, rows: BatchRows) -> bool:
    async with conn.transaction():
        stored = await conn.fetchval(INSERT_BATCH, *rows.batch)
        if stored is None:
            return False
        if rows.events:
            await conn.copy_records_to_table(
                "log_events", records=rows.events, columns=list(EVENT_COLUMNS)
            )
        if rows.drops:
            await conn.execute(
                INSERT_DROPS,
                rows.batch[0],
                [reason for _, reason, _ in rows.drops],
                [lines for _, _, lines in rows.drops],
            )
        # Last, so the template rows are locked only until the commit that follows.
        await count_templates(conn, [row[_TEMPLATE_ID] for row in rows.events])
    return True


async def store_rows(conn: asyncpg.Connection, rows: BatchRows) -> bool:
    """Store mapped rows; True when stored now, False when the batch was stored before."""
    await ensure_partition(conn, rows.day)
    try:
        return await _write(conn, rows)
    except asyncpg.CheckViolationError as exc:
        if not _missing_partition(exc):
            raise
        _known_partitions.discard(rows.day)
        await ensure_partition(conn, rows.day)
        return await _write(conn, rows)


async def store_batch(conn: asyncpg.Connection, batch: CleanBatch) -> bool:
    """Store a batch in one transaction; True when stored now, False when stored before.

    Raises RecordError (or an asyncpg data error) when the batch cannot be stored as it is,
    and connection errors when PostgreSQL is unavailable (see `workers.errors.is_retriable`).
    """
    return await store_rows(conn, batch_rows(batch))


async def dead_letter(
    conn: asyncpg.Connection, batch_id: str | None, error: str, payload_bytes: bytes
) -> int:
    """Keep a batch that cannot be stored, with its error and the raw message; returns the id."""
    row_id: Any = await conn.fetchval(
        INSERT_DEAD_LETTER, batch_id, error.replace("\x00", "\ufffd"), payload_bytes
    )
    return int(row_id)
