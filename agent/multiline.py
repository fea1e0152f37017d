"""Multiline events: join a stack trace's lines into one event. Pure: no I/O, no clock.

A rule decides, line by line, whether a line *continues* the pending event or *starts* a new one:

- `FirstLineRule(regex)`: a line matching the regex starts an event; other lines continue it
  (the usual "every event starts with a timestamp" rule).
- `ContinuationRule(regex)`: a line matching the regex continues the event; others start one.
  The `java` preset is one: `\\tat ...`, `... 12 more`, `Caused by: ...`, `Suppressed: ...`
  and the exception line (`java.lang.IllegalStateException: ...`) after the logged line.
- `PythonRule()`: the `python` preset. A traceback continues the log line before it:
  `Traceback (most recent call last):`, its indented frames, the exception line that ends it,
  and the chaining lines (`During handling of the above exception, ...`) between tracebacks.

`Joiner` applies a rule to lines given with their byte offsets and yields whole events as
`(start, end, payload)`: `start` is the offset of the event's first byte, `end` the offset just
past its last line terminator, `payload` its lines joined with `\\n`. A pending event is emitted
when the next event starts, when it reaches `max_lines`/`max_bytes`, or when the caller says it
is due (`due(now)` after `flush_timeout_s` without a new line) so the last stack trace in a quiet
file is shipped without waiting for another line. `pending_start` is the offset a checkpoint may
cover at most: never part of an event, so a restart or a rotation never splits one.
"""

from __future__ import annotations

import re
from typing import Protocol

from logship.errors import ConfigError

# (start offset, end offset, payload)
Event = tuple[int, int, bytes]

_JAVA_CONTINUATION = (
    rb"^(?:[ \t]+|\.\.\. \d+ (?:more|common frames omitted)|Caused by: |Suppressed: "
    rb"|(?:[a-zA-Z_$][\w$]*\.)+[A-Z][\w$]*(?:Exception|Error|Throwable)\b)"
)
_PY_TRACEBACK = b"Traceback (most recent call last):"
_PY_CHAINING = (
    b"During handling of the above exception, another exception occurred:",
    b"The above exception was the direct cause of the following exception:",
)


class Rule(Protocol):
    """Decides whether a line continues the pending event."""

    def continues(self, line: bytes, pending: bool) -> bool: ...

    def reset(self) -> None: ...


class FirstLineRule:
    """A line matching `pattern` starts a new event; any other line continues the pending one."""

    def __init__(self, pattern: str | bytes) -> None:
        self.pattern = _compile(pattern)

    def continues(self, line: bytes, pending: bool) -> bool:
        return pending and self.pattern.search(line) is None

    def reset(self) -> None:
        return None


class ContinuationRule:
    """A line matching `pattern` continues the pending event; any other line starts one."""

    def __init__(self, pattern: str | bytes) -> None:
        self.pattern = _compile(pattern)

    def continues(self, line: bytes, pending: bool) -> bool:
        return pending and self.pattern.search(line) is not None

    def reset(self) -> None:
        return None


class PythonRule:
    """Python tracebacks, chained ones included, continue the line logged before them."""

    def __init__(self) -> None:
        self._in_traceback = False  # inside the frames of a traceback
        self._after_exception = False  # just after the line that ends a traceback

    def reset(self) -> None:
        self._in_traceback = False
        self._after_exception = False

    def continues(self, line: bytes, pending: bool) -> bool:
        if line.startswith(_PY_TRACEBACK):
            self._in_traceback = True
            self._after_exception = False
            return pending
        if self._in_traceback:
            if line[:1] in (b" ", b"\t"):
                return True
            # The first unindented line after the frames names the exception and ends it.
            self._in_traceback = False
            self._after_exception = True
            return True
        if self._after_exception:
            if not line.strip() or line.startswith(_PY_CHAINING):
                return True
            if line[:1] in (b" ", b"\t"):  # exception groups, notes
                return True
            self._after_exception = False
            return False
        return pending and line[:1] in (b" ", b"\t")


PRESETS = ("python", "java")


def make_rule(spec: str) -> Rule | None:
    """The rule named by an input's `multiline` key: "" (none), a preset, or a first-line regex.

    Raises ConfigError for an invalid regex.
    """
    spec = spec.strip()
    if not spec or spec == "none":
        return None
    if spec == "python":
        return PythonRule()
    if spec == "java":
        return ContinuationRule(_JAVA_CONTINUATION)
    return FirstLineRule(spec)


def _compile(pattern: str | bytes) -> re.Pattern[bytes]:
    raw = pattern.encode("utf-8") if isinstance(pattern, str) else pattern
    try:
        return re.compile(raw)
    except re.error as exc:
        raise ConfigError(f"multiline: {pattern!r} is not a valid regex: {exc}") from None


class Joiner:
    """Groups lines into events under a rule. With `rule=None` every line is its own event."""

    def __init__(
        self,
        rule: Rule | None,
        *,
        max_lines: int = 1000,
        max_bytes: int = 1024 * 1024,
        flush_timeout_s: float = 1.0,
    ) -> None:
        self.rule = rule
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.flush_timeout_s = flush_timeout_s
        self._parts: list[bytes] = []
        self._size = 0
        self._start = 0
        self._end = 0
        self._last_line_at = 0.0

    @property
    def pending(self) -> bool:
        return bool(self._parts)

    @property
    def pending_start(self) -> int | None:
        """Offset of the pending event's first byte (a checkpoint must stay at or before it)."""
        return self._start if self._parts else None

    def feed(self, lines: list[Event], now: float = 0.0) -> list[Event]:
        """Add complete lines `(start, end, line)`; return the events they complete."""
        rule = self.rule
        if rule is None:
            return lines
        out: list[Event] = []
        parts = self._parts
        for start, end, line in lines:
            if parts and (
                not rule.continues(line, True)
                or len(parts) >= self.max_lines
                or self._size + len(line) + 1 > self.max_bytes
            ):
                out.append(self._take())
                rule.reset()
                rule.continues(line, False)  # the new event's first line sets the rule's state
                parts = self._parts
            elif not parts:
                rule.continues(line, False)  # let a stateful rule see the event's first line
            if not parts:
                self._start = start
                self._size = len(line)
            else:
                self._size += len(line) + 1
            parts.append(line)
            self._end = end
        if parts:
            self._last_line_at = now
        return out

    def due(self, now: float) -> bool:
        """True when a pending event has waited `flush_timeout_s` for another line."""
        return bool(self._parts) and now - self._last_line_at >= self.flush_timeout_s

    def deadline(self) -> float | None:
        """When the pending event falls due, or None."""
        return self._last_line_at + self.flush_timeout_s if self._parts else None

    def flush(self) -> list[Event]:
        """Emit the pending event (at a timeout, end of file or shutdown)."""
        if not self._parts:
            return []
        event = self._take()
        if self.rule is not None:
            self.rule.reset()
        return [event]

    def discard(self) -> None:
        """Drop the pending event without emitting it (it will be read again from the file)."""
        self._parts = []
        self._size = 0
        if self.rule is not None:
            self.rule.reset()

    def _take(self) -> Event:
        event = (self._start, self._end, b"\n".join(self._parts))
        self._parts = []
        self._size = 0
        return event
