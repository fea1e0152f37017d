"""Splitting bytes into lines with their byte offsets, in constant memory. Pure.

The tailing agent reads a file in chunks with `pread`; `LineSplitter.feed(chunk)` returns the
complete lines with their offsets and keeps the unterminated rest. A line longer than
`max_line_bytes` is cut to that size and the rest of it is skipped (never held in memory);
the start offsets of cut lines are remembered until a batch takes them (`take_truncated`).
"""

from __future__ import annotations

from agent.multiline import Event


class LineSplitter:
    """Incremental line splitting with byte offsets; lines over `max_line_bytes` are cut.

    `feed(data)` returns `(start, end, line)` for each complete line: `end` is past the `\\n`,
    `line` has no terminator (`\\n` or `\\r\\n`). An unterminated tail is kept (at most
    `max_line_bytes` of it) until its newline arrives or `flush()` is called.
    """

    def __init__(self, offset: int, max_line_bytes: int) -> None:
        self.offset = offset  # file offset of the first byte of the unterminated tail
        self.max_line_bytes = max_line_bytes
        self.truncated: list[int] = []  # start offsets of lines cut, not yet taken by a batch
        self._buf = b""
        self._dropped = 0  # bytes of the unterminated tail beyond max_line_bytes, not kept

    @property
    def buffered(self) -> int:
        """Bytes of the unterminated tail (kept and dropped)."""
        return len(self._buf) + self._dropped

    def feed(self, data: bytes) -> list[Event]:
        out: list[Event] = []
        maxb = self.max_line_bytes
        if self._dropped:
            idx = data.find(b"\n")
            if idx < 0:
                self._dropped += len(data)
                return out
            end = self.offset + len(self._buf) + self._dropped + idx + 1
            out.append((self.offset, end, self._buf))
            self.truncated.append(self.offset)
            self.offset = end
            self._buf = b""
            self._dropped = 0
            data = data[idx + 1 :]
        if self._buf:
            data = self._buf + data
        parts = data.split(b"\n")
        rest = parts.pop()
        pos = self.offset
        for part in parts:
            end = pos + len(part) + 1
            if part[-1:] == b"\r":
                part = part[:-1]
            if len(part) > maxb:
                part = part[:maxb]
                self.truncated.append(pos)
            out.append((pos, end, part))
            pos = end
        self.offset = pos
        if len(rest) > maxb:
            self._dropped = len(rest) - maxb
            rest = rest[:maxb]
        self._buf = rest
        return out

    def flush(self) -> list[Event]:
        """The unterminated tail as a last line (the file is finished or was truncated)."""
        if not self._buf and not self._dropped:
            return []
        end = self.offset + len(self._buf) + self._dropped
        line = self._buf[:-1] if self._buf[-1:] == b"\r" else self._buf
        if self._dropped:
            self.truncated.append(self.offset)
        event = (self.offset, end, line)
        self.offset = end
        self._buf = b""
        self._dropped = 0
        return [event]

    def take_truncated(self, end: int) -> list[int]:
        """The start offsets of the cut lines that start before `end` (forgetting them)."""
        cut = self.truncated
        n = 0
        while n < len(cut) and cut[n] < end:
            n += 1
        taken = cut[:n]
        if n:
            del cut[:n]
        return taken

    def reset(self, offset: int) -> None:
        self.truncated.clear()
        self.offset = offset
        self._buf = b""
        self._dropped = 0
