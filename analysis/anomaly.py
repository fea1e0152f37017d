"""Robust statistics for anomaly detection: median/MAD baselines and z-scores. Pure.

A value is compared with its own history (the previous windows): z = (x - median) / scale,
with scale = 1.4826 * MAD (the standard deviation a normal distribution with that MAD would
have), floored so that a perfectly flat history does not make every small change infinite.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

MAD_TO_SIGMA = 1.4826


@dataclass(frozen=True, slots=True)
class Baseline:
    """Median and robust scale of a history of values."""

    median: float
    scale: float
    samples: int


def median(values: Sequence[float]) -> float:
    """The median (0.0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    mid = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[mid])
    return (ordered[mid - 1] + ordered[mid]) / 2.0


def baseline(values: Sequence[float], floor: float) -> Baseline:
    """Median and scale (1.4826 MAD, at least `floor`) of `values`."""
    m = median(values)
    mad = median([abs(v - m) for v in values])
    return Baseline(median=m, scale=max(MAD_TO_SIGMA * mad, floor), samples=len(values))


def count_floor(center: float) -> float:
    """Scale floor for event counts: the Poisson deviation sqrt(median), plus 1 for the
    uncertainty of a median taken from a dozen small counts."""
    return 1.0 + math.sqrt(max(center, 0.0))


def robust_z(value: float, base: Baseline) -> float:
    """How many robust standard deviations `value` lies above the baseline median."""
    return (value - base.median) / base.scale


def count_spike(
    current: int, history: Sequence[int], sensitivity_z: float, min_events: int
) -> float | None:
    """The z-score of an event count if it is a spike against its history, else None."""
    if current < min_events:
        return None
    m = median(history)
    base = baseline(history, count_floor(m))
    z = robust_z(current, base)
    return z if z >= sensitivity_z else None


def rate_spike(
    errors: int,
    total: int,
    history: Sequence[float],
    sensitivity_z: float,
    min_errors: int,
    min_increase: float,
) -> float | None:
    """The z-score of an error rate (errors/total) if it spikes against past rates, else None.

    The scale floor is 1.5 binomial standard errors of the median rate at this window's size,
    so a few errors in a small window are not a spike.
    """
    if total <= 0 or errors < min_errors:
        return None
    rate = errors / total
    m = median(history)
    p = min(max(m, 1.0 / total), 1.0)
    floor = max(1.5 * math.sqrt(p * (1.0 - p) / total), 1e-3)  # 1.5: median of few windows
    base = baseline(history, floor)
    if rate - base.median < min_increase:
        return None
    z = robust_z(rate, base)
    return z if z >= sensitivity_z else None


def align_window(t: datetime, window_s: int) -> datetime:
    """The start of the epoch-aligned window of `window_s` seconds that holds `t` (UTC)."""
    ts = t.timestamp()
    return datetime.fromtimestamp(ts - (ts % window_s), tz=UTC)
