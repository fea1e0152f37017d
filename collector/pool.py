"""The pre-filter pool: processes that decode, clean, parse, archive and publish batches.

Each process attaches the shared-memory arena once (`init_worker`) and builds its own Celery
app with `workers.celery_app.make_celery`. `run_batch` gets only (slot, length, metadata),
runs `process_batch`, appends the raw lines to the archive and publishes the cleaned batch
with `send_task` (broker-confirmed), retrying with tenacity for up to `publish_timeout_s`.
It never raises: it returns a result map the server turns into ACK or ERROR.

`PrefilterPool` is the server-side handle; when a process dies it recreates the pool, and
the batches that were in it are answered UNAVAILABLE (never ACKed), so agents resend them.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from multiprocessing.connection import wait as wait_for_exit
from typing import Any

import msgpack
from tenacity import (
    Retrying,
    retry_if_exception,
    stop_after_delay,
    wait_exponential_jitter,
)

from collector import metrics
from collector.archive import append_lines
from collector.config import CollectorConfig
from collector.errors import ArchiveError, PoolError, is_retriable
from collector.prefilter import process_batch
from collector.shm import attach, read_slot
from logship.wire import ErrorCode

log = logging.getLogger("logship.collector.pool")

# Celery's own reconnect loop inside one send_task; tenacity bounds the whole.
_SEND_RETRY_POLICY = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}

_state: dict[str, Any] = {}


def _exit_with_parent(parent: int, interval_s: float = 1.0) -> None:
    """Exit when the collector process is gone (killed with SIGKILL), instead of lingering."""
    while os.getppid() == parent:
        time.sleep(interval_s)
    os._exit(1)


def init_worker(shm_name: str, slot_bytes: int, cfg: CollectorConfig, parent: int) -> None:
    """Pool process initializer: attach the arena and build the Celery publisher.

    `parent` is the collector's pid, passed in rather than read here: a process still
    starting when the collector was killed must notice at once that it is orphaned.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the server decides when to stop
    threading.Thread(
        target=_exit_with_parent, args=(parent,), name="parent-watch", daemon=True
    ).start()
    from logship import logs
    from workers.celery_app import make_celery

    logs.configure(logging.INFO)
    _state["shm"] = attach(shm_name)
    _state["slot_bytes"] = slot_bytes
    _state["cfg"] = cfg
    _state["app"] = make_celery(cfg.broker_url, cfg.broker_dir, cfg.queue)


def warm() -> int:
    """A no-op that makes the pool start its processes ahead of the first batch."""
    return os.getpid()


def _publish(message: dict[str, Any], cfg: CollectorConfig) -> None:
    from workers.celery_app import STORE_TASK

    app = _state["app"]
    for attempt in Retrying(
        stop=stop_after_delay(cfg.publish_timeout_s),
        wait=wait_exponential_jitter(initial=0.1, max=2.0),
        retry=retry_if_exception(is_retriable),
        reraise=True,
    ):
        with attempt:
            app.send_task(
                STORE_TASK,
                args=[message],
                queue=cfg.queue,
                retry=True,
                retry_policy=_SEND_RETRY_POLICY,
                # Shown by monitoring tools; Celery's default is a saferepr of the whole batch.
                argsrepr=f"[<batch {message.get('id')}>]",
                kwargsrepr="{}",
            )


