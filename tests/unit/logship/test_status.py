"""Unit tests for logship.status: idleness rule, rendering and Prometheus text parsing."""

from __future__ import annotations

import http.server
import threading

from logship.status import Status, read_metrics, render


def test_idle_needs_empty_queue_empty_pools_and_a_settled_database() -> None:
    """Idle only when nothing is queued, no worker or pool holds a batch and no store happened
    lately."""
    assert Status(queued_batches=0, seconds_since_last_store=5.0).idle
    assert Status(queued_batches=0, seconds_since_last_store=None).idle
    assert not Status(queued_batches=3, seconds_since_last_store=5.0).idle
    assert not Status(queued_batches=0, seconds_since_last_store=0.5).idle
    held = Status(queued_batches=0, in_progress_batches=1, seconds_since_last_store=9.0)
    assert not held.idle  # a worker holds a batch (running, prefetched or retrying)
    busy_pool = Status(
        queued_batches=0,
        seconds_since_last_store=9.0,
        collectors={"c": {"logship_collector_pool_queue_depth": 2.0}},
    )
    assert not busy_pool.idle


def test_render_names_drops_and_errors() -> None:
    """The text view lists drop reasons, dead letters and the idle state."""
    text = render(
        Status(
            events_stored=10,
            lines_received=12,
            lines_dropped=2,
            drops_by_reason={"blank": 2},
            queued_batches=0,
            last_errors=["x: bad"],
        )
    )
    assert "blank: 2" in text and "error      x: bad" in text and "idle" in text


def test_read_metrics_sums_labelled_samples() -> None:
    """Samples of one family with different labels are summed; comments are skipped."""
    body = (
        b"# HELP x_total help\n# TYPE x_total counter\n"
        b'x_total{reason="a"} 2.0\nx_total{reason="b"} 3.0\ny 1\n'
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(200)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        metrics = read_metrics(f"http://127.0.0.1:{server.server_port}/metrics")
    finally:
        server.shutdown()
    assert metrics == {"x_total": 5.0, "y": 1.0}
