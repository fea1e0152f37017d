"""`logship report`: statistics of the stored events, as text, JSON or one self-contained HTML.

    logship report [--since 24h] [--until TIME] [--host H] [--format text|json|html] [-o FILE]

Times are `received_at` (when the collector got the lines), as anomaly detection uses. The
report holds: events per level over time, error rate over time, top templates (merged templates
counted under the template they became), top hosts and host+path sources, dropped lines by
reason (`ingest_drops`), and the anomalies of the period. `gather()` reads the database into a
plain dict; `analysis.report_render` and `analysis.report_html` turn it into output.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from analysis.config import DEFAULT_DATABASE_URL, load_config
from analysis.errors import ReportError, is_retriable
from logship import __version__
from logship.database_url import database_url
from logship.errors import ConfigError
from logship.records import LEVELS

ERROR_LEVELS = ("error", "critical", "alert", "emergency")
TOP = 10
# Chart bucket sizes: the smallest giving at most MAX_BUCKETS bars over the period.
BUCKETS_S = (60, 300, 900, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 86400, 7 * 86400)
MAX_BUCKETS = 60

EPILOG = """\
examples:
  logship report                                  # last 24 hours, text
  logship report --since 1h --host web1 --format json
  logship report --since 7d --format html -o report.html

exit codes: 0 done, 1 failed (database unreachable), 2 usage error
"""

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_time(value: str, now: datetime) -> datetime:
    """`24h`, `30m`, `7d` (before `now`), or an ISO 8601 time (UTC if no zone given)."""
    m = _DURATION.match(value)
    if m:
        return now - timedelta(seconds=float(m.group(1)) * _UNITS[m.group(2)])
    try:
        t = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ReportError(
            f"cannot read time {value!r}: use a duration like 24h, 30m, 7d or an ISO time"
        ) from None
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def bucket_size(since: datetime, until: datetime) -> int:
    """Seconds per chart bucket for the period."""
    span = max((until - since).total_seconds(), 1.0)
    for size in BUCKETS_S:
        if span / size <= MAX_BUCKETS:
            return size
    return BUCKETS_S[-1]


_LEVELS_SQL = """
SELECT floor(extract(epoch FROM received_at - $1::timestamptz) / $3)::int AS b,
       coalesce(level, 'none') AS level, count(*) AS n
FROM log_events
WHERE received_at >= $1 AND received_at < $2 AND ($4::text IS NULL OR host = $4)
GROUP BY 1, 2
"""

_TEMPLATES_SQL = """
SELECT coalesce(t.merged_into, e.template_id) AS id, count(*) AS n,
       count(*) FILTER (WHERE e.level = ANY($5::text[])) AS errors
FROM log_events e LEFT JOIN log_templates t ON t.id = e.template_id
WHERE e.received_at >= $1 AND e.received_at < $2 AND ($4::text IS NULL OR e.host = $4)
  AND e.template_id IS NOT NULL
GROUP BY 1 ORDER BY n DESC, id LIMIT $3
"""

_TEMPLATE_TEXT_SQL = "SELECT id, template FROM log_templates WHERE id = ANY($1::bigint[])"

_SOURCES_SQL = """
SELECT host, path, count(*) AS n, count(*) FILTER (WHERE level = ANY($4::text[])) AS errors
FROM log_events
WHERE received_at >= $1 AND received_at < $2 AND ($3::text IS NULL OR host = $3)
GROUP BY host, path
"""

_DROPS_SQL = """
SELECT d.reason, sum(d.lines)::bigint AS lines
FROM ingest_drops d JOIN ingest_batches b ON b.batch_id = d.batch_id
WHERE b.received_at >= $1 AND b.received_at < $2 AND ($3::text IS NULL OR b.host = $3)
GROUP BY d.reason ORDER BY lines DESC, d.reason
"""

_BATCHES_SQL = """
SELECT count(*) AS batches, coalesce(sum(lines_received), 0)::bigint AS lines,
       coalesce(sum(lines_dropped), 0)::bigint AS dropped
FROM ingest_batches
WHERE received_at >= $1 AND received_at < $2 AND ($3::text IS NULL OR host = $3)
"""

_ANOMALIES_SQL = """
SELECT a.kind, a.host, a.path, a.template_id, a.window_start, a.window_end, a.score,
       a.detail, t.template
FROM anomalies a LEFT JOIN log_templates t ON t.id = a.template_id AND a.template_id <> 0
WHERE a.window_start >= $1 AND a.window_start < $2
  AND ($3::text IS NULL OR a.host = $3 OR a.host = '')
