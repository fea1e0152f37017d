"""Build the workers' Celery app from a `WorkerConfig` (environment and `.env` by default)."""

from __future__ import annotations

from typing import Any

from celery import Celery
from celery.signals import worker_init, worker_shutdown

from workers import metrics, runtime
from workers.celery_app import make_celery
from workers.config import WorkerConfig


def build_app(cfg: WorkerConfig | None = None) -> Celery:
    """The Celery app consuming `cfg.queue`, with `workers.tasks` registered."""
    cfg = cfg or runtime.config()
    runtime.configure(cfg)
    if cfg.metrics_port:
        metrics.enable_multiprocess()  # before prometheus_client is imported
    app = make_celery(cfg.broker_url, cfg.broker_dir, cfg.queue, include=("workers.tasks",))
    if cfg.concurrency:
        app.conf.worker_concurrency = cfg.concurrency
    if cfg.metrics_port:
        port, host = cfg.metrics_port, cfg.metrics_host

        def _serve(**_: Any) -> None:
            metrics.serve(port, host)

        def _cleanup(**_: Any) -> None:
            metrics.cleanup()

        worker_init.connect(_serve, weak=False)
        worker_shutdown.connect(_cleanup, weak=False)
    return app
