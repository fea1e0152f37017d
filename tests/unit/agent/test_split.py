"""Splitting bytes into lines with offsets (agent/split.py)."""

from __future__ import annotations

from agent.split import LineSplitter


def test_splitter_gives_offsets_and_strips_terminators() -> None:
    """Complete lines come with start and end offsets; `\\n` and `\\r\\n` are removed."""
    s = LineSplitter(100, 50)
    assert s.feed(b"ab\r\ncd\nef") == [(100, 104, b"ab"), (104, 107, b"cd")]
    assert s.buffered == 2
    assert s.feed(b"g\n") == [(107, 111, b"efg")]


def test_splitter_cuts_long_lines_and_skips_their_rest_in_constant_memory() -> None:
    """A line over max_line_bytes is cut; its rest is skipped without being kept; offsets stay exact."""
    s = LineSplitter(0, 4)
    assert s.feed(b"0123456789") == []
    assert s.buffered == 10
    assert s.feed(b"abcdef") == []
    out = s.feed(b"XY\nok\n")
    assert out == [(0, 19, b"0123"), (19, 22, b"ok")]
    assert s.take_truncated(19) == [0]  # the start offsets of the cut lines
    assert s.take_truncated(100) == []


def test_splitter_flush_hands_out_the_unterminated_last_line() -> None:
    """flush() returns the unterminated tail as a line (end of a finished file)."""
    s = LineSplitter(0, 100)
    s.feed(b"a\nlast")
    assert s.flush() == [(2, 6, b"last")]
    assert s.flush() == []
