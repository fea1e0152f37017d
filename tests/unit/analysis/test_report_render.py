"""Rendering a report dict as text, JSON and HTML (no database)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from analysis.report import bucket_size, parse_time, render

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def sample() -> dict:
    buckets = [T0 + timedelta(minutes=5 * i) for i in range(4)]
    return {
        "since": T0,
        "until": T0 + timedelta(minutes=20),
        "host": None,
        "generated_at": T0 + timedelta(hours=1),
        "bucket_s": 300,
        "buckets": buckets,
        "events_per_level": {"info": [10, 12, 0, 9], "error": [0, 1, 0, 30]},
        "events_total": 62,
        "errors_total": 31,
        "error_rate": 31 / 62,
        "error_rate_series": [0.0, 1 / 13, None, 30 / 39],
        "top_templates": [{"id": 7, "template": "a <b> & <*>", "events": 40, "errors": 30}],
        "top_hosts": [{"host": "web1", "events": 62, "errors": 31}],
        "top_sources": [{"host": "web1", "path": "/var/log/x", "events": 62, "errors": 31}],
        "batches": 3,
        "lines_received": 70,
        "lines_dropped": 8,
        "drops_by_reason": [{"reason": "binary", "lines": 8}],
        "anomalies": [
            {
                "kind": "error_rate_spike",
                "host": "web1",
                "path": "/var/log/x",
                "template_id": 0,
                "template": None,
                "window_start": buckets[3],
                "window_end": buckets[3] + timedelta(minutes=5),
                "score": 12.5,
                "detail": {},
            }
        ],
    }


def test_json_is_plain_with_iso_times() -> None:
    """The JSON report parses back, with times as ISO strings."""
    data = json.loads(render(sample(), "json"))
    assert data["since"] == "2026-01-05T10:00:00Z"
    assert data["anomalies"][0]["window_start"] == "2026-01-05T10:15:00Z"


def test_text_has_every_section_and_skips_empty_buckets() -> None:
    """Sections appear in order; a bucket without events is not printed."""
    text = render(sample(), "text")
    order = ["Events per level", "Top templates", "Top hosts", "Dropped lines", "Anomalies"]
    assert [text.index(s) for s in order] == sorted(text.index(s) for s in order)
    assert "10:10:00Z" not in text and "10:15:00Z" in text
    assert "error rate 50.00%" in text


def test_html_escapes_text_and_draws_charts() -> None:
    """Database text is escaped; bars and the rate line are inline SVG; no script."""
    page = render(sample(), "html")
    assert "a &lt;b&gt; &amp; &lt;*&gt;" in page and "a <b>" not in page
    assert page.count('<svg class="chart"') == 2
    assert "<polyline" in page and page.count("<rect x=") >= 4
    assert "<script" not in page


def test_time_parsing_and_buckets() -> None:
    """Durations count back from now, ISO times keep or get UTC; buckets stay few."""
    now = T0
    assert parse_time("24h", now) == now - timedelta(hours=24)
    assert parse_time("30m", now) == now - timedelta(minutes=30)
    assert parse_time("2026-01-01T00:00:00", now) == datetime(2026, 1, 1, tzinfo=UTC)
    assert bucket_size(now - timedelta(hours=1), now) == 60
    assert bucket_size(now - timedelta(hours=24), now) == 1800
    assert bucket_size(now - timedelta(days=60), now) == 86400
