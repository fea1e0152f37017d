"""Robust baselines and spike decisions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from analysis.anomaly import align_window, baseline, count_spike, median, rate_spike, robust_z


def test_median_and_mad_scale() -> None:
    """Median of odd and even lists; the scale is 1.4826 MAD with a floor."""
    assert median([3, 1, 2]) == 2
    assert median([4, 1, 2, 3]) == 2.5
    assert median([]) == 0.0
    base = baseline([10, 12, 11, 13, 9], floor=0.1)
    assert base.median == 11
    assert base.scale == pytest.approx(1.4826)
    assert baseline([5, 5, 5], floor=2.0).scale == 2.0


def test_outlier_in_history_does_not_hide_a_spike() -> None:
    """One huge past value barely moves the median/MAD baseline."""
    history = [20, 21, 19, 20, 500, 22, 20, 18, 21, 20, 19, 20]
    assert count_spike(120, history, sensitivity_z=4.0, min_events=10) is not None
    assert robust_z(20, baseline(history, 1.0)) == pytest.approx(0.0)


def test_steady_counts_and_small_counts_are_not_spikes() -> None:
    """Normal variation, and spikes below `min_events`, are not reported."""
    history = [20, 22, 19, 21, 20, 23, 18, 20, 21, 22, 19, 20]
    assert count_spike(24, history, 4.0, 10) is None
    assert count_spike(8, [0] * 12, 4.0, 10) is None
    assert count_spike(30, [0] * 12, 4.0, 10) == pytest.approx(30.0)


def test_sensitivity_changes_the_decision() -> None:
    """A lower z threshold reports smaller deviations."""
    history = [100, 104, 96, 100, 102, 98, 100, 101, 99, 100, 103, 97]
    assert count_spike(150, history, 6.0, 10) is None
    assert count_spike(150, history, 3.0, 10) is not None


def test_error_rate_spike_needs_errors_and_an_absolute_increase() -> None:
    """A rate spike needs enough errors, a rise above `min_increase`, and a high z-score."""
    history = [0.01, 0.0, 0.02, 0.01, 0.0, 0.01, 0.01, 0.02]
    assert rate_spike(40, 80, history, 4.0, 10, 0.05) is not None
    assert rate_spike(3, 6, history, 4.0, 10, 0.05) is None  # too few errors
    assert rate_spike(12, 1000, history, 4.0, 10, 0.05) is None  # 1.2 %: not 5 points up
    assert rate_spike(0, 0, history, 4.0, 10, 0.05) is None


def test_align_window_is_epoch_aligned() -> None:
    """Windows start at multiples of their length since the epoch, in UTC."""
    t = datetime(2026, 1, 5, 10, 7, 31, tzinfo=UTC)
    assert align_window(t, 300) == datetime(2026, 1, 5, 10, 5, tzinfo=UTC)
    assert align_window(t, 3600) == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
