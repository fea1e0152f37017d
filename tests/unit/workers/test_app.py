"""Unit tests of the workers' Celery app wiring (no broker or database is contacted)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]


def run_python(code: str, cwd: Path, **env: str) -> str:
    environ = {**os.environ, "PYTHONPATH": str(ROOT), **env}
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=cwd, env=environ, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_importing_submodules_has_no_side_effects(tmp_path: Path) -> None:
    """Importing workers submodules neither builds the app nor creates broker folders."""
    run_python("import workers.rows, workers.postgres, workers.tasks, workers.celery_app", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_app_built_from_environment(tmp_path: Path) -> None:
    """`workers.app` (what `celery -A workers` finds) is configured from the environment."""
    code = (
        "import json, workers, celery\n"
        "app = workers.app\n"
        "assert isinstance(app, celery.Celery)\n"
        "app.loader.import_default_modules()\n"
        "print(json.dumps({'queue': app.conf.task_default_queue,"
        " 'acks_late': app.conf.task_acks_late,"
        " 'reject': app.conf.task_reject_on_worker_lost,"
        " 'serializer': app.conf.task_serializer,"
        " 'concurrency': app.conf.worker_concurrency,"
        " 'task': 'logship.store_batch' in app.tasks,"
        " 'task_acks_late': app.tasks['logship.store_batch'].acks_late}))\n"
    )
    out = run_python(
        code,
        tmp_path,
        LOGSHIP_QUEUE="q-test",
        LOGSHIP_CONCURRENCY="3",
        BROKER_URL="filesystem://",
        LOGSHIP_BROKER_DIR=str(tmp_path / "broker"),
    )
    assert json.loads(out) == {
        "queue": "q-test",
        "acks_late": True,
        "reject": True,
        "serializer": "msgpack",
        "concurrency": 3,
        "task": True,
        "task_acks_late": True,
    }
