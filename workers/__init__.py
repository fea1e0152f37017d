"""Logship workers: a Celery app whose task stores cleaned batches in PostgreSQL with COPY.

`celery -A workers worker` finds `workers.app`, built on first access from `WorkerConfig`
(environment and `.env`), so importing a submodule such as `workers.rows` has no side effects.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from celery import Celery

    from workers.config import WorkerConfig

_app: Celery | None = None


def get_app(cfg: WorkerConfig | None = None) -> Celery:
    """The workers' Celery app (built once per process; `cfg` only counts the first time)."""
    global _app
    if _app is None:
        from workers.app import build_app

        _app = build_app(cfg)
    # Importing the submodule `workers.app` binds the name `app` to it; the Celery app wins.
    globals()["app"] = _app
    return _app


def __getattr__(name: str) -> Any:
    if name in ("app", "celery"):
        return get_app()
    raise AttributeError(f"module 'workers' has no attribute {name!r}")
