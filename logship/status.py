"""`logship status`: the pipeline at a glance, and `--wait-idle` for scripts and tests.

Reads PostgreSQL (stored, dropped, dead letters, lag of the newest batch), the broker queue
depth (batches published by collectors but not yet stored) and, when given, collectors'
Prometheus endpoints (agents connected, batches in the pool).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from logship.database_url import database_url
from logship.errors import LogshipError


@dataclass
class Status:
    batches_stored: int = 0
    lines_received: int = 0
    events_stored: int = 0
    lines_dropped: int = 0
    dead_letters: int = 0
    drops_by_reason: dict[str, int] = field(default_factory=dict)
    last_stored_at: str | None = None
    seconds_since_last_batch: float | None = None
    seconds_since_last_store: float | None = None
    queued_batches: int | None = None
    in_progress_batches: int | None = None  # held by workers (running, prefetched, retrying)
    collectors: dict[str, dict[str, float]] = field(default_factory=dict)
    last_errors: list[str] = field(default_factory=list)

    settle_s: float = 2.0

    @property
    def idle(self) -> bool:
        """Nothing waits in the broker, no worker holds a batch (running, prefetched or waiting
        to retry: asked over Celery's remote control, where the broker has one), no collector
        holds one in its pool, and no batch was stored in the last `settle_s` seconds (what a
        broker without remote control cannot tell: messages a worker has prefetched)."""
        in_pool = sum(
            c.get("logship_collector_pool_queue_depth", 0) for c in self.collectors.values()
        )
        settled = (
            self.seconds_since_last_store is None or self.seconds_since_last_store >= self.settle_s
        )
        held = self.in_progress_batches or 0
        return (self.queued_batches or 0) == 0 and held == 0 and in_pool == 0 and settled


async def read_database(url: str, status: Status) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT count(*) AS batches, coalesce(sum(lines_received), 0) AS lines,"
            " coalesce(sum(events_stored), 0) AS events, coalesce(sum(lines_dropped), 0) AS dropped,"
            " max(stored_at) AS last, extract(epoch FROM now() - max(received_at)) AS lag,"
            " extract(epoch FROM clock_timestamp() - max(stored_at)) AS since_store"
            " FROM ingest_batches"
        )
        status.batches_stored = int(row["batches"])
        status.lines_received = int(row["lines"])
        status.events_stored = int(row["events"])
        status.lines_dropped = int(row["dropped"])
        status.last_stored_at = row["last"].isoformat() if row["last"] else None
        status.seconds_since_last_batch = float(row["lag"]) if row["lag"] is not None else None
        status.seconds_since_last_store = (
            float(row["since_store"]) if row["since_store"] is not None else None
        )
        status.drops_by_reason = {
            r["reason"]: int(r["n"])
            for r in await conn.fetch(
                "SELECT reason, sum(lines) AS n FROM ingest_drops GROUP BY 1 ORDER BY 2 DESC"
            )
        }
        status.dead_letters = int(await conn.fetchval("SELECT count(*) FROM dead_letters"))
        status.last_errors = [
            f"{r['failed_at']:%Y-%m-%d %H:%M:%S} batch {r['batch_id']}: {r['error']}"
            for r in await conn.fetch(
                "SELECT failed_at, batch_id, error FROM dead_letters ORDER BY id DESC LIMIT 5"
            )
        ]
    finally:
        await conn.close()


def read_queue_depth(broker_url: str, broker_dir: Path | None, queue: str) -> int:
    from kombu import Connection

    from workers.celery_app import transport_options

    options = transport_options(broker_url, broker_dir)
    with Connection(broker_url, transport_options=options, connect_timeout=5) as conn:
        channel = conn.channel()
        try:
            _, count, _ = channel.queue_declare(queue=queue, passive=True)
        except Exception:  # the queue does not exist yet: nothing was ever published
            return 0
        finally:
            channel.close()
        return int(count)


def read_in_progress(broker_url: str, broker_dir: Path | None, queue: str) -> int | None:
    """Store tasks the workers hold (running, prefetched, or waiting out a retry), asked over
    Celery's remote control; None when the broker has none (the filesystem broker)."""
    if broker_url.startswith("filesystem"):
        return None
    from workers.celery_app import STORE_TASK, make_celery

    app = make_celery(broker_url, broker_dir, queue)
    try:
        inspect = app.control.inspect(timeout=0.5)  # each call waits this long for replies
        held = 0
        for replies in (inspect.active(), inspect.reserved(), inspect.scheduled()):
            for tasks in (replies or {}).values():
                for task in tasks:
                    request = task.get("request", task)  # scheduled() wraps the request
                    held += request.get("name") == STORE_TASK
        return held
    finally:
        app.close()


def read_metrics(url: str) -> dict[str, float]:
    """Sum every sample of each metric family in a Prometheus text page."""
    with urllib.request.urlopen(url, timeout=5) as resp:
        text = resp.read().decode("utf-8", "replace")
    out: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name_part, _, value = line.rpartition(" ")
        name = name_part.split("{", 1)[0]
        try:
            out[name] = out.get(name, 0.0) + float(value)
        except ValueError:
            continue
    return out


def collect(args: argparse.Namespace) -> Status:
    status = Status(settle_s=args.settle)
    asyncio.run(read_database(args.database_url, status))
    status.queued_batches = read_queue_depth(args.broker_url, args.broker_dir, args.queue)
    # After the queue: a message moving from the queue to a worker meanwhile is seen here.
    status.in_progress_batches = read_in_progress(args.broker_url, args.broker_dir, args.queue)
    for url in args.collector_metrics:
        status.collectors[url] = read_metrics(url)
    return status


def render(status: Status) -> str:
    lines = [
        f"stored     {status.events_stored:,} events from {status.lines_received:,} lines "
        f"in {status.batches_stored:,} batches",
        f"dropped    {status.lines_dropped:,} lines"
        + (
            " (" + ", ".join(f"{k}: {v:,}" for k, v in status.drops_by_reason.items()) + ")"
            if status.drops_by_reason
            else ""
        ),
        f"queued     {status.queued_batches if status.queued_batches is not None else '?'} "
        "batches waiting for a worker",
        f"working    {status.in_progress_batches if status.in_progress_batches is not None else '?'}"
        " batches held by workers",
        f"last batch {status.last_stored_at or 'never'}",
        f"dead       {status.dead_letters} batches in dead_letters",
    ]
    for url, metrics in status.collectors.items():
        lines.append(
            f"collector  {url}: {metrics.get('logship_collector_connections_open', 0):.0f} agents "
            f"connected, {metrics.get('logship_collector_pool_queue_depth', 0):.0f} batches in pool"
        )
    lines.extend(f"error      {e}" for e in status.last_errors)
    lines.append("state      " + ("idle" if status.idle else "busy"))
    return "\n".join(lines)


def status_main(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="logship status",
        description="Show the pipeline at a glance: stored, dropped, queued, last errors.",
        epilog="example: logship status --wait-idle --timeout 300",
    )
    parser.add_argument(
        "--database-url",
        help="PostgreSQL URL (default: $LOGSHIP_DATABASE_URL, $DATABASE_URL, the embedded "
        "database of `logship up` in ./data, else the local default)",
    )
    parser.add_argument("--broker-url", default=os.environ.get("BROKER_URL", "filesystem://"))
    parser.add_argument(
        "--broker-dir", type=Path, default=Path(os.environ.get("LOGSHIP_BROKER_DIR", "data/broker"))
    )
    parser.add_argument("--queue", default=os.environ.get("LOGSHIP_QUEUE", "logship"))
    parser.add_argument(
        "--collector-metrics",
        action="append",
        default=[],
        help="a collector's metrics URL (repeatable), e.g. http://127.0.0.1:9100/metrics",
    )
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--wait-idle", action="store_true", help="return once everything received is stored"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds for --wait-idle")
    parser.add_argument(
        "--settle", type=float, default=2.0, help="seconds without a stored batch to call it idle"
    )
    args = parser.parse_args(list(argv))
    args.database_url = database_url(args.database_url)
    try:
        status = collect(args)
        if args.wait_idle:
            deadline = time.monotonic() + args.timeout
            while not status.idle:
                if time.monotonic() > deadline:
                    print(render(status))
                    print(f"logship status: not idle after {args.timeout:.0f} s", file=sys.stderr)
                    return 1
                time.sleep(0.5)
                status = collect(args)
    except (OSError, LogshipError) as exc:
        print(f"logship status: {exc}", file=sys.stderr)
        return 1
    if args.json:
        data: dict[str, Any] = asdict(status)
        data["idle"] = status.idle
        print(json.dumps(data, indent=2))
    else:
        print(render(status))
    return 0