def run_batch(slot: int, length: int, meta: dict[str, Any]) -> dict[str, Any]:
    """Process the batch stored in `slot`. Returns a result map; never raises."""
    cfg: CollectorConfig = _state["cfg"]
    batch_id = meta.get("batch_id", "?")
    result: dict[str, Any] = {"ok": False, "batch_id": batch_id}
    try:
        payload = read_slot(_state["shm"], slot, _state["slot_bytes"], length)
        body = msgpack.unpackb(payload, raw=False, strict_map_key=True)
        batch = process_batch(body, meta["agent"], meta["hostname"], meta["received_at"], cfg)
        batch.check()
    except Exception as exc:  # noqa: BLE001 - a bug must not kill the pool process
        log.exception("Batch could not be processed. batch=%s", batch_id)
        result.update(code=int(ErrorCode.INTERNAL), error=f"processing failed: {exc!r}")
        return result
    result.update(
        lines=batch.lines_received,
        events=len(batch.events),
        drops=dict(batch.drops),
        truncated=batch.truncated,
        archive_error=None,
    )
    try:
        append_lines(cfg.storage_path, batch.agent, batch.path, body["lines"])
    except ArchiveError as exc:  # a full disk is counted, never fatal
        log.warning("Archive write failed. batch=%s error=%s", batch_id, exc)
        result["archive_error"] = str(exc)
    started = time.monotonic()
    try:
        _publish(batch.to_message(), cfg)
    except Exception as exc:  # noqa: BLE001
        retriable = is_retriable(exc)
        log.warning("Publish failed. batch=%s retriable=%s error=%r", batch_id, retriable, exc)
        code = ErrorCode.UNAVAILABLE if retriable else ErrorCode.INTERNAL
        result.update(code=int(code), error=f"could not publish the batch: {exc!r}")
        return result
    result.update(ok=True, publish_s=time.monotonic() - started)
    return result


class PrefilterPool:
    """Server-side handle of the pool processes."""

    def __init__(self, cfg: CollectorConfig, shm_name: str, slot_bytes: int) -> None:
        self.cfg = cfg
        self.processes = cfg.pool_processes or os.cpu_count() or 1
        self._shm_name = shm_name
        self._slot_bytes = slot_bytes
        self._executor = self._new_executor()
        self._closed = False
        self.restarts = 0

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=get_context("spawn"),
            initializer=init_worker,
            initargs=(self._shm_name, self._slot_bytes, self.cfg, os.getpid()),
        )

    def pids(self) -> list[int]:
        procs = getattr(self._executor, "_processes", None) or {}
        return sorted(procs)

    async def warm_up(self) -> list[int]:
        """Start every process (and run its initializer) now."""
        loop = asyncio.get_running_loop()
        futures = [loop.run_in_executor(self._executor, warm) for _ in range(self.processes)]
        return list(await asyncio.gather(*futures))

    def _replace(self, broken: ProcessPoolExecutor) -> None:
        if self._executor is not broken or self._closed:
            return  # another batch already replaced it, or the collector is stopping
        self.restarts += 1
        metrics.POOL_RESTARTS.inc()
        log.error("A pool process died; recreating the pool. restarts=%d", self.restarts)
        broken.shutdown(wait=False, cancel_futures=True)
        self._executor = self._new_executor()

    async def process(self, slot: int, length: int, meta: dict[str, Any]) -> dict[str, Any]:
        """Run one batch in the pool. Raises PoolError when the pool broke under it."""
        executor = self._executor
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(executor, run_batch, slot, length, meta)
        except BrokenProcessPool as exc:
            self._replace(executor)
            raise PoolError(f"a pre-filter process died: {exc}") from exc
        except RuntimeError as exc:  # submitted to an executor that is shutting down
            raise PoolError(f"the pre-filter pool is not running: {exc}") from exc

    def close(self, timeout_s: float = 10.0) -> None:
        """Stop the processes: queued work is cancelled, running batches get `timeout_s` to
        finish, then the processes are terminated (their batches were not ACKed)."""
        self._closed = True
        executor = self._executor
        processes = list((getattr(executor, "_processes", None) or {}).values())
        executor.shutdown(wait=False, cancel_futures=True)
        # Wait on the processes' sentinels (ready once a process has exited): the executor's
        # own thread reaps them meanwhile, so `join`/`is_alive` could miss an exit and report
        # an idle process as busy.
        pending = {process.sentinel: process for process in processes}
        deadline = time.monotonic() + timeout_s
        while pending and (left := deadline - time.monotonic()) > 0:
            for sentinel in wait_for_exit(list(pending), timeout=left):
                pending.pop(sentinel, None)
        for process in pending.values():
            log.warning("Pool process still busy at shutdown; terminating. pid=%s", process.pid)
            process.terminate()
            process.join(5)
