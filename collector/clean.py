"""Cleaning of received entries, before parsing. Pure.

One entry is one event as the agent sent it: a line, or a multiline event's lines joined by
`\\n`, as raw bytes in any encoding. `clean_entry` returns the text to keep, or the reason the
entry is dropped. The rules, in order:

1. `\\r` before a line break and at the end is removed (CRLF files), ANSI colour/cursor escape
   sequences (`ESC [ ... letter`) are removed.
2. **Binary**: if more than `BINARY_RATIO` (10 %) of the bytes are control bytes (C0 controls
   other than TAB/LF/CR, DEL, and NUL), the entry is dropped with reason `binary`.
3. Remaining NUL bytes and other C0 controls (except TAB and LF) are removed: PostgreSQL text
   refuses NUL, and the others are terminal noise.
4. **Length**: an entry longer than `max_line_bytes` is cut to that many bytes (never inside a
   UTF-8 sequence) and counted as truncated; it is kept.
5. **Invalid UTF-8**: decoded strictly; if that fails, each invalid sequence is replaced with
   U+FFFD when at most `INVALID_UTF8_RATIO` (50 %) of the bytes are invalid: the entry passed
   the binary test, so it is text in another encoding (Latin-1 accents, a cut sequence) and
   its readable part is worth keeping. Above that nothing readable would remain, and the
   entry is dropped as `invalid_utf8`.
6. **Blank**: an entry that is empty or only whitespace after all that is dropped as `blank`.
7. **Filtered**: an entry whose text matches one of the operator's `drop_patterns` (irrelevant
   lines: health checks, debug chatter) is dropped as `filtered` (`compile_filter`, applied by
   `collector.prefilter`).

A dropped entry counts all of its physical lines under its reason.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from logship.errors import ConfigError

BINARY_RATIO = 0.10
INVALID_UTF8_RATIO = 0.50

DROP_BLANK = "blank"
DROP_BINARY = "binary"
DROP_INVALID_UTF8 = "invalid_utf8"
DROP_FILTERED = "filtered"
DROP_REASONS = (DROP_BLANK, DROP_BINARY, DROP_INVALID_UTF8, DROP_FILTERED)

_ANSI = re.compile(rb"\x1b\[[0-9;?]*[ -/]*[@-~]")
# Control bytes counted as binary: C0 except TAB (09), LF (0a), CR (0d); plus DEL (7f).
_CONTROL = bytes(b for b in range(0x20) if b not in (0x09, 0x0A, 0x0D)) + b"\x7f"
_CONTROL_DELETE = bytes(b for b in range(0x20) if b not in (0x09, 0x0A))


@dataclass(frozen=True, slots=True)
class Cleaned:
    """The outcome for one entry: `text` to keep, or `drop` (a reason), and truncation."""

    text: str | None
    drop: str | None = None
    truncated: bool = False


def count_lines(entry: bytes) -> int:
    """Physical lines an entry stands for (the protocol's definition)."""
    return entry.count(b"\n") + 1


def _cut_utf8(data: bytes, limit: int) -> bytes:
    """`data[:limit]`, moved back so that no UTF-8 sequence is split (if it looks like UTF-8)."""
    cut = data[:limit]
    # Step back over continuation bytes (10xxxxxx) to the start of a sequence, at most 3.
    i = len(cut)
    back = 0
    while back < 3 and i > 0 and (cut[i - 1] & 0xC0) == 0x80:
        i -= 1
        back += 1
    if i > 0 and cut[i - 1] >= 0xC0:
        lead = cut[i - 1]
        need = 2 if lead < 0xE0 else 3 if lead < 0xF0 else 4
        if back + 1 < need:
            return cut[: i - 1]
    return cut


def clean_entry(entry: bytes, max_line_bytes: int) -> Cleaned:
    """Apply the cleaning rules above to one entry."""
    data = entry
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").rstrip(b"\r")
    if b"\x1b" in data:
        data = _ANSI.sub(b"", data)
    if not data.strip():
        return Cleaned(None, DROP_BLANK)
    controls = len(data) - len(data.translate(None, _CONTROL))
    if controls:
        if controls > BINARY_RATIO * len(data):
            return Cleaned(None, DROP_BINARY)
        data = data.translate(None, _CONTROL_DELETE)
    truncated = False
    if len(data) > max_line_bytes:
        data = _cut_utf8(data, max_line_bytes)
        truncated = True
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("utf-8", "replace")
        # Each invalid sequence became one U+FFFD; compare with the byte count.
        invalid = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
        if invalid > INVALID_UTF8_RATIO * len(data):
            return Cleaned(None, DROP_INVALID_UTF8)
    if not text.strip():
        return Cleaned(None, DROP_BLANK)
    return Cleaned(text, None, truncated)


def compile_filter(patterns: list[str]) -> re.Pattern[str] | None:
    """One regular expression matching any of `patterns` (None when there are none).
    Raises ConfigError naming the pattern that does not compile."""
    for p in patterns:
        try:
            re.compile(p)
        except re.error as exc:
            raise ConfigError(
                f"key 'drop_patterns': {p!r} is not a regular expression: {exc}"
            ) from None
    if not patterns:
        return None
    return re.compile("|".join(f"(?:{p})" for p in patterns))
