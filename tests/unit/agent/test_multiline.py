"""Multiline rules and the joiner (agent/multiline.py)."""

from __future__ import annotations

import pytest

from agent.multiline import ContinuationRule, FirstLineRule, Joiner, PythonRule, make_rule
from agent.split import LineSplitter
from logship.errors import ConfigError

PYTHON_LOG = b"""2024-05-01 12:00:00 ERROR request failed
Traceback (most recent call last):
  File "app.py", line 10, in handle
    do()
ValueError: bad value

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "app.py", line 12, in handle
    raise RuntimeError("wrapped")
RuntimeError: wrapped
2024-05-01 12:00:01 INFO next request
2024-05-01 12:00:02 INFO done
"""

JAVA_LOG = b"""2024-05-01 12:00:00 ERROR [main] c.e.App - request failed
java.lang.IllegalStateException: boom
\tat com.example.App.handle(App.java:10)
\tat com.example.App.main(App.java:5)
Caused by: java.lang.NullPointerException: null
\tat com.example.Dao.load(Dao.java:3)
\t... 2 more
2024-05-01 12:00:01 INFO [main] c.e.App - next
"""


def _lines(data: bytes) -> list[tuple[int, int, bytes]]:
    return LineSplitter(0, 1 << 20).feed(data)


def _join(rule_spec: str, data: bytes) -> list[tuple[int, int, bytes]]:
    joiner = Joiner(make_rule(rule_spec))
    return joiner.feed(_lines(data)) + joiner.flush()


def test_python_preset_keeps_chained_tracebacks_with_their_log_line() -> None:
    """The python preset joins a log line, its (chained) traceback and exception lines."""
    events = _join("python", PYTHON_LOG)
    assert [e[2].split(b"\n")[0] for e in events] == [
        b"2024-05-01 12:00:00 ERROR request failed",
        b"2024-05-01 12:00:01 INFO next request",
        b"2024-05-01 12:00:02 INFO done",
    ]
    first = events[0][2]
    assert first.count(b"\n") == 11
    assert first.endswith(b"RuntimeError: wrapped")


def test_events_cover_the_file_contiguously() -> None:
    """Event offsets are contiguous: each starts where the previous ended; the last ends at EOF."""
    events = _join("python", PYTHON_LOG)
    assert events[0][0] == 0
    for before, after in zip(events, events[1:], strict=False):
        assert before[1] == after[0]
    assert events[-1][1] == len(PYTHON_LOG)


def test_java_preset_joins_stack_trace_and_caused_by() -> None:
    """The java preset joins the exception line, `at` frames, `Caused by:` and `... N more`."""
    events = _join("java", JAVA_LOG)
    assert len(events) == 2
    assert events[0][2].count(b"\n") == 6
    assert events[1][2] == b"2024-05-01 12:00:01 INFO [main] c.e.App - next"


def test_first_line_regex_rule() -> None:
    """With a first-line regex, every line not matching it continues the current event."""
    events = _join(r"^\d{4}-\d{2}-\d{2} ", JAVA_LOG)
    assert len(events) == 2
    assert events[0][2].startswith(b"2024-05-01 12:00:00 ERROR")
    assert events[0][2].endswith(b"\t... 2 more")


def test_no_rule_means_one_event_per_line() -> None:
    """Without a rule every line is its own event and nothing is ever pending."""
    joiner = Joiner(make_rule(""))
    events = joiner.feed(_lines(JAVA_LOG))
    assert len(events) == JAVA_LOG.count(b"\n")
    assert not joiner.pending


def test_last_event_waits_then_flushes_on_timeout() -> None:
    """The last event stays pending (a continuation may come) until flush_timeout_s passes."""
    joiner = Joiner(PythonRule(), flush_timeout_s=2.0)
    lines = _lines(PYTHON_LOG)
    out = joiner.feed(lines[:5], now=100.0)
    assert out == []
    assert joiner.pending_start == 0
    assert not joiner.due(101.0)
    assert joiner.due(102.0)
    assert joiner.deadline() == 102.0
    (event,) = joiner.flush()
    assert event[0] == 0 and event[1] == lines[4][1]
    assert not joiner.pending and joiner.pending_start is None


def test_pending_start_is_the_checkpoint_limit() -> None:
    """pending_start is the first byte of the unfinished event (a checkpoint never passes it)."""
    joiner = Joiner(ContinuationRule(rb"^\s"))
    lines = _lines(b"a\n b\nc\n d\n")
    done = joiner.feed(lines)
    assert done == [(0, 5, b"a\n b")]
    assert joiner.pending_start == 5


def test_max_lines_splits_an_overlong_event() -> None:
    """An event reaching max_lines is emitted, and the rest starts a new event."""
    joiner = Joiner(ContinuationRule(rb"^\s"), max_lines=3)
    data = b"head\n" + b" x\n" * 5
    events = joiner.feed(_lines(data)) + joiner.flush()
    assert [e[2].count(b"\n") + 1 for e in events] == [3, 3]


def test_max_bytes_splits_an_overlong_event() -> None:
    """An event that would pass max_bytes is emitted before the line that would overflow it."""
    joiner = Joiner(ContinuationRule(rb"^\s"), max_bytes=10)
    events = joiner.feed(_lines(b"head\n abcd\n efgh\n")) + joiner.flush()
    assert [e[2] for e in events] == [b"head\n abcd", b" efgh"]


def test_continuation_without_a_pending_event_starts_one() -> None:
    """A continuation line at the very start of a file (no event before it) starts an event."""
    events = _join("java", b"\tat x\nnext\n")
    assert [e[2] for e in events] == [b"\tat x", b"next"]


def test_traceback_first_in_file_is_one_event() -> None:
    """A traceback with no log line before it is still a single event."""
    data = b'Traceback (most recent call last):\n  File "x"\nKeyError: 1\nafter\n'
    events = _join("python", data)
    assert [e[2].split(b"\n")[0] for e in events] == [
        b"Traceback (most recent call last):",
        b"after",
    ]


def test_discard_drops_the_pending_event() -> None:
    """discard() forgets the pending event: it will be read again from the file."""
    joiner = Joiner(FirstLineRule(rb"^\S"))
    joiner.feed(_lines(b"a\n b\n"))
    joiner.discard()
    assert not joiner.pending and joiner.flush() == []


def test_bad_regex_is_a_config_error() -> None:
    """An invalid regex in `multiline` is a ConfigError naming the pattern."""
    with pytest.raises(ConfigError, match="not a valid regex"):
        make_rule("([")


def test_presets_and_none() -> None:
    """`python` and `java` name presets; "" and "none" mean no multiline joining."""
    assert isinstance(make_rule("python"), PythonRule)
    assert isinstance(make_rule("java"), ContinuationRule)
    assert make_rule("") is None and make_rule("none") is None
    assert isinstance(make_rule(r"^\["), FirstLineRule)
