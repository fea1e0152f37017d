"""Text and JSON renderings of a report (the dict `analysis.report.gather` returns). Pure."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

BAR_WIDTH = 40


def _iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def _when(t: datetime) -> str:
    """A time for the text view: to the second (20 characters)."""
    return _iso(t.replace(microsecond=0))


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return _iso(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def render_json(data: dict[str, Any]) -> str:
    """The report as one JSON document (times in ISO 8601, UTC)."""
    return json.dumps(_plain(data), indent=2, sort_keys=False) + "\n"


def _bar(value: int, top: int) -> str:
    return "#" * (round(BAR_WIDTH * value / top) if top else 0)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def render_text(data: dict[str, Any]) -> str:
    """The report for a terminal: sections with aligned columns and small bars."""
    out: list[str] = []
    add = out.append
    scope = f" host {data['host']}" if data.get("host") else ""
    add(f"Logship report{scope}: {_when(data['since'])} .. {_when(data['until'])}")
    add(
        f"events {data['events_total']:,}   errors {data['errors_total']:,}   "
        f"error rate {data['error_rate']:.2%}   batches {data['batches']:,}   "
        f"lines dropped {data['lines_dropped']:,}"
    )

    add("")
    add(f"Events per level (buckets of {data['bucket_s']} s)")
    levels: dict[str, list[int]] = data["events_per_level"]
    header = "  time                 " + "".join(f"{lv:>10}" for lv in levels) + "   error%"
    add(header)
    for i, start in enumerate(data["buckets"]):
        counts = [series[i] for series in levels.values()]
        if not any(counts):
            continue
        rate = data["error_rate_series"][i]
        add(
            f"  {_when(start):<20} "
            + "".join(f"{c:>10,}" for c in counts)
            + (f"   {rate:6.1%}" if rate is not None else "")
        )
    if not levels:
        add("  (no events)")

    add("")
    add("Top templates")
    top = max((t["events"] for t in data["top_templates"]), default=0)
    for t in data["top_templates"]:
        add(
            f"  {t['events']:>9,}  {_bar(t['events'], top):<{BAR_WIDTH}}  #{t['id']} {_cut(t['template'], 90)}"
        )
    if not data["top_templates"]:
        add("  (none)")

    add("")
    add("Top hosts")
    for h in data["top_hosts"]:
        add(f"  {h['events']:>9,}  errors {h['errors']:>7,}  {h['host']}")
    add("Top sources")
    for s in data["top_sources"]:
        add(f"  {s['events']:>9,}  errors {s['errors']:>7,}  {s['host']}:{s['path']}")

    add("")
    add("Dropped lines by reason")
    for d in data["drops_by_reason"]:
        add(f"  {d['lines']:>9,}  {d['reason']}")
    if not data["drops_by_reason"]:
        add("  (none)")

    add("")
    add("Anomalies")
    for a in data["anomalies"]:
        where = f"{a['host']}:{a['path']}" if a["host"] or a["path"] else "all sources"
        what = f" {_cut(a['template'], 70)}" if a.get("template") else ""
        add(f"  {_when(a['window_start'])}  {a['kind']:<17} score {a['score']:7.1f}  {where}{what}")
    if not data["anomalies"]:
        add("  (none)")
    return "\n".join(out) + "\n"
