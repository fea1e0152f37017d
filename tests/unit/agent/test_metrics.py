"""Prometheus text exposition, the stdlib metrics server and `publish` (agent/metrics.py)."""

from __future__ import annotations

import urllib.request
from pathlib import Path

from agent.metrics import COUNTERS, GAUGES, Metrics, publish, serve
from agent.tail import Counters
from tests.unit.agent.tails import open_tail


def test_render_lists_every_metric_with_help_and_type() -> None:
    """Every counter and gauge appears with HELP and TYPE; counters end in _total."""
    m = Metrics()
    m.inc("logship_agent_lines_read_total", 3)
    m.set("logship_agent_batches_in_flight", 2)
    m.lag = {"/var/log/a.log": 10, '/tmp/we"ird\n.log': 0}
    text = m.render()
    for name in COUNTERS:
        assert name.endswith("_total")
        assert f"# TYPE {name} counter" in text
    for name in GAUGES:
        assert f"# TYPE {name} gauge" in text
    assert "logship_agent_lines_read_total 3\n" in text
    assert "logship_agent_batches_in_flight 2\n" in text
    assert 'logship_agent_file_lag_bytes{path="/var/log/a.log"} 10\n' in text
    assert 'path="/tmp/we\\"ird\\n.log"' in text


def test_server_serves_metrics_and_health() -> None:
    """GET /metrics returns the text format; /healthz (and /health) return ok; else a 404."""
    m = Metrics()
    m.inc("logship_agent_reconnects_total")
    server = serve(m, "127.0.0.1", 0)
    port = server.server_address[1]
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
            body = resp.read().decode()
            assert resp.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert "logship_agent_reconnects_total 1" in body
        for path in ("/healthz", "/health"):
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as resp:
                assert resp.read() == b"ok\n"
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/nope", timeout=5)
            raise AssertionError("expected a 404")
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_publish_adds_closed_files_to_open_ones_and_sets_the_lag(tmp_path: Path) -> None:
    """`publish` counts the open tails plus the retired counters; lag is size - committed."""
    log = tmp_path / "a.log"
    log.write_bytes(b"one\ntwo\n")
    tail = open_tail(log)
    try:
        tail.read(0.0)
        m = Metrics()
        retired = Counters(lines_read=5, bytes_read=50, rotations=1, truncations=2, bytes_lost=7)
        publish(m, [tail], retired, None, lines_shipped=4, bytes_shipped=40, batches_shipped=1)
    finally:
        tail.close()
    c = m.counters
    assert c["logship_agent_lines_read_total"] == 7
    assert c["logship_agent_bytes_read_total"] == 58
    assert c["logship_agent_rotations_total"] == 1
    assert c["logship_agent_truncations_total"] == 2
    assert c["logship_agent_truncated_bytes_lost_total"] == 7
    assert c["logship_agent_lines_shipped_total"] == 4
    assert c["logship_agent_batches_shipped_total"] == 1
    assert m.gauges["logship_agent_files_open"] == 1
    assert m.lag == {str(log): 8}  # read, not yet acknowledged
