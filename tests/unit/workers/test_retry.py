"""Unit tests of workers.retry.backoff_s."""

from __future__ import annotations

from workers.retry import backoff_s


def test_backoff_grows_and_is_capped() -> None:
    """The delay doubles per retry and never exceeds the maximum, jitter included."""
    highest = [backoff_s(n, 1.0, 30.0, rand=lambda: 1.0) for n in range(10)]
    assert highest[:5] == [1.0, 2.0, 4.0, 8.0, 16.0]
    assert highest[5:] == [30.0] * 5
    assert backoff_s(10_000, 1.0, 30.0, rand=lambda: 1.0) == 30.0


def test_backoff_jitter_keeps_half() -> None:
    """Jitter randomises the upper half: the delay is at least half the capped value."""
    assert backoff_s(3, 1.0, 60.0, rand=lambda: 0.0) == 4.0
    assert 4.0 <= backoff_s(3, 1.0, 60.0) <= 8.0
