"""The Celery application shared by the collector (publisher) and the workers (consumers).

`make_celery` is the one place broker settings live, so both sides agree on serializer, queue
and delivery guarantees:

- msgpack serialization only (never pickle anything read from the network);
- `task_acks_late` + `task_reject_on_worker_lost`: a batch is acknowledged to the broker only
  after it is stored, and re-delivered if the worker dies;
- publisher confirms on AMQP (`confirm_publish`), so `send_task` returns only once RabbitMQ has
  taken the message; Redis answers LPUSH synchronously; the filesystem transport (embedded
  default) has written the message file when `send_task` returns.
"""

from __future__ import annotations

from pathlib import Path

from celery import Celery

STORE_TASK = "logship.store_batch"
DETECT_TASK = "logship.detect_anomalies"
RETENTION_TASK = "logship.apply_retention"
DEFAULT_QUEUE = "logship"


def transport_options(broker_url: str, broker_dir: Path | None) -> dict[str, object]:
    if broker_url.startswith("filesystem"):
        if broker_dir is None:
            raise ValueError("the filesystem broker needs a broker_dir")
        queue_dir = Path(broker_dir) / "queue"
        processed = Path(broker_dir) / "processed"
        control = Path(broker_dir) / "control"
        for d in (queue_dir, processed, control):
            d.mkdir(parents=True, exist_ok=True)
        return {
            "data_folder_in": str(queue_dir),
            "data_folder_out": str(queue_dir),
            "processed_folder": str(processed),
            "control_folder": str(control),
            "store_processed": False,
        }
    if broker_url.startswith(("amqp", "pyamqp")):
        return {"confirm_publish": True, "max_retries": 3}
    if broker_url.startswith("redis"):
        # Unacked tasks come back after this long if a worker vanished (seconds).
        return {"visibility_timeout": 3600, "max_retries": 3}
    return {}


def normalize_broker_url(broker_url: str) -> str:
    """`filesystem://` with a host named: the transport ignores it, and kombu warns on every
    connection without one."""
    if broker_url.rstrip("/") == "filesystem:":
        return "filesystem://localhost//"
    return broker_url


def make_celery(
    broker_url: str,
    broker_dir: Path | None = None,
    queue: str = DEFAULT_QUEUE,
    *,
    prefetch_multiplier: int = 4,
    include: tuple[str, ...] = (),
) -> Celery:
    app = Celery("logship", broker=normalize_broker_url(broker_url), include=list(include))
    app.conf.update(
        task_serializer="msgpack",
        result_serializer="msgpack",
        accept_content=["msgpack"],
        task_ignore_result=True,
        result_backend=None,
        task_default_queue=queue,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=prefetch_multiplier,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
        broker_transport_options=transport_options(broker_url, broker_dir),
        task_routes={
            STORE_TASK: {"queue": queue},
            DETECT_TASK: {"queue": queue},
            RETENTION_TASK: {"queue": queue},
        },
        # Periodic tasks (detection, retention) keep their schedule in memory: no shelve/pickle
        # file; both tasks are idempotent and catch up, so a restart loses nothing.
        beat_scheduler="celery.beat:Scheduler",
        worker_enable_remote_control=not broker_url.startswith("filesystem"),
        enable_utc=True,
    )
    return app
