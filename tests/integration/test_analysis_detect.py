"""Anomaly detection on stored events: bursts, new templates, silence, quiet steady streams."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import asyncpg
import pytest

from analysis.config import AnalysisConfig
from analysis.detect import detect, detect_recent, run_detection
from analysis.template_store import TemplateStore
from tests.integration.analysis_helpers import BASE, Line, steady, store_lines

pytestmark = pytest.mark.integration

W = 300
CFG = AnalysisConfig(window_s=W, baseline_windows=12, min_history_windows=6, silence_after_s=900)


def at_window(k: int) -> tuple:
    """(start, end) of window k after BASE."""
    return BASE + timedelta(seconds=k * W), BASE + timedelta(seconds=(k + 1) * W)


def test_steady_stream_has_no_anomaly(clean_db: str) -> None:
    """Thirteen windows of the same mix of lines: nothing is reported for the last one."""

    async def run() -> None:
        conn = await asyncpg.connect(clean_db)
        try:
            await store_lines(conn, TemplateStore(), steady(14, W))
            for k in (12, 13):
                found = await detect(conn, at_window(k)[1], W, CFG)
                assert found == [], found
            assert await conn.fetchval("SELECT count(*) FROM anomalies") == 0
        finally:
            await conn.close()

    asyncio.run(run())


def test_error_burst_and_new_template_found_in_the_right_window(clean_db: str) -> None:
    """A burst of a never-seen error in window 13 gives error-rate, spike and new-template
    anomalies for window 13 only; running the window again stores nothing twice."""

    async def run() -> None:
        conn = await asyncpg.connect(clean_db)
        store = TemplateStore()
        try:
            await store_lines(conn, store, steady(15, W))
            start, end = at_window(13)
            burst = [
                Line(
                    start + timedelta(seconds=5 + i),
                    f"disk failure on /dev/sd{i % 3} sector {i}",
                    "error",
                )
                for i in range(40)
            ]
            await store_lines(conn, store, burst)

            assert await detect(conn, at_window(12)[1], W, CFG) == []
            found = await detect(conn, end, W, CFG)
            kinds = {a.kind for a in found}
            assert {"error_rate_spike", "new_template", "template_spike"} <= kinds, found
            assert all(a.window_start == start and a.window_end == end for a in found)
            rate = next(a for a in found if a.kind == "error_rate_spike")
            assert (rate.host, rate.path) == ("web1", "/var/log/app.log")
            assert rate.detail["errors"] == 40
            new = next(a for a in found if a.kind == "new_template")
            assert new.detail["template"] == "disk failure on <*> sector <*>"
            assert new.host == "web1" and new.detail["count"] == 40
            assert all(a.inserted for a in found)

            stored = await conn.fetchval("SELECT count(*) FROM anomalies")
            again = await detect(conn, end, W, CFG)
            assert {a.kind for a in again} == kinds and not any(a.inserted for a in again)
            assert await conn.fetchval("SELECT count(*) FROM anomalies") == stored
            rows = await conn.fetch("SELECT DISTINCT window_start FROM anomalies")
            assert [r["window_start"] for r in rows] == [start]

            # The window after the burst: the template is no longer new, the rate is back.
            after = await detect(conn, at_window(14)[1], W, CFG)
            assert not {a.kind for a in after} & {"new_template", "error_rate_spike"}, after
        finally:
            await conn.close()

    asyncio.run(run())


def test_source_gone_silent_is_reported_once(clean_db: str) -> None:
    """A source active for 12 windows then quiet is reported in the window where its silence
    passes silence_after_s, and not in the windows before or after."""

    async def run() -> None:
        conn = await asyncpg.connect(clean_db)
        try:
            store = TemplateStore()
            await store_lines(conn, store, steady(12, W, host="db1", path="/var/log/db.log"))
            await store_lines(conn, store, steady(20, W, host="web1"))
            # db1's last event is in window 11 (just after its start); silence 900 s = 3 windows.
            reported = {}
            for k in range(12, 19):
                found = await detect(conn, at_window(k)[1], W, CFG)
                reported[k] = [a for a in found if a.kind == "source_silent"]
            hits = [k for k, v in reported.items() if v]
            assert len(hits) == 1, reported
            (silent,) = reported[hits[0]]
            assert (silent.host, silent.path) == ("db1", "/var/log/db.log")
            assert silent.detail["silent_s"] >= CFG.silence_after_s
            assert all(a.kind == "source_silent" for v in reported.values() for a in v)
        finally:
            await conn.close()

    asyncio.run(run())


async def _steady_then_burst(
    conn: asyncpg.Connection, store: TemplateStore
) -> tuple[datetime, datetime]:
    """15 steady windows, then 30 errors of a new template in window 13; returns its bounds."""
    await store_lines(conn, store, steady(15, W))
    start, end = at_window(13)
    burst = [
        Line(start + timedelta(seconds=i), f"fatal error code {i}", "error") for i in range(30)
    ]
    await store_lines(conn, store, burst)
    return start, end


def test_detect_recent_judges_complete_windows_only(clean_db: str) -> None:
    """`detect_recent` covers the last complete windows before `now`, idempotently."""

    async def run() -> None:
        conn = await asyncpg.connect(clean_db)
        store = TemplateStore()
        try:
            start, end = await _steady_then_burst(conn, store)
            now = end + timedelta(seconds=W + 17)  # in window 15: windows 13 and 14 complete
            found = await detect_recent(conn, now, CFG, windows=2)
            assert {a.window_start for a in found} == {start}
            assert await detect_recent(conn, now, CFG, windows=2) != []
            assert await conn.fetchval("SELECT count(*) FROM anomalies") == len(
                {(a.kind, a.host, a.path, a.template_id) for a in found}
            )
        finally:
            await conn.close()

    asyncio.run(run())


def test_run_detection_connects_by_config(clean_db: str) -> None:
    """`run_detection` uses the configured database URL and judges the recent windows."""

    async def setup() -> None:
        conn = await asyncpg.connect(clean_db)
        store = TemplateStore()
        try:
            start, _ = await _steady_then_burst(conn, store)
        finally:
            await conn.close()

    asyncio.run(setup())
    cfg = AnalysisConfig(
        database_url=clean_db, window_s=W, baseline_windows=12, min_history_windows=6
    )
    found = asyncio.run(run_detection(cfg, at_window(14)[0] + timedelta(seconds=3)))
    assert "error_rate_spike" in {a.kind for a in found}
