"""Anomaly detection over stored events: the SQL shell around `analysis.anomaly`.

`detect(conn, window_end, window_s, cfg)` judges the window [window_end - window_s, window_end)
of `received_at` and writes what it finds to `anomalies`, idempotently: the table's unique key
(kind, host, path, template_id, window_start) with `ON CONFLICT DO NOTHING` means running a
window twice (a retried task, two schedulers) stores each anomaly once. Kinds:

- `new_template`: a template (after merges) with events in the window and none before it.
  Skipped while the database has no event older than the window (a fresh install, where
  everything is new). host/path name the source when only one source had it, else ''.
- `template_spike`: a template's count for one host+path against its own previous
  `baseline_windows` windows (robust z-score >= `sensitivity_z`, at least `min_spike_events`).
- `error_rate_spike`: the share of error-or-worse events of one host+path against its own past
  rates (and at least `min_error_rate_increase` above the median).
- `source_silent`: a host+path that had events in at least `min_history_windows` of the windows
  before its last event and has now had none for `silence_after_s`; reported once, in the
  window during which the silence crossed that threshold.

Rates are only judged for sources with events in at least `min_history_windows` baseline windows.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis.anomaly import align_window, count_spike, rate_spike
from analysis.config import AnalysisConfig

ERROR_LEVELS = ("error", "critical", "alert", "emergency")
KINDS = ("new_template", "template_spike", "error_rate_spike", "source_silent")


@dataclass(slots=True)
class Anomaly:
    """One finding, as stored in `anomalies`."""

    kind: str
    window_start: datetime
    window_end: datetime
    score: float
    host: str = ""
    path: str = ""
    template_id: int = 0
    detail: dict[str, Any] = field(default_factory=dict)
    inserted: bool = False  # False when this window's anomaly was already stored


_TEMPLATE_COUNTS = """
SELECT e.host, e.path, coalesce(t.merged_into, e.template_id) AS tid,
       floor(extract(epoch FROM e.received_at - $1::timestamptz) / $3)::int AS w,
       count(*) AS n
FROM log_events e LEFT JOIN log_templates t ON t.id = e.template_id
WHERE e.received_at >= $1 AND e.received_at < $2 AND e.template_id IS NOT NULL
GROUP BY 1, 2, 3, 4
"""

_SOURCE_COUNTS = """
SELECT host, path,
       floor(extract(epoch FROM received_at - $1::timestamptz) / $3)::int AS w,
       count(*) AS n,
       count(*) FILTER (WHERE level = ANY($4::text[])) AS errors,
       max(received_at) AS last
FROM log_events
WHERE received_at >= $1 AND received_at < $2
GROUP BY 1, 2, 3
"""

_ANY_BEFORE = "SELECT EXISTS (SELECT 1 FROM log_events WHERE received_at < $1)"

_SEEN_BEFORE = """
SELECT DISTINCT coalesce(t.merged_into, t.id) AS tid
FROM log_templates t
WHERE coalesce(t.merged_into, t.id) = ANY($1::bigint[])
  AND EXISTS (SELECT 1 FROM log_events e WHERE e.template_id = t.id AND e.received_at < $2)
"""

_TEXTS = "SELECT id, template FROM log_templates WHERE id = ANY($1::bigint[])"

_INSERT = """
INSERT INTO anomalies (kind, host, path, template_id, window_start, window_end, score, detail)
SELECT x.kind, x.host, x.path, x.tid, x.ws, x.we, x.score, x.detail::jsonb
FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[], $5::timestamptz[],
            $6::timestamptz[], $7::float8[], $8::text[])
     AS x(kind, host, path, tid, ws, we, score, detail)
