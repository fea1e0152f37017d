"""`logship up`: the whole stack on one machine, with an embedded default.

Without `LOGSHIP_DATABASE_URL` it starts an embedded PostgreSQL (the `pgserver` package, data
under the data dir); without `BROKER_URL` it uses kombu's filesystem transport under the data
dir. It then starts a Celery worker and the collector as child processes, prints where it
listens and how to send a file, and stops every process it started on Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from logship.errors import LogshipError

STOP_TIMEOUT_S = 20.0


class UpError(LogshipError):
    """The stack could not be started."""


@dataclass
class Stack:
    data_dir: Path
    host: str
    port: int
    database_url: str
    broker_url: str
    broker_dir: Path
    queue: str
    worker_concurrency: int


def with_database(url: str, dbname: str) -> str:
    """The same server URL, naming another database."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + dbname, parts.query, parts.fragment))


async def _prepare_database(server_url: str, dbname: str | None) -> str:
    """Create `dbname` on the server if needed and apply schema.sql; return the database URL."""
    import asyncpg

    from workers.schema import apply_schema

    url = server_url
    if dbname:
        conn = await asyncpg.connect(server_url)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", dbname)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{dbname}"')
        finally:
            await conn.close()
        url = with_database(server_url, dbname)
    conn = await asyncpg.connect(url)
    try:
        await apply_schema(conn)
    finally:
        await conn.close()
    return url


def start_database(data_dir: Path) -> str:
    """The database URL: LOGSHIP_DATABASE_URL, or an embedded PostgreSQL under data_dir."""
    url = os.environ.get("LOGSHIP_DATABASE_URL") or os.environ.get("DATABASE_URL")
    if url:
        return asyncio.run(_prepare_database(url, None))
    import pgserver

    pgdata = data_dir / "postgres"
    pgdata.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    return asyncio.run(_prepare_database(server.get_uri(), "logship"))


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def child_env(stack: Stack) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "LOGSHIP_DATABASE_URL": stack.database_url,
            "BROKER_URL": stack.broker_url,
            "LOGSHIP_BROKER_DIR": str(stack.broker_dir),
            "LOGSHIP_QUEUE": stack.queue,
            "HOST": stack.host,
            "PORT": str(stack.port),
            "STORAGE_PATH": str(stack.data_dir / "received"),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def start_children(stack: Stack) -> dict[str, subprocess.Popen[bytes]]:
    env = child_env(stack)
    worker_cmd = [
        sys.executable,
        "-m",
        "workers",
        "--loglevel",
        "WARNING",
        "-B",  # embedded beat: periodic anomaly detection (and retention when configured)
    ]
    if stack.worker_concurrency:
        worker_cmd += ["--concurrency", str(stack.worker_concurrency)]
    collector_cmd = [sys.executable, "-m", "collector"]
    return {
        "worker": subprocess.Popen(worker_cmd, env=env, start_new_session=True),
        "collector": subprocess.Popen(collector_cmd, env=env, start_new_session=True),
    }


def stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    """SIGTERM every child, wait for a graceful exit, then SIGKILL what is left."""
    for proc in children.values():
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for proc in children.values():
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def banner(stack: Stack) -> str:
    shown = "127.0.0.1" if stack.host in ("0.0.0.0", "::") else stack.host
    return (
        f"Logship is up.\n"
        f"  collector  {stack.host}:{stack.port}\n"
        f"  database   {stack.database_url}\n"
        f"  broker     {stack.broker_url}"
        + (f" ({stack.broker_dir})" if stack.broker_url.startswith("filesystem") else "")
        + f"\n  data dir   {stack.data_dir}\n\n"
        f"Send a file:   logship-agent send app.log --collector {shown}:{stack.port}\n"
        f"Query events:  psql '{stack.database_url}' -c 'SELECT * FROM log_events LIMIT 10'\n"
        f"Report:        LOGSHIP_DATABASE_URL='{stack.database_url}' logship report\n"
        f"Stop:          Ctrl-C\n"
    )


def run(
    data_dir: Path,
    host: str,
    port: int,
    queue: str = "logship",
    worker_concurrency: int = 0,
    ready_timeout_s: float = 120.0,
) -> int:
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    from workers.celery_app import normalize_broker_url  # (celery -A reads BROKER_URL too)

    broker_url = normalize_broker_url(os.environ.get("BROKER_URL") or "filesystem://")
    print(f"logship up: starting in {data_dir} ...", flush=True)
    database_url = start_database(data_dir)
    stack = Stack(
        data_dir=data_dir,
        host=host,
        port=port,
        database_url=database_url,
        broker_url=broker_url,
        broker_dir=data_dir / "broker",
        queue=queue,
        worker_concurrency=worker_concurrency,
    )
    stopping = False

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    (data_dir / "database_url").write_text(database_url + "\n")
    children = start_children(stack)
    try:
        probe = "127.0.0.1" if host in ("0.0.0.0", "") else host
        deadline = time.monotonic() + ready_timeout_s
        while not _port_open(probe, port):
            dead = [name for name, p in children.items() if p.poll() is not None]
            if dead:
                print(f"logship up: the {dead[0]} exited during start; stopping.", file=sys.stderr)
                return 1
            if stopping:
                return 0
            if time.monotonic() > deadline:
                print(f"logship up: the collector did not listen on {host}:{port}", file=sys.stderr)
                return 1
            time.sleep(0.2)
        print(banner(stack), flush=True)
        while not stopping:
            for name, proc in children.items():
                if proc.poll() is not None:
                    print(
                        f"logship up: the {name} exited with code {proc.returncode}; "
                        "stopping everything (data is safe: agents resend what was not ACKed).",
                        file=sys.stderr,
                    )
                    return 1
            time.sleep(0.5)
        print("logship up: stopping ...", flush=True)
        return 0
    finally:
        stop_children(children)
