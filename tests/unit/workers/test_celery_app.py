"""The shared Celery app settings (workers/celery_app.py): msgpack only, late ACKs,
the queue, and the transport options per broker. Nothing connects to a broker: only
`app.conf` is read. (How `workers.app` is built from the environment is in test_app.py.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from workers.celery_app import (
    DEFAULT_QUEUE,
    DETECT_TASK,
    RETENTION_TASK,
    STORE_TASK,
    make_celery,
    transport_options,
)


def test_delivery_guarantees_and_serializer(tmp_path: Path) -> None:
    """Tasks are ACKed late and rejected if the worker dies; only msgpack is accepted (never
    pickle); no results are kept."""
    conf = make_celery("filesystem://", tmp_path).conf
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.accept_content == ["msgpack"]
    assert conf.task_serializer == "msgpack" and conf.result_serializer == "msgpack"
    assert conf.task_ignore_result is True and conf.result_backend is None
    assert conf.enable_utc is True and conf.worker_hijack_root_logger is False


def test_queue_and_routes(tmp_path: Path) -> None:
    """Every task goes to the one queue (default `logship`); prefetch is configurable."""
    app = make_celery("filesystem://", tmp_path)
    assert app.conf.task_default_queue == DEFAULT_QUEUE == "logship"
    app = make_celery("filesystem://", tmp_path, "q2", prefetch_multiplier=1)
    assert app.conf.task_default_queue == "q2" and app.conf.worker_prefetch_multiplier == 1
    assert app.conf.task_routes == {
        t: {"queue": "q2"} for t in (STORE_TASK, DETECT_TASK, RETENTION_TASK)
    }


def test_filesystem_transport_folders_are_made(tmp_path: Path) -> None:
    """The filesystem broker uses queue/processed/control under broker_dir (created), one
    folder in and out, keeps no processed messages, and has no remote control."""
    broker = tmp_path / "broker"
    app = make_celery("filesystem://", broker)
    opts = app.conf.broker_transport_options
    assert opts == {
        "data_folder_in": str(broker / "queue"),
        "data_folder_out": str(broker / "queue"),
        "processed_folder": str(broker / "processed"),
        "control_folder": str(broker / "control"),
        "store_processed": False,
    }
    assert sorted(p.name for p in broker.iterdir()) == ["control", "processed", "queue"]
    assert app.conf.worker_enable_remote_control is False


def test_filesystem_transport_needs_a_folder() -> None:
    """The filesystem broker without broker_dir is a ValueError."""
    with pytest.raises(ValueError, match="broker_dir"):
        make_celery("filesystem://")


@pytest.mark.parametrize(
    ("url", "options"),
    [
        ("amqp://guest:guest@127.0.0.1:5672//", {"confirm_publish": True, "max_retries": 3}),
        ("pyamqp://localhost//", {"confirm_publish": True, "max_retries": 3}),
        ("redis://localhost:6379/0", {"visibility_timeout": 3600, "max_retries": 3}),
        ("memory://", {}),
    ],
)
def test_network_transport_options(url: str, options: dict[str, object], tmp_path: Path) -> None:
    """AMQP publishes with confirms, Redis re-delivers unacked tasks after an hour, other
    brokers get no options; none but the filesystem one makes folders or lacks remote control."""
    assert transport_options(url, tmp_path) == options
    assert list(tmp_path.iterdir()) == []
    app = make_celery(url)
    assert app.conf.broker_transport_options == options
    assert app.conf.worker_enable_remote_control is True
    assert app.conf.broker_url == url
