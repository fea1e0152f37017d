"""Complete lines from an open binary file, from a byte offset, in constant memory.

No sockets and no decoding: lines are bytes in any encoding. `LineReader.read()` is a
generator over `Line`s; the caller may stop consuming at any point (for instance while the
window of unacknowledged batches is full) and call `read()` again later: it resumes at the
first line not yet handed out. Memory is bounded by `chunk_bytes + max_line_bytes`.

- The terminator (`\\n`, or `\\r\\n`) is not part of `Line.data`; `Line.end` is the offset just
  after it, i.e. where the next line starts (what a checkpoint stores).
- A line longer than `max_line_bytes` is cut to its first `max_line_bytes` bytes, flagged
  `truncated`, counted in `truncated_lines`, and the rest of it is skipped (counted in
  `skipped_bytes`) without ever being held in memory.
- An unterminated last line is held back (a writer may still be appending to it) unless
  `read(final=True)`, which hands it out at end of file (the one-shot `send` does that).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

DEFAULT_CHUNK_BYTES = 64 * 1024


class Line(NamedTuple):
    offset: int  # byte offset of the first byte of the line
    data: bytes  # the line without its terminator (cut to max_line_bytes when truncated)
    end: int  # byte offset just after the terminator: where the next line starts
    truncated: bool = False


class LineReader:
    def __init__(
        self,
        fh: BinaryIO,
        offset: int = 0,
        *,
        max_line_bytes: int,
        chunk_bytes: int = DEFAULT_CHUNK_BYTES,
    ) -> None:
        if max_line_bytes <= 0 or chunk_bytes <= 0:
            raise ValueError("max_line_bytes and chunk_bytes must be > 0")
        self.fh = fh
        self.max_line_bytes = max_line_bytes
        self.chunk_bytes = chunk_bytes
        self.truncated_lines = 0
        self.skipped_bytes = 0
        self.reset(offset)

    def reset(self, offset: int) -> None:
        """Forget any partial line and read from `offset` next (after a truncation, say)."""
        self._pos = offset  # next byte to read from the file
        self._line_start = offset  # where the partial line in _buf starts
        self._buf = bytearray()  # partial line, at most max_line_bytes + 1 bytes
        self._skipping = False  # the partial line is over the limit: discarding its rest
        self._skipped_here = 0  # bytes of the current line discarded so far
        self._skipped_cr = False  # the last byte discarded was a \r

    @property
    def position(self) -> int:
        """Offset of the first byte not yet handed out as part of a line."""
        return self._line_start

    @property
    def read_position(self) -> int:
        """Offset of the next byte to read from the file (>= position)."""
        return self._pos

    @property
    def buffered_bytes(self) -> int:
        """Bytes of the partial line held in memory (at most max_line_bytes + 1)."""
        return len(self._buf)

    @property
    def pending_bytes(self) -> int:
        """Bytes of a held-back unterminated line (read, not yet handed out)."""
        return self._pos - self._line_start

    def read(self, *, final: bool = False) -> Iterator[Line]:
        """Hand out every complete line up to the current end of file.

        With `final`, an unterminated last line is handed out too.
        """
        fh = self.fh
        fh.seek(self._pos)
        while True:
            chunk = fh.read(self.chunk_bytes)
            if not chunk:
                break
            base = self._pos
            pieces = chunk.split(b"\n")
            cursor = base
            for piece in pieces[:-1]:
                cursor += len(piece) + 1
                line = self._finish(piece, cursor, terminated=True)
                self._pos = cursor  # state is final before the yield: the caller may stop here
                yield line
            self._append(pieces[-1])
            self._pos = base + len(chunk)
        if final and self._pos > self._line_start:
            yield self._finish(b"", self._pos, terminated=False)

    # -------------------------------------------------------------------------- internals

    def _append(self, tail: bytes) -> None:
        if self._skipping:
            self._skipped_here += len(tail)
            if tail:
                self._skipped_cr = tail.endswith(b"\r")
            return
        self._buf += tail
        # Keep one byte over the limit: it may be the \r of a \r\n terminator.
        if len(self._buf) > self.max_line_bytes + 1:
            self._skipped_here += len(self._buf) - self.max_line_bytes
            self._skipped_cr = self._buf.endswith(b"\r")
            del self._buf[self.max_line_bytes :]
            self._skipping = True

    def _finish(self, piece: bytes, end: int, *, terminated: bool) -> Line:
        start = self._line_start
        limit = self.max_line_bytes
        if self._skipping:
            data = bytes(self._buf)
            skipped = self._skipped_here + len(piece)
            ends_cr = piece.endswith(b"\r") if piece else self._skipped_cr
            if terminated and ends_cr:
                skipped -= 1  # the \r of \r\n is part of the terminator, not the line
            truncated = True
        else:
            data = bytes(self._buf) + piece if self._buf else piece
            if terminated and data.endswith(b"\r"):
                data = data[:-1]
            skipped = 0
            truncated = len(data) > limit
            if truncated:
                skipped = len(data) - limit
                data = data[:limit]
        if truncated:
            self.truncated_lines += 1
            self.skipped_bytes += skipped
        self._line_start = end
        self._buf = bytearray()
        self._skipping = False
        self._skipped_here = 0
        self._skipped_cr = False
        return Line(start, data, end, truncated)
