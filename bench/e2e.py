"""End-to-end throughput: `logship-agent send` → collector → pool → Celery → PostgreSQL.

Generates N lines of mixed realistic logs, starts a collector and a worker (as `logship up`
does), sends the file, waits until every line is stored or counted as dropped, and prints
end-to-end lines/s next to a raw COPY of the same lines into a same-shaped table in the same
run, with the ratio. Figures, not assertions: machines are noisy, the ratio is what to compare.

    python bench/e2e.py --lines 1000000
    python bench/e2e.py --lines 200000 --database-url postgresql://postgres@127.0.0.1/postgres \
        --broker-url amqp://guest:guest@127.0.0.1:5672//
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import loggen  # noqa: E402
from logship import up  # noqa: E402


async def _admin(url: str, sql: str) -> None:
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _fetchval(url: str, sql: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(await conn.fetchval(sql) or 0)
    finally:
        await conn.close()


async def raw_copy(url: str, path: Path, chunk: int = 10_000) -> tuple[int, float]:
    """COPY every line of `path` into an unpartitioned table shaped like log_events."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP TABLE IF EXISTS bench_raw_copy")
        await conn.execute("CREATE TABLE bench_raw_copy (LIKE log_events INCLUDING DEFAULTS)")
        columns = [
            "received_at", "ts", "host", "path", "level", "format", "message",
            "agent", "file_id", "byte_offset", "line_count", "batch_id",
        ]  # fmt: skip
        now = datetime.now(UTC)
        start = time.perf_counter()
        n = 0
        offset = 0
        records = []
        with path.open("rb") as fh:
            for raw in fh:
                records.append(
                    (
                        now,
                        None,
                        "bench",
                        str(path),
                        None,
                        "generic",
                        raw.rstrip(b"\n").decode("utf-8", "replace"),
                        "bench",
                        "0:0:0",
                        offset,
                        1,
                        "raw",
                    )  # fmt: skip
                )
                offset += len(raw)
                n += 1
                if len(records) >= chunk:
                    await conn.copy_records_to_table(
                        "bench_raw_copy", records=records, columns=columns
                    )
                    records = []
        if records:
            await conn.copy_records_to_table("bench_raw_copy", records=records, columns=columns)
        elapsed = time.perf_counter() - start
        await conn.execute("DROP TABLE bench_raw_copy")
        return n, elapsed
    finally:
        await conn.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--database-url", default=os.environ.get("LOGSHIP_DATABASE_URL"))
    parser.add_argument("--broker-url", default=os.environ.get("BROKER_URL", "filesystem://"))
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--pool", type=int, default=0, help="pre-filter processes (0 = cores)")
    parser.add_argument("--timeout-s", type=float, default=3600)
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="logship-bench-"))
    log = tmp / "bench.log"
    t0 = time.perf_counter()
    size = loggen.write(log, args.lines)
    print(
        f"generated {args.lines:,} lines ({size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s"
    )

    if args.database_url:
        server_url = args.database_url
    else:
        import pgserver

        server_url = pgserver.get_server(tmp / "pg", cleanup_mode="stop").get_uri()
    dbname = f"logship_bench_{uuid.uuid4().hex[:8]}"
    asyncio.run(_admin(server_url, f'CREATE DATABASE "{dbname}"'))
    db_url = asyncio.run(up._prepare_database(up.with_database(server_url, dbname), None))

    stack = up.Stack(
        data_dir=tmp,
        host="127.0.0.1",
        port=up_free_port(),
        database_url=db_url,
        broker_url=args.broker_url,
        broker_dir=tmp / "broker",
        queue=f"logship-bench-{uuid.uuid4().hex[:6]}",
        worker_concurrency=args.workers,
    )
    if args.pool:
        os.environ["LOGSHIP_POOL_PROCESSES"] = str(args.pool)
    children = up.start_children(stack)
    try:
        while not up._port_open("127.0.0.1", stack.port):
            time.sleep(0.2)
        env = up.child_env(stack)
        env["LOGSHIP_STATE_DIR"] = str(tmp / "agent-state")
        start = time.perf_counter()
        sent = subprocess.run(
            [
                sys.executable,
                "-m",
                "agent",
                "send",
                str(log),
                "--json",
                "--collector",
                f"127.0.0.1:{stack.port}",
            ],  # fmt: skip
            env=env,
            capture_output=True,
            text=True,
        )
        acked = time.perf_counter() - start
        if sent.returncode != 0:
            print(sent.stdout, sent.stderr, file=sys.stderr)
            return 1
        q = "SELECT sum(lines_received) FROM ingest_batches"
        while asyncio.run(_fetchval(db_url, q)) < args.lines:
            if time.perf_counter() - start > args.timeout_s:
                print("timed out waiting for the workers", file=sys.stderr)
                return 1
            time.sleep(0.25)
        e2e = time.perf_counter() - start
        agent_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss  # the agent, waited for
        memory = {name: peak_rss_kb(proc.pid) for name, proc in children.items()}
    finally:
        up.stop_children(children)
    dropped = asyncio.run(_fetchval(db_url, "SELECT coalesce(sum(lines), 0) FROM ingest_drops"))
    n, raw = asyncio.run(raw_copy(db_url, log))
    asyncio.run(_admin(server_url, f'DROP DATABASE IF EXISTS "{dbname}" WITH (FORCE)'))

    print(f"lines                 {args.lines:,} ({dropped:,} dropped with a reason)")
    print(f"agent send (all ACKed) {acked:8.1f} s  {args.lines / acked:12,.0f} lines/s")
    print(f"end to end (stored)    {e2e:8.1f} s  {args.lines / e2e:12,.0f} lines/s")
    print(f"raw COPY baseline      {raw:8.1f} s  {n / raw:12,.0f} lines/s")
    print(f"ratio end-to-end / raw COPY: {(args.lines / e2e) / (n / raw):.3f}")
    print(f"peak RSS: agent {agent_kb / 1024:.0f} MB", end="")
    for name, kbs in memory.items():
        print(f"; {name} {len(kbs)} processes, largest {max(kbs) / 1024:.0f} MB", end="")
    print()
    return 0


def peak_rss_kb(pid: int) -> list[int]:
    """VmHWM (peak resident set, kB) of `pid` and of every process below it (Linux /proc)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    tree, frontier = [pid], [pid]
    while frontier:
        frontier = [p for p, parent in parents.items() if parent in frontier]
        tree += frontier
    out = []
    for p in tree:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    out.append(int(line.split()[1]))
        except OSError:
            continue
    return out or [0]


def up_free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


if __name__ == "__main__":
    sys.exit(main())
