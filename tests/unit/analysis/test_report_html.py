"""The HTML report page (analysis/report_html.py), rendered from a report dict built here:
self-contained (nothing fetched, no script), charts as inline SVG, every text escaped.

Escaping of template text and the two charts for a plain dataset are tested in
tests/unit/analysis/test_report_render.py; these cover hostile text in every field, empty
periods and the chart details.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from analysis.report_html import level_chart, rate_chart, render_html

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
HOSTILE = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"


def report(**changes: Any) -> dict[str, Any]:
    """A small report dict, as `analysis.report` builds it, with hostile text everywhere."""
    buckets = [T0 + timedelta(minutes=10 * i) for i in range(6)]
    data: dict[str, Any] = {
        "since": T0,
        "until": T0 + timedelta(hours=1),
        "host": HOSTILE,
        "generated_at": T0 + timedelta(hours=2),
        "bucket_s": 600,
        "buckets": buckets,
        "events_per_level": {"info": [5, 6, 7, 0, 9, 10], "error": [0, 0, 1, 0, 20, 2]},
        "events_total": 60,
        "errors_total": 23,
        "error_rate": 23 / 60,
        "error_rate_series": [0.0, 0.0, 1 / 8, None, 20 / 29, 2 / 12],
        "top_templates": [{"id": 3, "template": HOSTILE, "events": 30, "errors": 20}],
        "top_hosts": [{"host": HOSTILE, "events": 60, "errors": 23}],
        "top_sources": [{"host": HOSTILE, "path": HOSTILE, "events": 60, "errors": 23}],
        "batches": 4,
        "lines_received": 64,
        "lines_dropped": 4,
        "drops_by_reason": [{"reason": HOSTILE, "lines": 4}],
        "anomalies": [
            {
                "kind": HOSTILE,
                "host": HOSTILE,
                "path": HOSTILE,
                "template_id": 3,
                "template": HOSTILE,
                "window_start": buckets[4],
                "window_end": buckets[5],
                "score": 9.25,
                "detail": {},
            }
        ],
    }
    data.update(changes)
    return data


def test_hostile_text_is_escaped_in_every_field() -> None:
    """Host, template, source path, drop reason and anomaly fields are all escaped: the page
    has no script element, only the escaped text."""
    page = render_html(report())
    assert "<script" not in page.lower()
    assert HOSTILE not in page
    # title and heading, template, host, source host and path, reason, anomaly kind (table
    # and chart marker), host, path and template
    assert page.count(ESCAPED) == 12


def test_hostile_level_name_is_escaped() -> None:
    """An unknown level name is escaped in the legend and the bar titles, with a grey bar."""
    page = render_html(report(events_per_level={HOSTILE: [1, 2, 3, 4, 5, 6]}))
    assert HOSTILE not in page
    assert page.count(ESCAPED) == 12 + 1 + 6  # the other fields, the legend, six bar titles
    assert 'fill="#999"' in page


def test_page_is_self_contained() -> None:
    """No stylesheet, image, font or script is fetched: the only URL is the SVG namespace."""
    page = render_html(report())
    assert set(re.findall(r"https?://[^\s\"'<>)]+", page)) == {"http://www.w3.org/2000/svg"}
    for fetcher in ("<link", "<img", "<iframe", "src=", "href=", "url(", "@import"):
        assert fetcher not in page.lower()
    assert "<style>" in page and page.count("<svg") >= 2


def test_empty_period_renders_with_notes_instead_of_tables() -> None:
    """With no events at all the page still renders: empty charts and a note per table."""
    data = report(
        host=None,
        buckets=[],
        events_per_level={},
        events_total=0,
        errors_total=0,
        error_rate=0.0,
        error_rate_series=[],
        top_templates=[],
        top_hosts=[],
        top_sources=[],
        lines_dropped=0,
        drops_by_reason=[],
        anomalies=[],
    )
    page = render_html(data)
    assert "<title>Logship report</title>" in page
    for note in (
        "No templates in this period.",
        "No events in this period.",
        "No lines were dropped in this period.",
        "No anomalies in this period.",
    ):
        assert note in page
    assert page.count('<svg class="chart"') == 2 and "<table>" not in page
    assert "<polyline" not in page


def test_level_chart_stacks_bars_under_a_round_maximum() -> None:
    """One bar per level and non-empty bucket; the y axis tops at a round number above the
    tallest stack."""
    svg = level_chart(report())
    assert svg.startswith('<svg class="chart" id="levels-chart"') and svg.endswith("</svg>")
    assert svg.count("<rect ") == 5 + 3  # info in 5 buckets, error in 3
    labels = re.findall(r'text-anchor="end">([^<]*)<', svg)
    assert labels == ["0", "12", "25", "38", "50"]  # tallest stack: 29 events


@pytest.mark.parametrize(
    ("start", "drawn"),
    [(T0 + timedelta(minutes=30), True), (T0 - timedelta(hours=3), False)],
)
def test_anomaly_marker_only_inside_the_period(start: datetime, drawn: bool) -> None:
    """An anomaly window inside the period gets a marker on the level chart; one outside
    it does not (it is still listed in the table)."""
    anomaly = {**report()["anomalies"][0], "window_start": start}
    anomaly["window_end"] = start + timedelta(minutes=10)
    svg = level_chart(report(anomalies=[anomaly]))
    assert (svg.count("<path ") == 1) is drawn


def test_rate_chart_skips_buckets_without_events() -> None:
    """The error-rate line has one point per bucket with events, none for empty buckets."""
    svg = rate_chart(report())
    assert svg.count("<circle ") == 5
    assert "<polyline" in svg and "<polygon" in svg
    labels = re.findall(r'text-anchor="end">([^<]*)<', svg)
    assert labels[0] == "0%" and labels[-1] == "100%"
    assert rate_chart(report(error_rate_series=[None, None])).count("<circle ") == 0
