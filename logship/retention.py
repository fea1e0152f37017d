"""Retention: drop the day partitions of `log_events` older than a kept period.

`log_events` is partitioned by day of `received_at` (UTC), one table `log_events_YYYYMMDD` per
day (made by `logship_ensure_partition`). Retention drops whole partitions, which is instant and
leaves no bloat, instead of deleting rows.

`--keep 30d` keeps at least 30 full days: the partition of day D is dropped only when every
event it can hold is older than the cutoff, i.e. when D + 1 day <= today - 30 days. Today's
partition is never dropped, whatever `--keep` says.

What is *not* dropped, on purpose:

- `ingest_batches` (and `ingest_drops`): a row per stored batch, the idempotency key of the
  workers. An agent that re-sends an old batch (after restoring an old checkpoint, say) must
  still find it stored, or its lines would come back as duplicates. The rows are small.
- `log_templates` and `anomalies`: what analysis learned; they outlive the raw events.

A partition is detached first (`DETACH PARTITION ... CONCURRENTLY`, so workers writing today's
partition are not blocked) and then dropped. A run interrupted between the two finishes the
detach (`FINALIZE`) or drops the already-detached table on the next run.

The choice of partitions is a pure function (`partitions_to_drop`); `apply_retention` does
the I/O on an asyncpg connection; `retention_main` is `logship retention`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from logship.database_url import DEFAULT_DATABASE_URL, database_url, redact
from logship.errors import ConfigError

PARTITION_RE = re.compile(r"^log_events_(\d{8})$")
KEEP_RE = re.compile(r"^\s*(\d+)\s*([dw]?)\s*$", re.IGNORECASE)

# Every table in the search path that looks like a day partition, with whether it is still
# attached to log_events and whether a concurrent detach of it was interrupted.
LIST_PARTITIONS_SQL = r"""
SELECT c.relname,
       i.inhrelid IS NOT NULL AS attached,
       COALESCE(i.inhdetachpending, false) AS detach_pending
FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
LEFT JOIN pg_inherits i ON i.inhrelid = c.oid AND i.inhparent = 'log_events'::regclass
WHERE c.relkind = 'r'
  AND n.nspname = current_schema()
  AND c.relname ~ '^log_events_[0-9]{8}$'
