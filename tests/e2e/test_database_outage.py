"""PostgreSQL stopped during ingest and restarted: nothing is lost, nothing stored twice.

Uses a throwaway PostgreSQL (pgserver) of its own, so the machine's server is never stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pgserver
import pytest

from bench import loggen
from tests.conftest import SCHEMA, _admin
from tests.e2e.conftest import Stack, make_stack, query, stop, wait_for

pytestmark = pytest.mark.e2e


class ThrowawayPostgres:
    """A pgserver instance that can be stopped and started again on the same data."""

    def __init__(self, pgdata: Path) -> None:
        self.pgdata = pgdata
        self.server = pgserver.get_server(pgdata, cleanup_mode="stop")
        self.url = self.server.get_uri()
        self.socket_dir = parse_qs(urlsplit(self.url).query)["host"][0]

    def stop(self) -> None:
        pgserver.pg_ctl(
            ["-w", "stop", "-m", "fast"], pgdata=self.pgdata, user=self.server.system_user
        )

    def start(self) -> None:
        pgserver.pg_ctl(
            [
                "-w",
                "-o",
                '-h ""',
                "-o",
                f"-k {self.socket_dir}",
                "-l",
                str(self.server.log),
                "start",
            ],
            pgdata=self.pgdata,
            user=self.server.system_user,
            timeout=30,
        )


@pytest.fixture
def own_postgres() -> Iterator[ThrowawayPostgres]:
    # Not under pytest's tmp dir: as root, pgserver runs PostgreSQL as its own system user,
    # which cannot enter pytest's 0700 folders.
    pgdata = Path(tempfile.mkdtemp(prefix="logship-outage-pg-"))
    pg = ThrowawayPostgres(pgdata)
    asyncio.run(_admin(pg.url, SCHEMA.read_text()))
    yield pg
    with contextlib.suppress(Exception):
        pg.stop()
    shutil.rmtree(pgdata, ignore_errors=True)


def test_database_outage_loses_nothing(
    own_postgres: ThrowawayPostgres,
    broker_url: str,
    broker_dir: Path,
    queue_name: str,
    tmp_path: Path,
) -> None:
    """Batches ACKed while PostgreSQL is down are stored once it is back."""
    stack: Stack = make_stack(own_postgres.url, broker_url, broker_dir, queue_name, tmp_path)
    stack.start_worker()
    stack.start_collector()
    try:
        first = tmp_path / "first.log"
        loggen.write(first, 1000)
        assert stack.agent("send", str(first), "--collector", stack.collector).returncode == 0
        wait_for(lambda: stack.stored_lines() == 1000, what="first file stored")

        own_postgres.stop()
        second = tmp_path / "second.log"
        loggen.write(second, 3000, seed=7)
        sent = stack.agent("send", str(second), "--collector", stack.collector)
        assert sent.returncode == 0, sent.stderr  # ACKed: safe in the broker
        time.sleep(3)  # the worker meets the dead database and retries
        own_postgres.start()

        wait_for(lambda: stack.stored_lines() == 4000, timeout_s=120, what="all lines stored")
        dupes = query(
            own_postgres.url,
            "SELECT file_id, byte_offset FROM log_events GROUP BY 1, 2 HAVING count(*) > 1",
        )
        assert dupes == []
    finally:
        for proc in stack.procs.values():
            stop(proc)
