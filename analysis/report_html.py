"""The HTML report: one self-contained file, charts as inline SVG, nothing fetched. Pure.

Every text from the database goes through `html.escape`; there is no script in the page.
"""

from __future__ import annotations

from datetime import datetime
from html import escape
from typing import Any

LEVEL_COLORS = {
    "debug": "#9aa5b1",
    "info": "#4c78a8",
    "notice": "#72b7b2",
    "warning": "#f2a541",
    "error": "#e45756",
    "critical": "#b3261e",
    "alert": "#8e1b5a",
    "emergency": "#4a0d3a",
    "none": "#c7c7c7",
}
ERROR_COLOR = "#e45756"
ANOMALY_COLOR = "#b3261e"

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1f2933;
background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e4e7eb;
padding-bottom:4px}.muted{color:#616e7c}.cards{display:flex;gap:12px;flex-wrap:wrap;margin:16px 0}
.card{border:1px solid #e4e7eb;border-radius:8px;padding:10px 16px;min-width:120px}
.card b{display:block;font-size:20px}table{border-collapse:collapse;width:100%}
td,th{text-align:left;padding:4px 8px;border-bottom:1px solid #f0f2f4;vertical-align:top}
th{font-weight:600;color:#52606d}td.num{text-align:right;font-variant-numeric:tabular-nums;
white-space:nowrap;width:1%}td.bar{width:1%}code{font:12px/1.4 ui-monospace,Menlo,Consolas,monospace;word-break:break-all}
.legend span{display:inline-block;margin-right:14px}.legend i{display:inline-block;width:10px;
height:10px;margin-right:4px;border-radius:2px}svg text{font:11px system-ui,sans-serif;fill:#52606d}
"""


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="minutes").replace("+00:00", "Z")


def _label(t: datetime, bucket_s: int) -> str:
    return t.strftime("%m-%d %H:%M" if bucket_s < 86400 else "%Y-%m-%d")


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    step = 10 ** (len(str(int(value))) - 1)
    for m in (1, 2, 2.5, 5, 10):
        if value <= m * step:
            return m * step
    return 10.0 * step


def _frame(
    chart_id: str,
    label: str,
    width: int,
    height: int,
    margins: tuple[int, int, int, int],
    y_labels: list[str],
) -> list[str]:
    """The opening <svg> tag and evenly spaced horizontal gridlines with their y labels."""
    left, right, top, bottom = margins
    plot_h = height - top - bottom
    parts = [
        f'<svg class="chart" id="{chart_id}" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'aria-label="{escape(label)}">'
    ]
    steps = len(y_labels) - 1
    for k, text in enumerate(y_labels):
        y = top + plot_h - plot_h * k / steps
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#eef0f2"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{text}</text>'
        )
    return parts


def level_chart(data: dict[str, Any], width: int = 1000, height: int = 260) -> str:
    """Stacked bars: events per level per time bucket, with anomaly windows marked."""
    levels: dict[str, list[int]] = data["events_per_level"]
    buckets: list[datetime] = data["buckets"]
    n = len(buckets)
    left, right, top, bottom = 56, 10, 14, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    totals = [sum(s[i] for s in levels.values()) for i in range(n)]
    ymax = _nice_max(max(totals, default=0))
    bw = plot_w / max(n, 1)
    parts = _frame(
        "levels-chart", "events per level over time", width, height, (left, right, top, bottom),
        [f"{ymax * k / 4:,.0f}" for k in range(5)],
    )  # fmt: skip
    for i in range(n):
        y: float = top + plot_h
        for lv, series in levels.items():
            if not series[i]:
                continue
            h = plot_h * series[i] / ymax
            y -= h
            parts.append(
                f'<rect x="{left + i * bw + 1:.1f}" y="{y:.1f}" width="{max(bw - 2, 1):.1f}" '
                f'height="{h:.1f}" fill="{LEVEL_COLORS.get(lv, "#999")}">'
                f"<title>{escape(lv)}: {series[i]:,} at {_iso(buckets[i])}</title></rect>"
            )
    step = max(1, n // 8)
    for i in range(0, n, step):
        parts.append(
            f'<text x="{left + i * bw:.1f}" y="{height - 8}">'
            f"{escape(_label(buckets[i], data['bucket_s']))}</text>"
        )
    span = (data["until"] - data["since"]).total_seconds() or 1.0
    for a in data["anomalies"]:
        mid = a["window_start"] + (a["window_end"] - a["window_start"]) / 2
        x = left + plot_w * (mid - data["since"]).total_seconds() / span
        if left <= x <= width - right:
            parts.append(
                f'<path d="M{x - 5:.1f},{top - 12} L{x + 5:.1f},{top - 12} L{x:.1f},{top - 3} Z" '
                f'fill="{ANOMALY_COLOR}"><title>{escape(a["kind"])}</title></path>'
            )
    parts.append("</svg>")
    return "".join(parts)


def rate_chart(data: dict[str, Any], width: int = 1000, height: int = 180) -> str:
    """Line and area: the error rate per time bucket (gaps where there were no events)."""
    series: list[float | None] = data["error_rate_series"]
    n = len(series)
    left, right, top, bottom = 56, 10, 10, 24
    plot_w, plot_h = width - left - right, height - top - bottom
    ymax = _nice_max(max((r for r in series if r is not None), default=0) * 100) / 100
    bw = plot_w / max(n, 1)
    parts = _frame(
        "error-rate-chart", "error rate over time", width, height, (left, right, top, bottom),
        [f"{ymax * k / 4:.0%}" for k in range(5)],
    )  # fmt: skip
    points = [
        (left + (i + 0.5) * bw, top + plot_h - plot_h * r / ymax)
        for i, r in enumerate(series)
        if r is not None
    ]
    if points:
        base = top + plot_h
        area = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
        parts.append(
            f'<polygon points="{points[0][0]:.1f},{base} {area} {points[-1][0]:.1f},{base}" '
            f'fill="{ERROR_COLOR}" fill-opacity="0.25"/>'
            f'<polyline points="{area}" fill="none" stroke="{ERROR_COLOR}" stroke-width="2"/>'
        )
        for x, y in points:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{ERROR_COLOR}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _bar(value: int, top: int, color: str, width: int = 220) -> str:
    w = width * value / top if top else 0
    return (
        f'<svg width="{width}" height="12" xmlns="http://www.w3.org/2000/svg">'
        f'<rect width="{w:.1f}" height="12" rx="2" fill="{color}"/></svg>'
    )


def _table(headers: list[str], rows: list[str], empty: str) -> str:
    if not rows:
        return f'<p class="muted">{escape(empty)}</p>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def render_html(data: dict[str, Any]) -> str:
    """The whole report page."""
    title = "Logship report" + (f" — host {data['host']}" if data.get("host") else "")
    cards = [
        ("events", f"{data['events_total']:,}"),
        ("errors", f"{data['errors_total']:,}"),
        ("error rate", f"{data['error_rate']:.2%}"),
        ("batches", f"{data['batches']:,}"),
        ("lines dropped", f"{data['lines_dropped']:,}"),
        ("anomalies", f"{len(data['anomalies']):,}"),
    ]
    legend = "".join(
        f'<span><i style="background:{LEVEL_COLORS.get(lv, "#999")}"></i>{escape(lv)}</span>'
        for lv in data["events_per_level"]
    )
    top_t = max((t["events"] for t in data["top_templates"]), default=0)
    templates = [
        f'<tr><td class="num">{t["events"]:,}</td><td class="bar">{_bar(t["events"], top_t, LEVEL_COLORS["info"])}'
        f'</td><td class="num">{t["errors"]:,}</td><td><code>#{t["id"]} '
        f"{escape(t['template'])}</code></td></tr>"
        for t in data["top_templates"]
    ]
    top_h = max((h["events"] for h in data["top_hosts"]), default=0)
    hosts = [
        f'<tr><td class="num">{h["events"]:,}</td><td class="bar">{_bar(h["events"], top_h, "#72b7b2")}</td>'
        f'<td class="num">{h["errors"]:,}</td><td>{escape(h["host"])}</td></tr>'
        for h in data["top_hosts"]
    ]
    sources = [
        f'<tr><td class="num">{s["events"]:,}</td><td class="num">{s["errors"]:,}</td>'
        f"<td>{escape(s['host'])}</td><td><code>{escape(s['path'])}</code></td></tr>"
        for s in data["top_sources"]
    ]
    top_d = max((d["lines"] for d in data["drops_by_reason"]), default=0)
    drops = [
        f'<tr><td class="num">{d["lines"]:,}</td><td class="bar">{_bar(d["lines"], top_d, "#f2a541")}</td>'
        f"<td>{escape(d['reason'])}</td></tr>"
        for d in data["drops_by_reason"]
    ]
    anomalies = [
        f"<tr><td>{escape(_iso(a['window_start']))}</td><td>{escape(a['kind'])}</td>"
        f'<td class="num">{a["score"]:.1f}</td>'
        f"<td>{escape(a['host'] or 'all')}</td><td><code>{escape(a['path'])}</code></td>"
        f"<td><code>{escape(a.get('template') or '')}</code></td></tr>"
        for a in data["anomalies"]
    ]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title><style>{CSS}</style></head><body>
<h1>{escape(title)}</h1>
<div class="muted">{escape(_iso(data["since"]))} – {escape(_iso(data["until"]))} ·
generated {escape(_iso(data["generated_at"]))} · buckets of {data["bucket_s"]} s</div>
<div class="cards">{"".join(f"<div class='card'><b>{v}</b>{escape(k)}</div>" for k, v in cards)}</div>
<h2>Events per level</h2>
<div class="legend">{legend}<span><i style="background:{ANOMALY_COLOR}"></i>anomaly</span></div>
{level_chart(data)}
<h2>Error rate</h2>
{rate_chart(data)}
<h2>Top templates</h2>
{_table(["events", "", "errors", "template"], templates, "No templates in this period.")}
<h2>Top hosts</h2>
{_table(["events", "", "errors", "host"], hosts, "No events in this period.")}
<h2>Top sources</h2>
{_table(["events", "errors", "host", "path"], sources, "No events in this period.")}
<h2>Dropped lines by reason</h2>
{_table(["lines", "", "reason"], drops, "No lines were dropped in this period.")}
<h2>Anomalies</h2>
{_table(["window", "kind", "score", "host", "path", "template"], anomalies, "No anomalies in this period.")}
</body></html>
"""