ORDER BY c.relname
"""


class RetentionError(ConfigError):
    """A retention setting is wrong (`--keep`): a usage error."""


def parse_keep(text: str) -> int:
    """Days to keep from `30d`, `4w` or a bare number of days. Must be at least 1 day."""
    match = KEEP_RE.match(text)
    if not match:
        raise RetentionError(f"--keep {text!r}: expected a number of days like 30d or 4w")
    number, unit = int(match.group(1)), match.group(2).lower()
    days = number * 7 if unit == "w" else number
    if days < 1:
        raise RetentionError(f"--keep {text!r}: keep at least 1 day")
    return days


def partition_day(name: str) -> date | None:
    """The day a `log_events_YYYYMMDD` partition holds, or None for any other name."""
    match = PARTITION_RE.match(name)
    if not match:
        return None
    try:
        return datetime.strptime(match.group(1), "%Y%m%d").date()
    except ValueError:
        return None


def cutoff_day(today: date, keep_days: int) -> date:
    """The oldest day kept: partitions of days before it are dropped."""
    return today - timedelta(days=keep_days)


def partitions_to_drop(names: Iterable[str], today: date, keep_days: int) -> list[str]:
    """The partition names whose whole day is older than `keep_days` before `today` (sorted).

    Names that are not day partitions are ignored; today's partition is never chosen.
    """
    if keep_days < 1:
        raise RetentionError(f"keep at least 1 day (got {keep_days})")
    cutoff = cutoff_day(today, keep_days)
    chosen = []
    for name in names:
        day = partition_day(name)
        if day is not None and day < cutoff:
            chosen.append(name)
    return sorted(chosen)


@dataclass
class RetentionResult:
    """What a retention run found and did."""

    keep_days: int
    cutoff: str  # ISO day: partitions of earlier days are dropped
    dry_run: bool
    partitions: int = 0  # day partitions found (attached or left detached)
    dropped: list[str] = field(default_factory=list)  # dropped, or would be with dry_run
    kept: int = 0


async def apply_retention(
    conn: Any, keep_days: int, *, today: date | None = None, dry_run: bool = False
) -> RetentionResult:
    """Drop the partitions older than `keep_days` on an asyncpg connection (not in a transaction).

    Returns what was dropped (or, with `dry_run`, what would be).
    """
    today = today or datetime.now(UTC).date()
    rows = await conn.fetch(LIST_PARTITIONS_SQL)
    state = {r["relname"]: (r["attached"], r["detach_pending"]) for r in rows}
    victims = partitions_to_drop(state, today, keep_days)
    result = RetentionResult(
        keep_days=keep_days,
        cutoff=cutoff_day(today, keep_days).isoformat(),
        dry_run=dry_run,
        partitions=sum(1 for name in state if partition_day(name) is not None),
    )
    result.kept = result.partitions - len(victims)
    if dry_run:
        result.dropped = victims
        return result
    for name in victims:
        attached, pending = state[name]
        ident = quote_ident(name)
        if pending:
            await conn.execute(f"ALTER TABLE log_events DETACH PARTITION {ident} FINALIZE")
        elif attached:
            # CONCURRENTLY cannot run inside a transaction block: each statement on its own.
            await conn.execute(f"ALTER TABLE log_events DETACH PARTITION {ident} CONCURRENTLY")
        await conn.execute(f"DROP TABLE IF EXISTS {ident}")
        result.dropped.append(name)
    return result


def quote_ident(name: str) -> str:
    """A PostgreSQL quoted identifier."""
    return '"' + name.replace('"', '""') + '"'


async def run(url: str, keep_days: int, dry_run: bool) -> RetentionResult:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        return await apply_retention(conn, keep_days, dry_run=dry_run)
    finally:
        await conn.close()


def retention_main(argv: Sequence[str] | None = None) -> int:
    """`logship retention`: exit 0 done, 1 failed (database), 2 usage error."""
    parser = argparse.ArgumentParser(
        prog="logship retention",
        description="Drop the day partitions of log_events older than the kept period.",
        epilog="example: logship retention --keep 30d --dry-run\n\n"
        "Keeps ingest_batches (the idempotency keys), templates and anomalies.\n"
        "exit codes: 0 done, 1 failed, 2 usage or configuration error",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--keep", required=True, help="how long to keep events: 30d, 4w, ...")
    parser.add_argument(
        "--dry-run", action="store_true", help="only list the partitions that would be dropped"
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL (default: $LOGSHIP_DATABASE_URL, $DATABASE_URL, the embedded "
        f"database of `logship up` in ./data, else {DEFAULT_DATABASE_URL})",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON summary")
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        keep_days = parse_keep(args.keep)
    except RetentionError as exc:
        print(f"logship retention: {exc}", file=sys.stderr)
        return 2
    url = database_url(args.database_url)
    try:
        result = asyncio.run(run(url, keep_days, args.dry_run))
    except (OSError, TimeoutError) as exc:
        print(
            f"logship retention: database {redact(url)} unreachable: {exc}; nothing dropped",
            file=sys.stderr,
        )
        return 1
    except Exception as exc:  # asyncpg.PostgresError and friends: say what happened, exit 1
        if type(exc).__module__.split(".")[0] != "asyncpg":
            raise
        print(
            f"logship retention: database error: {exc}; partitions dropped before it stay "
            "dropped, the others are untouched: re-run to finish",
            file=sys.stderr,
        )
        return 1
    if args.json:
        print(json.dumps(asdict(result), sort_keys=True))
        return 0
    verb = "would drop" if result.dry_run else "dropped"
    for name in result.dropped:
        print(f"{verb} {name}")
    print(
        f"{verb} {len(result.dropped)} of {result.partitions} partitions older than "
        f"{result.cutoff} (keep {result.keep_days} days); ingest_batches kept"
    )
    return 0
