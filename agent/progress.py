"""A one-line progress display for a terminal (lines/s and ETA); silent elsewhere.

Plain text on purpose: the agent runs on Debian's python3 without tqdm. `Progress.clear()`
erases the line so that a log message can be printed cleanly.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TextIO


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


def format_progress(
    label: str, done_bytes: int, total_bytes: int, lines: int, elapsed_s: float
) -> str:
    """`app.log  42.0%  12,345 lines  6,172 lines/s  ETA 0:03` (pure)."""
    parts = [label]
    if total_bytes > 0:
        parts.append(f"{min(100.0, 100.0 * done_bytes / total_bytes):5.1f}%")
    parts.append(f"{lines:,} lines")
    if elapsed_s > 0:
        parts.append(f"{lines / elapsed_s:,.0f} lines/s")
        if 0 < done_bytes < total_bytes:
            remaining = (total_bytes - done_bytes) * elapsed_s / done_bytes
            parts.append(f"ETA {_duration(remaining)}")
    return "  ".join(parts)


class Progress:
    """Redraws one terminal line at most every `interval_s`."""

    def __init__(
        self,
        stream: TextIO,
        total_bytes: int,
        *,
        interval_s: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream
        self.total_bytes = total_bytes
        self.interval_s = interval_s
        self.clock = clock
        self.started = clock()
        self._last = 0.0
        self._shown = False
        self.label = ""
        self.done_bytes = 0
        self.lines = 0

    def update(self, *, label: str | None = None, done_bytes: int = 0, lines: int = 0) -> None:
        if label is not None:
            self.label = label
        self.done_bytes += done_bytes
        self.lines += lines
        now = self.clock()
        if now - self._last < self.interval_s:
            return
        self._last = now
        text = format_progress(
            self.label, self.done_bytes, self.total_bytes, self.lines, now - self.started
        )
        self.stream.write("\r\033[K" + text)
        self.stream.flush()
        self._shown = True

    def clear(self) -> None:
        if self._shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
            self._shown = False
            self._last = 0.0

    close = clear
