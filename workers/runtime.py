"""Per-process state of a worker: one event loop and one asyncpg pool, created lazily.

Celery tasks are synchronous; each worker process keeps one event loop (uvloop when
installed) and runs the storage coroutines on it. The pool and the schema are set up on first
use, so a database that is down at start only delays work (the task is retried) and a forked
child never inherits a parent's connections.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Coroutine
from typing import Any, TypeVar

import asyncpg

from logship.records import CleanBatch
from workers.config import WorkerConfig, load_config
from workers.postgres import dead_letter, store_rows
from workers.rows import BatchRows, batch_rows
from workers.schema import apply_schema

log = logging.getLogger("logship.workers")
T = TypeVar("T")

_config: WorkerConfig | None = None
_runtime: Runtime | None = None


def configure(cfg: WorkerConfig) -> None:
    """Set the configuration the tasks of this process use."""
    global _config
    _config = cfg


def config() -> WorkerConfig:
    """The configuration set by `configure`, else loaded from the environment."""
    global _config
    if _config is None:
        _config = load_config()
    return _config


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a server dependency
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


class Runtime:
    """The event loop, pool and schema state of one worker process."""

    def __init__(self, cfg: WorkerConfig) -> None:
        self.cfg = cfg
        self.pid = os.getpid()
        self.loop = _new_loop()
        self.pool: asyncpg.Pool | None = None
        self.schema_applied = not cfg.apply_schema

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    async def _connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.cfg.database_url, timeout=self.cfg.db_connect_timeout_s)

    async def get_pool(self) -> asyncpg.Pool:
        if self.pool is None:
            if not self.schema_applied:
                conn = await self._connect()
                try:
                    path = await apply_schema(conn)
                finally:
                    await conn.close()
                self.schema_applied = True
                log.info("Schema %s applied.", path)
            self.pool = await asyncpg.create_pool(
                self.cfg.database_url,
                min_size=0,  # no background reconnect loop while the database is down
                max_size=self.cfg.db_pool_size,
                timeout=self.cfg.db_connect_timeout_s,
                command_timeout=self.cfg.db_command_timeout_s,
            )
        return self.pool

    async def store(self, rows: BatchRows) -> bool:
        pool = await self.get_pool()
        async with pool.acquire(timeout=self.cfg.db_connect_timeout_s) as conn:
            return await store_rows(conn, rows)

    async def assign_templates(self, batch: CleanBatch) -> None:
        """Set every event's template_id (ids live in log_templates; see analysis)."""
        from analysis.template_store import assign_templates

        pool = await self.get_pool()
        async with pool.acquire(timeout=self.cfg.db_connect_timeout_s) as conn:
            await assign_templates(conn, batch.events, count=False)  # counted when stored

    async def store_message(self, message: Any) -> tuple[bool, BatchRows]:
        """The worker's path for one batch message (the task, and dead-letter replay): decode,
        assign templates (outside the COPY transaction, so template rows are not held locked
        while copying), map to rows, store. Returns (stored now, the rows)."""
        batch = CleanBatch.from_message(message)
        if self.cfg.mine_templates:
            await self.assign_templates(batch)
        rows = batch_rows(batch)
        return await self.store(rows), rows

    async def dead_letter(self, batch_id: str | None, error: str, payload: bytes) -> int:
        pool = await self.get_pool()
        async with pool.acquire(timeout=self.cfg.db_connect_timeout_s) as conn:
            return await dead_letter(conn, batch_id, error, payload)

    async def _close(self) -> None:
        if self.pool is not None:
            pool, self.pool = self.pool, None
            try:
                await asyncio.wait_for(pool.close(), timeout=10)
            except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                pool.terminate()

    def close(self) -> None:
        """Close the pool and the loop (worker process shutdown)."""
        if self.loop.is_closed():
            return
        try:
            self.run(self._close())
        finally:
            self.loop.close()


def runtime() -> Runtime:
    """This process's runtime; a new one after a fork."""
    global _runtime
    if _runtime is None or _runtime.pid != os.getpid():
        _runtime = Runtime(config())
    return _runtime


def shutdown() -> None:
    """Close this process's runtime, if it has one."""
    global _runtime
    if _runtime is not None and _runtime.pid == os.getpid():
        rt, _runtime = _runtime, None
        rt.close()