ORDER BY a.window_start DESC, a.score DESC
LIMIT 200
"""


async def gather(
    conn: Any, since: datetime, until: datetime, host: str | None = None
) -> dict[str, Any]:
    """Everything a report shows, as plain data (times as datetimes)."""
    size = bucket_size(since, until)
    n_buckets = max(1, int(-(-(until - since).total_seconds() // size)))
    per_level: dict[str, list[int]] = {}
    for r in await conn.fetch(_LEVELS_SQL, since, until, float(size), host):
        series = per_level.setdefault(r["level"], [0] * n_buckets)
        if 0 <= r["b"] < n_buckets:
            series[r["b"]] += r["n"]
    order = [lv for lv in (*LEVELS, "none") if lv in per_level]
    levels = {lv: per_level[lv] for lv in order}
    totals = [sum(series[i] for series in levels.values()) for i in range(n_buckets)]
    errors = [
        sum(levels.get(lv, [0] * n_buckets)[i] for lv in ERROR_LEVELS) for i in range(n_buckets)
    ]

    top = await conn.fetch(_TEMPLATES_SQL, since, until, TOP, host, list(ERROR_LEVELS))
    texts = {
        r["id"]: r["template"] for r in await conn.fetch(_TEMPLATE_TEXT_SQL, [r["id"] for r in top])
    }
    sources = await conn.fetch(_SOURCES_SQL, since, until, host, list(ERROR_LEVELS))
    hosts: dict[str, list[int]] = {}
    for r in sources:
        h = hosts.setdefault(r["host"], [0, 0])
        h[0] += r["n"]
        h[1] += r["errors"]
    batches = await conn.fetchrow(_BATCHES_SQL, since, until, host)
    anomalies = await conn.fetch(_ANOMALIES_SQL, since, until, host)

    total = sum(totals)
    total_errors = sum(errors)
    return {
        "since": since,
        "until": until,
        "host": host,
        "generated_at": datetime.now(UTC),
        "bucket_s": size,
        "buckets": [since + timedelta(seconds=i * size) for i in range(n_buckets)],
        "events_per_level": levels,
        "events_total": total,
        "errors_total": total_errors,
        "error_rate": total_errors / total if total else 0.0,
        "error_rate_series": [e / t if t else None for e, t in zip(errors, totals, strict=True)],
        "top_templates": [
            {
                "id": r["id"],
                "template": texts.get(r["id"], ""),
                "events": r["n"],
                "errors": r["errors"],
            }
            for r in top
        ],
        "top_hosts": [
            {"host": h, "events": v[0], "errors": v[1]}
            for h, v in sorted(hosts.items(), key=lambda kv: (-kv[1][0], kv[0]))[:TOP]
        ],
        "top_sources": [
            {"host": r["host"], "path": r["path"], "events": r["n"], "errors": r["errors"]}
            for r in sorted(sources, key=lambda r: (-r["n"], r["host"], r["path"]))[:TOP]
        ],
        "batches": batches["batches"],
        "lines_received": batches["lines"],
        "lines_dropped": batches["dropped"],
        "drops_by_reason": [
            {"reason": r["reason"], "lines": r["lines"]}
            for r in await conn.fetch(_DROPS_SQL, since, until, host)
        ],
        "anomalies": [
            {
                "kind": r["kind"],
                "host": r["host"],
                "path": r["path"],
                "template_id": r["template_id"],
                "template": r["template"],
                "window_start": r["window_start"],
                "window_end": r["window_end"],
                "score": r["score"],
                "detail": json.loads(r["detail"]) if isinstance(r["detail"], str) else r["detail"],
            }
            for r in anomalies
        ],
    }


async def _fetch_report(url: str, since: datetime, until: datetime, host: str | None) -> dict:
    import asyncpg

    conn = await asyncpg.connect(url, timeout=10)
    try:
        await conn.set_type_codec(
            "jsonb", encoder=_json_dumps, decoder=_json_loads, schema="pg_catalog"
        )
        return await gather(conn, since, until, host)
    finally:
        await conn.close()


def _json_dumps(value: Any) -> str:
    return json.dumps(value)


def _json_loads(value: str) -> Any:
    return json.loads(value)


def render(data: dict[str, Any], fmt: str) -> str:
    """The report in `fmt` (text, json or html)."""
    if fmt == "html":
        from analysis.report_html import render_html

        return render_html(data)
    from analysis.report_render import render_json, render_text

    return render_json(data) if fmt == "json" else render_text(data)


def report_main(argv: Sequence[str]) -> int:
    """Entry point of `logship report`; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="logship report",
        description="Statistics of the stored events: levels, templates, sources, drops, anomalies.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"logship {__version__}")
    parser.add_argument("--since", default="24h", help="start: 24h, 30m, 7d or ISO time")
    parser.add_argument("--until", default=None, help="end: duration before now or ISO time")
    parser.add_argument("--host", default=None, help="only events of this host")
    parser.add_argument("--format", choices=("text", "json", "html"), default="text")
    parser.add_argument("-o", "--output", type=Path, help="write to this file (default stdout)")
    parser.add_argument(
        "--database-url",
        default=None,
        help="PostgreSQL URL (default: $LOGSHIP_DATABASE_URL, else [analysis] database_url "
        "of $LOGSHIP_CONFIG, else the embedded database of `logship up` in ./data, else "
        f"{DEFAULT_DATABASE_URL})",
    )
    args = parser.parse_args(list(argv))
    if args.database_url is None:
        try:
            args.database_url = database_url(configured=load_config().database_url)
        except ConfigError as exc:
            print(f"logship report: {exc}", file=sys.stderr)
            return 2
    now = datetime.now(UTC)
    try:
        until = parse_time(args.until, now) if args.until else now
        since = parse_time(args.since, until if _DURATION.match(args.since) else now)
    except ReportError as exc:
        parser.print_usage(sys.stderr)
        print(f"logship report: {exc}", file=sys.stderr)
        return 2
    if since >= until:
        print(
            f"logship report: --since ({since}) must be before --until ({until})", file=sys.stderr
        )
        return 2
    try:
        data = asyncio.run(_fetch_report(args.database_url, since, until, args.host))
    except Exception as exc:
        what = "unreachable" if is_retriable(exc) else "failed"
        print(f"logship report: database {what}: {exc}; nothing was written", file=sys.stderr)
        return 1
    text = render(data, args.format)
    if args.output:
        try:
            tmp = args.output.with_name(args.output.name + ".tmp")
            tmp.write_text(text, encoding="utf-8")
            os.replace(tmp, args.output)
        except OSError as exc:
            print(f"logship report: cannot write {args.output}: {exc}", file=sys.stderr)
            return 1
        print(f"report written to {args.output}", file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(report_main(sys.argv[1:]))
