"""Raw COPY vs the workers' store path, in rows per second.

Generates N events of mixed realistic log lines, then in a throwaway database:
1. raw: one `copy_records_to_table` of all rows into `bench_raw`, a same-shaped table
   (`LIKE log_events`: same columns and defaults; unpartitioned, no indexes);
2. store: the same events as CleanBatches of ~1000 events through `workers.rows.batch_rows` +
   `workers.postgres.store_batch` (partitioned log_events with its indexes, ingest_batches,
   ingest_drops, one transaction per batch), on `--connections` connections at once.
Prints both rates and store/raw. Not a test: timings depend on the machine.

    .venv/bin/python bench/copy.py --rows 1000000
    LOGSHIP_BENCH_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/copy.py
Without a server URL an embedded PostgreSQL (pgserver) is started under a temporary folder.
"""

from __future__ import annotations

import os
import sys

# This file is named like the standard library's `copy`: keep its folder off the import path.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or ".") != _HERE]
sys.path.insert(0, os.path.dirname(_HERE))

import argparse  # noqa: E402
import asyncio  # noqa: E402
import random  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from typing import Any  # noqa: E402
from urllib.parse import urlsplit, urlunsplit  # noqa: E402

import asyncpg  # noqa: E402

from logship.records import CleanBatch, Event  # noqa: E402
from workers.postgres import store_batch  # noqa: E402
from workers.rows import EVENT_COLUMNS, batch_rows  # noqa: E402
from workers.schema import apply_schema  # noqa: E402

HOSTS = [f"web{i}" for i in range(1, 9)]
PATHS = ["/var/log/syslog", "/var/log/nginx/access.log", "/srv/app/app.log", "/var/log/auth.log"]
USERS = ["alice", "bob", "carol", "dave", "root"]
URLS = ["/", "/api/v1/items", "/login", "/static/app.js", "/api/v1/orders/42", "/health"]


def fake_line(rng: random.Random, i: int) -> tuple[str, str, str | None, dict[str, Any] | None]:
    """(message, format, level, fields) of one realistic line."""
    kind = i % 5
    if kind == 0:
        user = rng.choice(USERS)
        ip = f"10.0.{rng.randrange(256)}.{rng.randrange(256)}"
        msg = f"sshd[{rng.randrange(1000, 65000)}]: Accepted publickey for {user} from {ip} port {rng.randrange(1024, 65535)} ssh2"
        return msg, "rfc3164", "info", None
    if kind == 1:
        url = rng.choice(URLS)
        status = rng.choice((200, 200, 200, 304, 404, 500))
        msg = (
            f"10.1.{rng.randrange(256)}.{rng.randrange(256)} - - [29/Nov/2026:17:00:00 +0000] "
            f'"GET {url} HTTP/1.1" {status} {rng.randrange(100, 90000)} "-" "Mozilla/5.0"'
        )
        return msg, "access", "error" if status >= 500 else "info", {"status": status, "url": url}
    if kind == 2:
        msg = f"Processed order {rng.randrange(10**6)} in {rng.random() * 900:.1f} ms for customer {rng.randrange(10**5)}"
        return msg, "json", "info", {"order": rng.randrange(10**6), "service": "orders"}
    if kind == 3:
        msg = f"Connection pool exhausted ({rng.randrange(10, 100)} in use), waiting {rng.randrange(1, 30)} s"
        return msg, "python", "warning", None
    msg = f"kernel: [{rng.random() * 1e6:.6f}] eth0: link up, {rng.choice((100, 1000, 10000))} Mbps, full duplex"
    return msg, "generic", None, None


def make_batches(rows: int, per_batch: int, seed: int = 7) -> list[CleanBatch]:
    rng = random.Random(seed)
    now = time.time()
    run = uuid.uuid4().hex[:8]
    batches = []
    n = 0
    b = 0
    while n < rows:
        count = min(per_batch, rows - n)
        events = []
        offset = 0
        for i in range(count):
            msg, fmt, level, fields = fake_line(rng, n + i)
            events.append(
                Event(
                    offset=offset,
                    line_count=1,
                    message=msg,
                    format=fmt,
                    ts=now - 5,
                    host=None,
                    level=level,
                    fields=fields,
                )
            )
            offset += len(msg) + 1
        batches.append(
            CleanBatch(
                batch_id=f"bench-{run}-{b}",
                agent="bench",
                hostname=HOSTS[b % len(HOSTS)],
                path=PATHS[b % len(PATHS)],
                file_id=f"1:{b}:fp",
                first_offset=0,
                received_at=now,
                lines_received=count + 1,
                events=events,
                drops={"blank": 1},
            )
        )
        n += count
        b += 1
    return batches


def with_db(url: str, name: str) -> str:
    p = urlsplit(url)
    return urlunsplit((p.scheme, p.netloc, "/" + name, p.query, p.fragment))


async def bench(server_url: str, rows: int, per_batch: int, connections: int) -> None:
    print(f"generating {rows:,} events in batches of {per_batch} ...", flush=True)
    batches = make_batches(rows, per_batch)
    raw_rows = [r for b in batches for r in batch_rows(b).events]

    name = f"logship_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(server_url)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = with_db(server_url, name)
    try:
        conn = await asyncpg.connect(url)
        await apply_schema(conn)
        await conn.execute("CREATE TABLE bench_raw (LIKE log_events INCLUDING DEFAULTS)")

        started = time.perf_counter()
        await conn.copy_records_to_table("bench_raw", records=raw_rows, columns=list(EVENT_COLUMNS))
        raw_s = time.perf_counter() - started
        del raw_rows
        raw_rate = rows / raw_s
        print(f"raw COPY   : {rows:,} rows in {raw_s:.2f} s = {raw_rate:,.0f} rows/s", flush=True)

        conns = [conn] + [await asyncpg.connect(url) for _ in range(connections - 1)]
        queue = list(reversed(batches))

        async def loop(c: asyncpg.Connection) -> None:
            while queue:
                await store_batch(c, queue.pop())

        started = time.perf_counter()
        await asyncio.gather(*(loop(c) for c in conns))
        store_s = time.perf_counter() - started
        store_rate = rows / store_s
        stored = await conn.fetchval("SELECT count(*) FROM log_events")
        assert stored == rows, f"{stored} rows stored, expected {rows}"
        print(
            f"store_batch: {rows:,} rows in {store_s:.2f} s = {store_rate:,.0f} rows/s "
            f"({len(batches):,} batches of {per_batch}, {connections} connection(s))"
        )
        print(f"ratio store/raw: {store_rate / raw_rate:.2f}x")
        for c in conns:
            await c.close()
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def main() -> int:
    p = argparse.ArgumentParser(description="Raw COPY vs the workers' store_batch, rows/s.")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--batch-events", type=int, default=1000)
    p.add_argument("--connections", type=int, default=1)
    p.add_argument(
        "--server-url",
        default=os.environ.get("LOGSHIP_BENCH_DATABASE_URL")
        or os.environ.get("LOGSHIP_TEST_DATABASE_URL"),
        help="PostgreSQL server to create a throwaway database on (default: embedded pgserver)",
    )
    args = p.parse_args()
    if args.server_url:
        asyncio.run(bench(args.server_url, args.rows, args.batch_events, args.connections))
        return 0
    import pgserver

    with tempfile.TemporaryDirectory(prefix="logship-bench-pg-") as tmp:
        server = pgserver.get_server(tmp, cleanup_mode="stop")
        asyncio.run(bench(server.get_uri(), args.rows, args.batch_events, args.connections))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
