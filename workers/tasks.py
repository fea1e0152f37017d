"""The Celery task that stores one cleaned batch (the workers' I/O shell).

Delivery: `acks_late` + `reject_on_worker_lost`, so the broker keeps the message until the
batch is stored (or dead-lettered); storing is idempotent on `batch_id`, so redelivery is safe.
Retriable errors (see `workers.errors.is_retriable`) retry forever with capped backoff and
jitter; any other error keeps the message in `dead_letters` and the task succeeds.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any, NoReturn

import msgpack
from celery import Task, shared_task
from celery.signals import worker_process_shutdown, worker_shutdown

from workers import metrics, runtime
from workers.celery_app import DETECT_TASK, RETENTION_TASK, STORE_TASK
from workers.errors import is_retriable
from workers.retry import backoff_s

log = logging.getLogger("logship.workers")


def _payload(message: Any) -> bytes:
    """The message as msgpack again (lone surrogates kept with surrogatepass), else its repr."""
    for errors in ("strict", "surrogatepass"):
        try:
            return bytes(msgpack.packb(message, use_bin_type=True, unicode_errors=errors))
        except (TypeError, ValueError, OverflowError):
            continue
    return repr(message).encode("utf-8", "backslashreplace")


def _batch_id(message: Any) -> str | None:
    if isinstance(message, dict) and message.get("id") is not None:
        return str(message["id"])
    return None


def _retry(task: Task, exc: BaseException, what: str) -> NoReturn:
    """Retry the task after a capped, jittered backoff; the message stays in the broker.

    With `retry_wait_in_task` (default) the delay is waited out here, holding this one message
    unacknowledged, and the task is then re-queued without an ETA: a database outage stops the
    worker from consuming (backpressure). Otherwise Celery's countdown is used, which keeps
    every retried message in the worker's memory as an ETA task until it is due.
    """
    cfg = runtime.config()
    delay = backoff_s(task.request.retries, cfg.retry_backoff_base_s, cfg.retry_backoff_max_s)
    log.warning(
        "Cannot %s batch %s: %s; the batch stays in the broker, retry %d in %.1f s.",
        what,
        _batch_id(task.request.args[0] if task.request.args else None),
        exc,
        task.request.retries + 1,
        delay,
    )
    metrics.counters().db_errors.inc()
    if cfg.retry_wait_in_task:
        time.sleep(delay)
        raise task.retry(exc=exc, countdown=0, max_retries=None)
    raise task.retry(exc=exc, countdown=delay, max_retries=None)


def store(task: Task, message: Any) -> str:
    """Store one batch message; returns "stored", "duplicate" or "dead-letter"."""
    rt = runtime.runtime()
    counters = metrics.counters()
    started = time.perf_counter()
    try:
        stored, rows = rt.run(rt.store_message(message))
    except Exception as exc:
        if is_retriable(exc):
            _retry(task, exc, "store")
        error = f"{type(exc).__name__}: {exc}"
        try:
            row_id = rt.run(rt.dead_letter(_batch_id(message), error, _payload(message)))
        except Exception as exc2:
            _retry(task, exc2, "dead-letter")
        counters.dead_letters.inc()
        log.error(
            "Batch %s cannot be stored (%s); kept in dead_letters id %d, not retried.",
            _batch_id(message),
            error,
            row_id,
        )
        return "dead-letter"
    counters.store_seconds.observe(time.perf_counter() - started)
    if stored:
        counters.batches_stored.inc()
        counters.rows_copied.inc(len(rows.events))
        return "stored"
    counters.batches_duplicate.inc()
    log.info("Batch %s was already stored; delivery acknowledged.", rows.batch[0])
    return "duplicate"


@shared_task(
    name=STORE_TASK,
    bind=True,
    acks_late=True,
    reject_on_worker_lost=True,
    max_retries=None,
    ignore_result=True,
)
def store_batch(self: Task, message: Any) -> str:
    """Store one cleaned batch (the msgpack-decoded `CleanBatch.to_message()` map)."""
    return store(self, message)


@shared_task(name=DETECT_TASK, ignore_result=True)
def detect_anomalies() -> int:
    """Periodic: run anomaly detection over the last complete windows (idempotent per window)."""
    from analysis.config import load_config as load_analysis_config
    from analysis.detect import run_detection

    cfg = load_analysis_config()
    cfg.database_url = runtime.config().database_url
    rt = runtime.runtime()
    try:
        found = rt.run(run_detection(cfg))
    except Exception as exc:
        log.warning("Anomaly detection failed: %s; the next period tries again.", exc)
        return 0
    new = [a for a in found if getattr(a, "inserted", True)]
    if new:
        log.info("Anomaly detection stored %d new anomalies.", len(new))
    return len(new)


@shared_task(name=RETENTION_TASK, ignore_result=True)
def apply_retention() -> int:
    """Periodic: drop log_events partitions older than `retention_keep_days`."""
    from logship.retention import apply_retention as drop_old_partitions

    cfg = runtime.config()
    if cfg.retention_keep_days <= 0:
        return 0
    rt = runtime.runtime()

    async def run() -> list[str]:
        pool = await rt.get_pool()
        async with pool.acquire(timeout=cfg.db_connect_timeout_s) as conn:
            result = await drop_old_partitions(conn, cfg.retention_keep_days)
            return result.dropped

    try:
        dropped = rt.run(run())
    except Exception as exc:
        log.warning("Retention failed: %s; the next period tries again.", exc)
        return 0
    if dropped:
        log.info("Retention dropped %d partitions: %s.", len(dropped), ", ".join(dropped))
    return len(dropped)


@worker_process_shutdown.connect
def _on_process_shutdown(**_: Any) -> None:
    runtime.shutdown()
    metrics.process_exited(os.getpid())


@worker_shutdown.connect
def _on_worker_shutdown(**_: Any) -> None:
    runtime.shutdown()
