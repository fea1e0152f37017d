"""Unit tests for agent.reader: complete lines from an offset, in constant memory."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

from agent.reader import Line, LineReader


def _read(data: bytes, *, offset: int = 0, final: bool = False, **kw: int) -> list[Line]:
    kw.setdefault("max_line_bytes", 1024)
    return list(LineReader(io.BytesIO(data), offset, **kw).read(final=final))


def test_lines_with_offsets_and_ends() -> None:
    """Each line comes without its `\\n`, with its start offset and the next line's start."""
    assert _read(b"ab\n\ncde\n") == [
        Line(0, b"ab", 3, False),
        Line(3, b"", 4, False),
        Line(4, b"cde", 8, False),
    ]


def test_crlf_terminators_are_stripped() -> None:
    """`\\r\\n` ends a line like `\\n`; a lone `\\r` inside a line is kept."""
    lines = _read(b"a\r\nb\rc\r\nd\n")
    assert [x.data for x in lines] == [b"a", b"b\rc", b"d"]
    assert [x.end for x in lines] == [3, 8, 10]


def test_crlf_split_across_chunks() -> None:
    """A `\\r\\n` whose `\\r` ends one read chunk and `\\n` starts the next is still one
    terminator."""
    data = b"abc\r\nxyz\r\n"
    for chunk in range(1, len(data) + 1):
        lines = _read(data, chunk_bytes=chunk)
        assert [x.data for x in lines] == [b"abc", b"xyz"], chunk


def test_starts_at_an_offset() -> None:
    """Reading starts at the given offset (a checkpoint)."""
    assert [x.data for x in _read(b"one\ntwo\nthree\n", offset=4)] == [b"two", b"three"]


def test_unterminated_last_line_is_held_back_unless_final() -> None:
    """An unterminated last line is held back while tailing and handed out at EOF in
    `send` mode (`final=True`)."""
    assert [x.data for x in _read(b"a\nb\npartial")] == [b"a", b"b"]
    last = _read(b"a\nb\npartial", final=True)[-1]
    assert last == Line(4, b"partial", 11, False)


def test_held_back_line_completes_when_the_writer_finishes_it() -> None:
    """A partial line is handed out whole once its `\\n` arrives; positions track it."""
    buf = io.BytesIO(b"a\npar")
    reader = LineReader(buf, max_line_bytes=100)
    assert [x.data for x in reader.read()] == [b"a"]
    assert (reader.position, reader.read_position, reader.pending_bytes) == (2, 5, 3)
    buf.seek(0, io.SEEK_END)
    buf.write(b"tial\nnext\n")
    assert [(x.offset, x.data) for x in reader.read()] == [(2, b"partial"), (10, b"next")]
    assert reader.position == 15


def test_binary_and_invalid_utf8_lines_are_bytes_untouched() -> None:
    """Lines are bytes in any encoding: NULs, invalid UTF-8 and Latin-1 pass unchanged."""
    raw = [b"\x00\x01\x02 binary", b"\xff\xfe invalid utf-8 \xc3\x28", b"caf\xe9 latin-1"]
    assert [x.data for x in _read(b"\n".join(raw) + b"\n")] == raw


def test_over_long_line_is_cut_counted_and_the_rest_skipped() -> None:
    """A line over max_line_bytes is cut to it, flagged, counted; the next line is intact."""
    reader = LineReader(io.BytesIO(b"x" * 50 + b"\r\nok\n"), max_line_bytes=10, chunk_bytes=7)
    lines = list(reader.read())
    assert lines[0] == Line(0, b"x" * 10, 52, True)
    assert lines[1] == Line(52, b"ok", 55, False)
    assert (reader.truncated_lines, reader.skipped_bytes) == (1, 40)


def test_line_of_exactly_the_limit_with_crlf_is_not_truncated() -> None:
    """A line of exactly max_line_bytes is kept whole even with a `\\r\\n` terminator,
    whatever the chunking."""
    for chunk in range(1, 14):
        lines = _read(b"0123456789\r\nab\n", max_line_bytes=10, chunk_bytes=chunk)
        assert [(x.data, x.truncated) for x in lines] == [(b"0123456789", False), (b"ab", False)]


def test_ten_megabyte_line_in_constant_memory(tmp_path: Path) -> None:
    """A 10 MB line is cut to 1 MiB, the lines around it are intact, and while the line is
    still unterminated the reader holds at most the limit in memory."""
    path = tmp_path / "big.log"
    with path.open("wb") as fh:
        fh.write(b"before\n")
        for _ in range(10):
            fh.write(b"y" * 1_000_000)
    with path.open("rb") as fh:
        reader = LineReader(fh, max_line_bytes=2**20, chunk_bytes=64 * 1024)
        assert [x.data for x in reader.read()] == [b"before"]
        assert reader.buffered_bytes <= 2**20 + 1
        assert reader.pending_bytes == 10_000_000
    with path.open("ab") as fh:
        fh.write(b"\nafter\n")
    with path.open("rb") as fh:
        reader.fh = fh
        lines = [(x.offset, x.data[:6], len(x.data), x.truncated) for x in reader.read()]
    assert lines == [(7, b"yyyyyy", 2**20, True), (10_000_008, b"after", 5, False)]
    assert (reader.truncated_lines, reader.skipped_bytes) == (1, 10_000_000 - 2**20)


def test_unterminated_over_long_last_line_at_eof() -> None:
    """An over-long unterminated last line is handed out cut (and counted) in `send` mode."""
    reader = LineReader(io.BytesIO(b"a\n" + b"z" * 30), max_line_bytes=8, chunk_bytes=4)
    lines = list(reader.read(final=True))
    assert lines[-1] == Line(2, b"z" * 8, 32, True)
    assert reader.skipped_bytes == 22


def test_caller_may_stop_and_resume_without_losing_lines() -> None:
    """Stopping the generator mid-chunk (window full) and calling read() again resumes at
    the first line not handed out: nothing lost, nothing repeated."""
    data = b"".join(b"line %d\n" % i for i in range(100))
    reader = LineReader(io.BytesIO(data), max_line_bytes=64, chunk_bytes=1000)
    got: list[bytes] = []
    while True:
        batch = [x.data for x in itertools.islice(reader.read(), 7)]
        if not batch:
            break
        got.extend(batch)
    assert got == [b"line %d" % i for i in range(100)]


def test_reset_forgets_a_partial_line() -> None:
    """After a truncation the caller resets to 0; the old partial line is forgotten."""
    reader = LineReader(io.BytesIO(b"abc\ndef"), max_line_bytes=64)
    list(reader.read())
    reader.reset(0)
    assert [x.data for x in reader.read(final=True)] == [b"abc", b"def"]