ON CONFLICT (kind, host, path, template_id, window_start) DO NOTHING
RETURNING kind, host, path, template_id
"""


def _top(found: list[Anomaly], limit: int) -> list[Anomaly]:
    return sorted(found, key=lambda a: -a.score)[:limit]


async def _template_anomalies(
    conn: Any, ws: datetime, we: datetime, window_s: int, cfg: AnalysisConfig
) -> tuple[list[Anomaly], list[Anomaly]]:
    b = cfg.baseline_windows
    start = ws - timedelta(seconds=window_s * b)
    rows = await conn.fetch(_TEMPLATE_COUNTS, start, we, float(window_s))
    counts: dict[tuple[str, str, int], list[int]] = defaultdict(lambda: [0] * (b + 1))
    for r in rows:
        if 0 <= r["w"] <= b:
            counts[(r["host"], r["path"], r["tid"])][r["w"]] += r["n"]
    active: dict[tuple[str, str], set[int]] = defaultdict(set)
    for (host, path, _), series in counts.items():
        active[(host, path)].update(i for i in range(b) if series[i])

    spikes: list[Anomaly] = []
    for (host, path, tid), series in counts.items():
        if not series[b] or len(active[(host, path)]) < cfg.min_history_windows:
            continue
        z = count_spike(series[b], series[:b], cfg.sensitivity_z, cfg.min_spike_events)
        if z is not None:
            spikes.append(
                Anomaly(
                    "template_spike",
                    ws,
                    we,
                    z,
                    host,
                    path,
                    tid,
                    {"count": series[b], "baseline": series[:b]},
                )
            )

    new: list[Anomaly] = []
    current: dict[int, list[tuple[str, str, int]]] = defaultdict(list)
    for (host, path, tid), series in counts.items():
        if series[b]:
            current[tid].append((host, path, series[b]))
    if cfg.new_templates and current and await conn.fetchval(_ANY_BEFORE, ws):
        seen = {r["tid"] for r in await conn.fetch(_SEEN_BEFORE, list(current), ws)}
        for tid, sources in current.items():
            if tid in seen:
                continue
            total = sum(n for _, _, n in sources)
            host, path = (sources[0][0], sources[0][1]) if len(sources) == 1 else ("", "")
            detail = {
                "count": total,
                "sources": [{"host": h, "path": p, "count": n} for h, p, n in sources[:20]],
            }
            new.append(Anomaly("new_template", ws, we, float(total), host, path, tid, detail))
    return _top(spikes, cfg.max_anomalies_per_kind), _top(new, cfg.max_anomalies_per_kind)


async def _source_anomalies(
    conn: Any, ws: datetime, we: datetime, window_s: int, cfg: AnalysisConfig
) -> tuple[list[Anomaly], list[Anomaly]]:
    b = cfg.baseline_windows
    silence = timedelta(seconds=cfg.silence_after_s)
    window = timedelta(seconds=window_s)
    # Far enough back for the baseline and for the history before a silence began.
    cur = b + math.ceil(cfg.silence_after_s / window_s) + 1
    start = ws - cur * window
    rows = await conn.fetch(_SOURCE_COUNTS, start, we, float(window_s), list(ERROR_LEVELS))
    per: dict[tuple[str, str], dict[int, tuple[int, int]]] = defaultdict(dict)
    last: dict[tuple[str, str], datetime] = {}
    for r in rows:
        key = (r["host"], r["path"])
        per[key][r["w"]] = (r["n"], r["errors"])
        if key not in last or r["last"] > last[key]:
            last[key] = r["last"]

    rates: list[Anomaly] = []
    silent: list[Anomaly] = []
    for key, windows in per.items():
        host, path = key
        history = [
            windows[i][1] / windows[i][0]
            for i in range(cur - b, cur)
            if i in windows and windows[i][0] > 0
        ]
        if cur in windows and len(history) >= cfg.min_history_windows:
            total, errors = windows[cur]
            z = rate_spike(
                errors,
                total,
                history,
                cfg.sensitivity_z,
                cfg.min_spike_events,
                cfg.min_error_rate_increase,
            )
            if z is not None:
                detail = {
                    "errors": errors,
                    "events": total,
                    "rate": errors / total,
                    "baseline_rates": [round(h, 4) for h in history],
                }
                rates.append(Anomaly("error_rate_spike", ws, we, z, host, path, 0, detail))

        seen_last = last[key]
        if we - silence - window <= seen_last < we - silence:
            last_w = max(windows)
            before = sum(1 for i in range(last_w - b + 1, last_w + 1) if i in windows)
            if before >= cfg.min_history_windows:
                quiet_s = (we - seen_last).total_seconds()
                detail = {"last_event": seen_last.isoformat(), "silent_s": quiet_s}
                silent.append(
                    Anomaly("source_silent", ws, we, quiet_s / window_s, host, path, 0, detail)
                )
    return _top(rates, cfg.max_anomalies_per_kind), _top(silent, cfg.max_anomalies_per_kind)


async def _store(conn: Any, found: list[Anomaly]) -> None:
    if not found:
        return
    rows = await conn.fetch(
        _INSERT,
        [a.kind for a in found],
        [a.host for a in found],
        [a.path for a in found],
        [a.template_id for a in found],
        [a.window_start for a in found],
        [a.window_end for a in found],
        [float(a.score) for a in found],
        [json.dumps(a.detail) for a in found],
    )
    fresh = {(r["kind"], r["host"], r["path"], r["template_id"]) for r in rows}
    for a in found:
        a.inserted = (a.kind, a.host, a.path, a.template_id) in fresh


async def detect(
    conn: Any,
    window_end: datetime,
    window_s: int | None = None,
    cfg: AnalysisConfig | None = None,
) -> list[Anomaly]:
    """Find and store the anomalies of the window ending at `window_end` (see module doc).

    Returns every anomaly found, stored now or by an earlier run of the same window
    (`Anomaly.inserted` tells which). `window_s` defaults to `cfg.window_s`.
    """
    cfg = cfg or AnalysisConfig()
    window_s = int(window_s or cfg.window_s)
    ws = window_end - timedelta(seconds=window_s)
    spikes, new = await _template_anomalies(conn, ws, window_end, window_s, cfg)
    rates, silent = await _source_anomalies(conn, ws, window_end, window_s, cfg)
    found = new + spikes + rates + silent
    ids = sorted({a.template_id for a in found if a.template_id})
    if ids:
        texts = {r["id"]: r["template"] for r in await conn.fetch(_TEXTS, ids)}
        for a in found:
            if a.template_id in texts:
                a.detail["template"] = texts[a.template_id]
    await _store(conn, found)
    return found


async def detect_recent(
    conn: Any, now: datetime, cfg: AnalysisConfig | None = None, windows: int = 2
) -> list[Anomaly]:
    """Run `detect` on the last `windows` complete epoch-aligned windows before `now`.

    What a periodic task calls: a tick that was missed is caught up by the next one, and a
    window already judged is stored once (the unique key).
    """
    cfg = cfg or AnalysisConfig()
    end = align_window(now, cfg.window_s)
    found: list[Anomaly] = []
    for k in range(windows - 1, -1, -1):
        found += await detect(conn, end - timedelta(seconds=k * cfg.window_s), cfg.window_s, cfg)
    return found


async def run_detection(cfg: AnalysisConfig, now: datetime | None = None) -> list[Anomaly]:
    """Connect to `cfg.database_url`, run `detect_recent`, disconnect: the periodic task's body.

    Errors propagate; `analysis.errors.is_retriable` says whether the next period may retry.
    """
    import asyncpg

    conn = await asyncpg.connect(cfg.database_url, timeout=10)
    try:
        return await detect_recent(conn, now or datetime.now(UTC), cfg)
    finally:
        await conn.close()
