"""Prometheus text exposition and the stdlib metrics server (agent/metrics.py)."""

from __future__ import annotations

import urllib.request

from agent.metrics import COUNTERS, GAUGES, Metrics, serve


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
