"""Template ids in PostgreSQL: consistent across processes, counted per batch, merges recorded."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from analysis.template_store import MAX_TEMPLATE_BYTES, TemplateStore, clip_template
from logship.records import Event

pytestmark = pytest.mark.integration


def events(*messages: str) -> list[Event]:
    return [Event(offset=i, line_count=1, message=m) for i, m in enumerate(messages)]


async def _rows(conn: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch("SELECT * FROM log_templates")
    return {r["template"]: r for r in rows}


def test_batch_gets_ids_and_counts(clean_db: str) -> None:
    """Every event gets the id of its template's row; counts are per template per batch."""

    async def run() -> None:
        conn = await asyncpg.connect(clean_db)
        try:
            store = TemplateStore()
            batch = events(
                "Received block blk_1 of size 10 from /10.0.0.1",
                "Received block blk_2 of size 20 from /10.0.0.2",
                "Deleting block blk_3 file /data/blk_3",
            )
            await store.assign(conn, batch)
            rows = await _rows(conn)
            received = rows["Received block <*> of size <*> from <*>"]
            assert batch[0].template_id == batch[1].template_id == received["id"]
            assert received["events"] == 2
            assert batch[2].template_id == rows["Deleting block <*> file <*>"]["id"]
            await store.assign(conn, events("Received block blk_9 of size 1 from /10.0.0.9"))
            rows = await _rows(conn)
            assert rows["Received block <*> of size <*> from <*>"]["events"] == 3
            assert (
                rows["Received block <*> of size <*> from <*>"]["last_seen"]
                >= received["last_seen"]
            )
        finally:
            await conn.close()

    asyncio.run(run())


def test_two_processes_get_the_same_ids(clean_db: str) -> None:
    """Two independent miners (as in two pool processes) map one template to one row id."""

    async def run() -> None:
        a_conn = await asyncpg.connect(clean_db)
        b_conn = await asyncpg.connect(clean_db)
        try:
            a, b = TemplateStore(), TemplateStore()
            msgs = [f"Connection closed by 10.0.{i}.1 port {1000 + i}" for i in range(20)]
            msgs += [f"disk sda{i} is full" for i in range(20)]
            ea, eb = events(*msgs), events(*reversed(msgs))
            await asyncio.gather(a.assign(a_conn, ea), b.assign(b_conn, eb))
            assert [e.template_id for e in ea] == [e.template_id for e in reversed(eb)]
            assert await a_conn.fetchval("SELECT count(*) FROM log_templates") == 2
            assert await a_conn.fetchval("SELECT sum(events) FROM log_templates") == 80
        finally:
            await a_conn.close()
            await b_conn.close()

    asyncio.run(run())


def test_generalised_template_is_recorded_and_seeds_new_processes(clean_db: str) -> None:
    """When a position turns variable, old rows point to the new one; a new process uses it."""

    async def run() -> None:
        conn = await asyncpg.connect(clean_db)
        try:
            store = TemplateStore()
            first = events("session closed for user alice", "session closed for user bob")
            await store.assign(conn, first)
            assert first[0].template_id != first[1].template_id
            third = events("session closed for user carol")
            await store.assign(conn, third)
            rows = await _rows(conn)
            general = rows["session closed for user <*>"]["id"]
            assert third[0].template_id == general
            assert rows["session closed for user alice"]["merged_into"] == general
            assert rows["session closed for user bob"]["merged_into"] == general

            fresh = TemplateStore()
            later = events("session closed for user zed")
            await fresh.assign(conn, later)
            assert later[0].template_id == general
        finally:
            await conn.close()

    asyncio.run(run())


def test_very_long_templates_are_clipped_to_fit_the_index(clean_db: str) -> None:
    """A template longer than the index allows is stored clipped, and still gets one id."""

    async def run() -> None:
        conn = await asyncpg.connect(clean_db)
        try:
            store = TemplateStore()
            words = " ".join(
                f"component{chr(97 + i % 26)}subsystem{chr(97 + i // 26 % 26)}" for i in range(190)
            )
            assert len(words) > 1.5 * MAX_TEMPLATE_BYTES
            batch = events(words, words)
            await store.assign(conn, batch)
            stored = await conn.fetchval("SELECT template FROM log_templates")
            assert len(stored.encode()) <= MAX_TEMPLATE_BYTES
            assert stored.endswith("<...>")
            assert batch[0].template_id == batch[1].template_id is not None
            assert clip_template("short") == "short"
        finally:
            await conn.close()

    asyncio.run(run())


def test_small_miner_forgetting_clusters_still_gives_every_event_an_id(clean_db: str) -> None:
    """Clusters forgotten mid-batch (max_clusters) keep the template they had when met."""

    async def run() -> None:
        conn = await asyncpg.connect(clean_db)
        try:
            from analysis.templates import MinerConfig, TemplateMiner

            store = TemplateStore(TemplateMiner(MinerConfig(max_clusters=4)))
            names = [f"{a}{b}" for a in "abcdef" for b in "xyz"]
            batch = events(*(f"{n}service restarted cleanly" for n in names))
            await store.assign(conn, batch)
            assert all(e.template_id is not None for e in batch)
            assert len({e.template_id for e in batch}) == len(names)
        finally:
            await conn.close()

    asyncio.run(run())
