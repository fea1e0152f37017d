"""Build the workers' Celery app from a `WorkerConfig` (environment and `.env` by default)."""

from __future__ import annotations

import logging
from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_shutdown

from logship import logs
from workers import metrics, runtime
from workers.celery_app import DETECT_TASK, RETENTION_TASK, make_celery
from workers.config import WorkerConfig


def beat_schedule(cfg: WorkerConfig) -> dict[str, dict[str, Any]]:
    """Periodic tasks, run by `celery -A workers beat` or a worker started with `-B`."""
    schedule: dict[str, dict[str, Any]] = {}
    if cfg.detect_interval_s > 0:
        schedule["detect-anomalies"] = {"task": DETECT_TASK, "schedule": cfg.detect_interval_s}
    if cfg.retention_keep_days > 0:
        schedule["retention"] = {"task": RETENTION_TASK, "schedule": 3600.0}
    return schedule


def build_app(cfg: WorkerConfig | None = None) -> Celery:
    """The Celery app consuming `cfg.queue`, with `workers.tasks` registered."""
    cfg = cfg or runtime.config()
    runtime.configure(cfg)
    if cfg.metrics_port:
        metrics.enable_multiprocess()  # before prometheus_client is imported
    app = make_celery(cfg.broker_url, cfg.broker_dir, cfg.queue, include=("workers.tasks",))
    if cfg.concurrency:
        app.conf.worker_concurrency = cfg.concurrency
    app.conf.beat_schedule = beat_schedule(cfg)
    if logs.wants_json():
        from celery.signals import setup_logging

        def _json_logs(loglevel: int | None = None, **_: Any) -> None:
            logs.configure(loglevel or logging.INFO)

        setup_logging.connect(_json_logs, weak=False)
    if cfg.metrics_port:
        port, host = cfg.metrics_port, cfg.metrics_host

        def _serve(**_: Any) -> None:
            metrics.serve(port, host)

        def _cleanup(**_: Any) -> None:
            metrics.cleanup()

        worker_init.connect(_serve, weak=False)
        worker_shutdown.connect(_cleanup, weak=False)
    return app
