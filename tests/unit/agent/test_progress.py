"""Unit tests for agent.progress: the terminal progress line."""

from __future__ import annotations

import io

from agent.progress import Progress, format_progress


def test_format_shows_percent_lines_rate_and_eta() -> None:
    """The line shows the file, percent done, lines, lines/s and the ETA."""
    text = format_progress("app.log", 250, 1000, 5000, 2.0)
    assert text == "app.log   25.0%  5,000 lines  2,500 lines/s  ETA 0:06"


def test_no_eta_when_done_or_nothing_known() -> None:
    """No ETA before anything is done or once everything is."""
    assert "ETA" not in format_progress("a", 0, 1000, 0, 1.0)
    assert "ETA" not in format_progress("a", 1000, 1000, 10, 1.0)


def test_redraws_at_most_every_interval_and_clears() -> None:
    """Updates within the interval are accumulated, not drawn; `clear` erases the line."""
    now = [0.0]
    out = io.StringIO()
    progress = Progress(out, 100, interval_s=1.0, clock=lambda: now[0])
    now[0] = 1.0
    progress.update(label="a.log", done_bytes=10, lines=1)
    progress.update(done_bytes=10, lines=1)
    assert out.getvalue().count("\r") == 1
    now[0] = 2.5
    progress.update(done_bytes=30, lines=3)
    assert "50.0%" in out.getvalue() and "5 lines" in out.getvalue()
    progress.clear()
    assert out.getvalue().endswith("\r\033[K")
