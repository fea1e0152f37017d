"""`logship dead-letters` against the real database: list, show, replay after a fix."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest

from logship.cli import main as logship_main
from tests.integration.test_workers_postgres import make_batch
from workers import runtime, tasks
from workers.config import WorkerConfig
from workers.postgres import dead_letter

pytestmark = pytest.mark.integration

SHORT = "ALTER TABLE log_events ADD CONSTRAINT test_dead_letters_short CHECK (length(message) < 3)"
UNSHORT = "ALTER TABLE log_events DROP CONSTRAINT IF EXISTS test_dead_letters_short"


async def _sql(url: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(url)
    try:
        if query.lstrip().upper().startswith("SELECT"):
            return await conn.fetch(query, *args)
        return await conn.execute(query, *args)
    finally:
        await conn.close()


def sql(url: str, query: str, *args: Any) -> Any:
    return asyncio.run(_sql(url, query, *args))


def cli(url: str, *argv: str) -> int:
    return logship_main(["dead-letters", "--database-url", url, *argv])


@pytest.fixture
def worker_runtime(clean_db: str) -> Iterator[None]:
    """This process configured as a worker on the test database."""
    runtime.configure(WorkerConfig(database_url=clean_db, apply_schema=True))
    yield
    runtime.shutdown()


@pytest.fixture
def refusing_db(clean_db: str, worker_runtime: None) -> Iterator[str]:
    """log_events refuses messages of 3 characters or more until the test drops the check."""
    sql(clean_db, SHORT)
    try:
        yield clean_db
    finally:
        sql(clean_db, UNSHORT)


def test_replay_stores_the_batch_once_the_cause_is_fixed(
    refusing_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch PostgreSQL refused is listed; replaying it while the cause remains keeps it
    (with the new error); once fixed, replay stores it exactly once and removes the letter."""
    url = refusing_db
    message = make_batch("dl-1").to_message()
    assert tasks.store(tasks.store_batch, message) == "dead-letter"
    assert cli(url, "list") == 0
    out = capsys.readouterr().out
    assert "dl-1" in out and "CheckViolationError" in out

    [letter] = sql(url, "SELECT id, failed_at FROM dead_letters")
    assert cli(url, "replay", str(letter["id"])) == 1  # still refused
    assert "1 failed" in capsys.readouterr().out
    [kept] = sql(url, "SELECT id, failed_at, error FROM dead_letters")
    assert kept["id"] == letter["id"] and kept["failed_at"] > letter["failed_at"]
    assert "test_dead_letters_short" in kept["error"]

    sql(url, UNSHORT)
    assert cli(url, "--json", "replay", "--all") == 0
    assert json.loads(capsys.readouterr().out) == {
        "stored": [letter["id"]],
        "duplicates": [],
        "failed": {},
    }
    assert sql(url, "SELECT count(*) AS n FROM dead_letters")[0]["n"] == 0
    rows = sql(url, "SELECT message, template_id FROM log_events ORDER BY byte_offset")
    assert [r["message"] for r in rows] == [f"line {i} of dl-1" for i in range(3)]
    assert all(r["template_id"] is not None for r in rows)  # the worker's path: templates too

    # The same batch dead-lettered again (say, by a second delivery): stored once, letter gone.
    assert tasks.store(tasks.store_batch, message) == "duplicate"
    sql(
        url,
        "INSERT INTO dead_letters (batch_id, error, payload) SELECT 'dl-1', 'x', payload "
        "FROM (SELECT $1::bytea AS payload) p",
        tasks._payload(message),
    )
    assert cli(url, "--json", "replay", "--all") == 0
    assert json.loads(capsys.readouterr().out)["duplicates"] != []
    assert sql(url, "SELECT count(*) AS n FROM log_events")[0]["n"] == 3
    assert sql(url, "SELECT count(*) AS n FROM dead_letters")[0]["n"] == 0


def test_unreadable_payload_is_kept_and_shown(
    clean_db: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dead letter whose payload is not msgpack is never deleted: replay fails with a clear
    error and `show` says why."""

    async def put(conn: asyncpg.Connection) -> int:
        return await dead_letter(conn, "b-text", "TypeError: odd", b"\xc1 not msgpack")

    async def go() -> int:
        conn = await asyncpg.connect(clean_db)
        try:
            return await put(conn)
        finally:
            await conn.close()

    letter_id = asyncio.run(go())
    assert cli(clean_db, "replay", str(letter_id), "999999") == 1
    out = capsys.readouterr().out
    assert "not msgpack" in out and "no dead letter with id 999999" in out
    assert sql(clean_db, "SELECT count(*) AS n FROM dead_letters")[0]["n"] == 1
    assert cli(clean_db, "show", str(letter_id)) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["batch_id"] == "b-text" and "not msgpack" in shown["payload_error"]
    assert cli(clean_db, "show", "999999") == 1
    assert "no dead letter" in capsys.readouterr().err


def test_empty_list_and_usage_errors(clean_db: str, capsys: pytest.CaptureFixture[str]) -> None:
    """No dead letters says so; replay needs ids or --all, not both (exit 2)."""
    assert cli(clean_db, "list") == 0
    assert "No dead letters" in capsys.readouterr().out
    for argv in (["replay"], ["replay", "1", "--all"]):
        with pytest.raises(SystemExit) as exc:
            cli(clean_db, *argv)
        assert exc.value.code == 2


def test_unreachable_database_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    """A database that does not answer: exit 1 with its (redacted) URL, no traceback."""
    url = "postgresql://postgres:secret@127.0.0.1:1/nothing"
    assert logship_main(["dead-letters", "--database-url", url, "list"]) == 1
    err = capsys.readouterr().err
    assert "unreachable" in err and "secret" not in err
