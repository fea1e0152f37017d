"""Cleaning rules: blank, binary, NUL, invalid UTF-8, length, CRLF and ANSI escapes, and the
operator's drop patterns."""

from __future__ import annotations

import pytest

from collector.clean import (
    DROP_BINARY,
    DROP_BLANK,
    DROP_INVALID_UTF8,
    clean_entry,
    compile_filter,
    count_lines,
)
from logship.errors import ConfigError


@pytest.mark.parametrize("entry", [b"", b" ", b"\t\t", b"\r", b"  \n \n", b"\x1b[0m"])
def test_blank_entries_are_dropped(entry: bytes) -> None:
    """Empty or whitespace-only entries (also after escapes are removed) are dropped as blank."""
    assert clean_entry(entry, 100).drop == DROP_BLANK


@pytest.mark.parametrize(
    "entry",
    [
        b"\x00\x00\x00\x00",
        bytes(range(32)),
        b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00",
        b"ab\x00\x00",
    ],
)
def test_binary_entries_are_dropped(entry: bytes) -> None:
    """Entries with more than 10 % control bytes are binary and dropped."""
    assert clean_entry(entry, 100).drop == DROP_BINARY


def test_a_stray_nul_is_removed_and_the_line_kept() -> None:
    """A few NUL bytes in text are removed (PostgreSQL refuses NUL) and the line is kept."""
    got = clean_entry(b"hello world, this is a long line with one \x00 NUL", 100)
    assert got.drop is None
    assert got.text == "hello world, this is a long line with one  NUL"
    assert "\x00" not in got.text


def test_other_controls_are_removed_but_tab_and_newline_kept() -> None:
    """C0 controls other than TAB and LF are removed from kept lines."""
    text = clean_entry(b"a\tb and a bell \x07 here\nsecond line of text", 100).text
    assert text == "a\tb and a bell  here\nsecond line of text"


def test_crlf_and_ansi_colours_are_removed() -> None:
    """CRLF line ends become LF; ANSI colour sequences disappear."""
    got = clean_entry(b"\x1b[31mERROR\x1b[0m failed\r\nnext\r", 100)
    assert got.text == "ERROR failed\nnext"


def test_long_lines_are_truncated_and_flagged() -> None:
    """A line over max_line_bytes is cut to that length and flagged truncated."""
    got = clean_entry(b"x" * 1000, 100)
    assert got.text == "x" * 100 and got.truncated and got.drop is None


def test_truncation_never_splits_a_utf8_character() -> None:
    """The cut moves back to a character boundary, so no U+FFFD appears."""
    entry = "é".encode() * 60  # 120 bytes, 2 bytes per character
    for limit in (99, 100, 101):
        got = clean_entry(entry, limit)
        assert "\ufffd" not in got.text
        assert len(got.text.encode()) <= limit
    got = clean_entry("€".encode() * 40, 10)  # 3-byte characters
    assert got.text == "€€€"


def test_mostly_valid_utf8_is_repaired() -> None:
    """Latin-1 accents in text are replaced by U+FFFD and the line kept."""
    got = clean_entry(b"user Jos\xe9 logged in from 10.0.0.1", 100)
    assert got.drop is None and got.text == "user Jos\ufffd logged in from 10.0.0.1"
    got = clean_entry(b"caf\xe9 au lait \xff", 100)
    assert got.drop is None and got.text == "caf\ufffd au lait \ufffd"
    got = clean_entry("été à côté".encode("latin-1"), 100)
    assert got.drop is None and got.text.count("\ufffd") == 5


def test_mostly_invalid_utf8_is_dropped() -> None:
    """Text that is mostly invalid UTF-8 is dropped as invalid_utf8."""
    assert clean_entry(bytes(range(0x80, 0xFF)), 1000).drop == DROP_INVALID_UTF8


def test_valid_utf8_with_replacement_characters_is_kept_as_is() -> None:
    """Real U+FFFD characters in valid UTF-8 are not mistaken for invalid bytes."""
    got = clean_entry("\ufffd\ufffd ok".encode() + b"\xff", 100)
    assert got.drop is None and got.text.startswith("\ufffd\ufffd ok")


def test_count_lines() -> None:
    """An entry stands for its newline count plus one lines."""
    assert count_lines(b"") == 1
    assert count_lines(b"a") == 1
    assert count_lines(b"a\nb\nc") == 3


def test_drop_patterns_compile_into_one_filter() -> None:
    """Patterns become one expression matching any of them; none gives no filter; a bad one
    is a configuration error that names it."""
    assert compile_filter([]) is None
    f = compile_filter([r"GET /health", r"^DEBUG\b"])
    assert f is not None
    assert f.search('10.0.0.1 - - "GET /health HTTP/1.1" 200') and f.search("DEBUG x")
    assert not f.search("INFO DEBUG later")
    with pytest.raises(ConfigError, match=r"drop_patterns.*'\(unclosed'"):
        compile_filter(["ok", "(unclosed"])
