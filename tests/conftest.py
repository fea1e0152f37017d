"""Shared fixtures: real PostgreSQL and a real Celery broker for integration tests.

PostgreSQL: `LOGSHIP_TEST_DATABASE_URL` names a server (any database on it; trust or password
auth); each test session creates its own throwaway database there and drops it at the end.
Without it, a throwaway server is started with `pgserver` under a temporary directory.

Broker: `LOGSHIP_TEST_BROKER_URL` (RabbitMQ or Redis). Without it, kombu's filesystem transport
under a temporary directory. Each session uses its own queue name so stale messages from other
runs are never consumed. Integration tests fail, never skip, when a service is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from logship.up import with_database

# pgserver logs at interpreter exit, after pytest has closed its capture streams.
logging.getLogger("pgserver").setLevel(logging.WARNING)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = ROOT / "schema.sql"


def _loghub() -> Path:
    """The LogHub samples: $LOGSHIP_LOGHUB_DIR, else shared/data/loghub beside the checkout (as
    in CI), else beside the local repository this checkout was cloned from."""
    if os.environ.get("LOGSHIP_LOGHUB_DIR"):
        return Path(os.environ["LOGSHIP_LOGHUB_DIR"])
    beside = ROOT.parent / "shared" / "data" / "loghub"
    if beside.is_dir():
        return beside
    try:
        origin = subprocess.run(
            ["git", "-C", str(ROOT), "config", "--get", "remote.origin.url"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        origin = ""
    if origin and "://" not in origin and Path(origin).is_dir():
        cloned_from = Path(origin).resolve().parent / "shared" / "data" / "loghub"
        if cloned_from.is_dir():
            return cloned_from
    return beside


LOGHUB = _loghub()


async def _admin(url: str, *statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        for statement in statements:
            await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def pg_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URL of a PostgreSQL server to make throwaway databases on."""
    url = os.environ.get("LOGSHIP_TEST_DATABASE_URL")
    if url:
        yield url
        return
    import shutil
    import tempfile

    import pgserver

    # Not under pytest's tmp dir: as root, pgserver runs PostgreSQL as its own system user,
    # which cannot enter pytest's 0700 folders.
    pgdata = Path(tempfile.mkdtemp(prefix="logship-test-pg-"))
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(pgdata, ignore_errors=True)


@pytest.fixture(scope="session")
def database_url(pg_server_url: str) -> Iterator[str]:
    """A fresh database with schema.sql applied, dropped after the session."""
    name = f"logship_test_{uuid.uuid4().hex[:10]}"
    asyncio.run(_admin(pg_server_url, f'CREATE DATABASE "{name}"'))
    url = with_database(pg_server_url, name)
    asyncio.run(_admin(url, SCHEMA.read_text()))
    yield url
    asyncio.run(_admin(pg_server_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture
def clean_db(database_url: str) -> str:
    """The session database with every data table emptied before the test."""
    asyncio.run(
        _admin(
            database_url,
            "TRUNCATE log_events, ingest_batches, ingest_drops, dead_letters, log_templates, "
            "anomalies RESTART IDENTITY CASCADE",
        )
    )
    from analysis.template_store import forget_templates  # (server side: imported here only)

    forget_templates()  # ids cached by this process named rows that are gone now
    return database_url


@pytest.fixture(scope="session")
def broker_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The Celery broker URL (real RabbitMQ/Redis in CI, filesystem transport otherwise)."""
    url = os.environ.get("LOGSHIP_TEST_BROKER_URL")
    if url:
        return url
    return "filesystem://"


@pytest.fixture(scope="session")
def broker_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Folder for the filesystem transport (used only when no broker URL is given)."""
    return tmp_path_factory.mktemp("broker")


@pytest.fixture
def queue_name() -> str:
    """A queue of this test's own, so no other run's messages are consumed."""
    return f"logship-test-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="session")
def python() -> str:
    return sys.executable
