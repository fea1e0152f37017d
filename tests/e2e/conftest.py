"""Fixtures that run the real stack as processes: a collector and a Celery worker.

Both use the session's real PostgreSQL database and broker (tests/conftest.py) and a queue of
the test's own. Everything started here is stopped (SIGTERM, then SIGKILL) at teardown.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within {timeout_s} s")


def stop(proc: subprocess.Popen[bytes], timeout_s: float = 20.0) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def query(url: str, sql: str, *args: object) -> list[asyncpg.Record]:
    async def run() -> list[asyncpg.Record]:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetch(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(run())


def wait_for(predicate, timeout_s: float = 60.0, what: str = "condition") -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Stack:
    host: str
    port: int
    database_url: str
    env: dict[str, str]
    tmp: Path
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def collector(self) -> str:
        return f"{self.host}:{self.port}"

    def start_worker(self) -> None:
        self.procs["worker"] = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "workers",
                "--concurrency",
                "2",
                "--loglevel",
                "WARNING",
                # A node name of its own: two test runs on one RabbitMQ never share a pidbox.
                "-n",
                f"{self.env['LOGSHIP_QUEUE']}@%h",
                "--without-gossip",
                "--without-mingle",
            ],  # fmt: skip
            env=self.env,
            cwd=self.tmp,
        )

    def start_collector(self) -> None:
        proc = subprocess.Popen([sys.executable, "-m", "collector"], env=self.env, cwd=self.tmp)
        self.procs["collector"] = proc
        wait_port(self.port, proc)

    def stop(self, name: str) -> int:
        return stop(self.procs.pop(name))

    def stored_lines(self) -> int:
        rows = query(
            self.database_url, "SELECT coalesce(sum(lines_received), 0) AS n FROM ingest_batches"
        )
        return int(rows[0]["n"])

    def agent(self, *args: str, timeout_s: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "agent", *args],
            env=self.env,
            cwd=self.tmp,
            capture_output=True,
            text=True,
            timeout=timeout_s,
        )


def make_stack(
    database_url: str, broker_url: str, broker_dir: Path, queue: str, tmp: Path
) -> Stack:
    port = free_port()
    env = dict(os.environ)
    env.update(
        {
            "LOGSHIP_DATABASE_URL": database_url,
            "BROKER_URL": broker_url,
            "LOGSHIP_BROKER_DIR": str(broker_dir),
            "LOGSHIP_QUEUE": queue,
            "HOST": "127.0.0.1",
            "PORT": str(port),
            "STORAGE_PATH": str(tmp / "received"),
            "LOGSHIP_STATE_DIR": str(tmp / "agent-state"),
            "LOGSHIP_POOL_PROCESSES": "2",
            "LOGSHIP_RETRY_BACKOFF_MAX_S": "2",
            "PYTHONPATH": str(ROOT),
            "PYTHONUNBUFFERED": "1",
        }
    )
    return Stack("127.0.0.1", port, database_url, env, tmp)


@pytest.fixture
def stack(
    clean_db: str, broker_url: str, broker_dir: Path, queue_name: str, tmp_path: Path
) -> Iterator[Stack]:
    """A collector and a worker on the test database and broker, with a queue of their own."""
    s = make_stack(clean_db, broker_url, broker_dir, queue_name, tmp_path)
    s.start_worker()
    s.start_collector()
    try:
        yield s
    finally:
        for proc in s.procs.values():
            stop(proc)
