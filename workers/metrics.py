"""Worker metric names and the Prometheus endpoint.

Counted per batch in each worker process. With `metrics_port` set, `enable_multiprocess()`
(called before prometheus_client is imported) makes every process write its counters under one
folder and the main worker process serves their sum on the port.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_owned_dir: str | None = None

BATCHES_STORED = "logship_worker_batches_stored_total"
BATCHES_DUPLICATE = "logship_worker_batches_duplicate_total"
ROWS_COPIED = "logship_worker_rows_copied_total"
DEAD_LETTERS = "logship_worker_dead_letters_total"
DB_ERRORS = "logship_worker_db_errors_total"
STORE_SECONDS = "logship_worker_store_seconds"


def enable_multiprocess() -> None:
    """Point prometheus_client at a folder shared by all worker processes (before import)."""
    global _owned_dir
    if os.environ.get(MULTIPROC_ENV):
        return
    _owned_dir = tempfile.mkdtemp(prefix="logship-worker-metrics-")
    os.environ[MULTIPROC_ENV] = _owned_dir


class Counters:
    """The worker's metrics in this process (created on first use, after the env is set)."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Histogram

        def counter(name: str, doc: str) -> Counter:
            return Counter(name.removesuffix("_total"), doc)

        self.batches_stored = counter(BATCHES_STORED, "Batches stored in PostgreSQL.")
        self.batches_duplicate = counter(BATCHES_DUPLICATE, "Batches already stored (redelivered).")
        self.rows_copied = counter(ROWS_COPIED, "log_events rows written with COPY.")
        self.dead_letters = counter(DEAD_LETTERS, "Batches put in dead_letters (data errors).")
        self.db_errors = counter(DB_ERRORS, "Retriable database errors (task retried).")
        self.store_seconds = Histogram(STORE_SECONDS, "Seconds to store one batch.")


_counters: Counters | None = None


def counters() -> Counters:
    """This process's metrics."""
    global _counters
    if _counters is None:
        _counters = Counters()
    return _counters


def serve(port: int, host: str = "127.0.0.1") -> None:
    """Serve `/metrics` (every worker process's) and `/healthz` on `host:port` (a daemon thread)."""
    import threading
    from wsgiref.simple_server import WSGIRequestHandler, make_server

    from prometheus_client import REGISTRY, CollectorRegistry, make_wsgi_app

    registry = REGISTRY
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
    metrics_app = make_wsgi_app(registry)

    def app(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"status": "ok", "role": "worker"}\n']
        return metrics_app(environ, start_response)

    class QuietHandler(WSGIRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = make_server(host, port, app, handler_class=QuietHandler)
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()


def process_exited(pid: int) -> None:
    """Tell the multiprocess collector a worker process has gone."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid)


def cleanup() -> None:
    """Remove the metrics folder this process created, if any."""
    if _owned_dir:
        shutil.rmtree(_owned_dir, ignore_errors=True)
