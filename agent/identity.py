"""File identity: `"<dev>:<inode>:<fingerprint>"` (docs/protocol.md).

The fingerprint is the first 16 hex digits of SHA-256 over the file's first bytes, up to
`FINGERPRINT_BYTES` (1024). Device + inode alone are not enough: a deleted file's inode is
reused by the next file created, which must not inherit the old offset.

Short files: a file shorter than 1024 bytes is fingerprinted over all the bytes it has
(`head_bytes` < 1024; an empty file over none). Such an identity is *provisional*: once the
file grows, a fresh `identify` gives a different fingerprint. `same_file(old, fh)` checks
whether an open file is still the file of `old` (same device and inode, and the first
`old.head_bytes` bytes still hash to `old.fingerprint`). The tailing agent keeps a file's
first identity as its key (and wire id) and stores the lengthened fingerprint in the entry
(`fp`, `head_bytes`). A one-shot `send` identifies each file when it starts and records
`head_bytes` in its checkpoint entry, so that a re-run finds a short file that has grown
since (`grown_from`) and continues it under its first identity instead of sending it again.
The tailing agent, which holds bare file descriptors, uses `fingerprint_fd` and
`identity_string`.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import BinaryIO

FINGERPRINT_BYTES = 1024
FINGERPRINT_HEX = 16


def fingerprint(head: bytes) -> str:
    """16 hex digits of SHA-256 over (at most) the first 1024 bytes of `head`."""
    return hashlib.sha256(head[:FINGERPRINT_BYTES]).hexdigest()[:FINGERPRINT_HEX]


@dataclass(frozen=True)
class FileIdentity:
    dev: int
    inode: int
    fingerprint: str
    head_bytes: int  # bytes the fingerprint covers (< 1024: provisional, see module doc)

    @property
    def key(self) -> str:
        """The identity string used on the wire and in checkpoints."""
        return f"{self.dev}:{self.inode}:{self.fingerprint}"

    @property
    def complete(self) -> bool:
        """Whether the fingerprint covers the full 1024 bytes (the identity cannot change)."""
        return self.head_bytes >= FINGERPRINT_BYTES

    def __str__(self) -> str:
        return self.key


def _read_head(fh: BinaryIO, size: int) -> bytes:
    fd = fh.fileno()
    head = b""
    while len(head) < size:
        chunk = os.pread(fd, size - len(head), len(head))
        if not chunk:
            break
        head += chunk
    return head


def identify(fh: BinaryIO) -> FileIdentity:
    """The identity of an open binary file (does not move its position)."""
    st = os.fstat(fh.fileno())
    head = _read_head(fh, FINGERPRINT_BYTES)
    return FileIdentity(st.st_dev, st.st_ino, fingerprint(head), len(head))


def same_file(old: FileIdentity, fh: BinaryIO) -> bool:
    """Whether `fh` is still the file `old` identified (it may have grown since)."""
    st = os.fstat(fh.fileno())
    if (st.st_dev, st.st_ino) != (old.dev, old.inode):
        return False
    head = _read_head(fh, old.head_bytes)
    return len(head) == old.head_bytes and fingerprint(head) == old.fingerprint


def fingerprint_fd(fd: int, length: int = FINGERPRINT_BYTES) -> tuple[str, int]:
    """(the fingerprint of an open file's first `length` bytes, how many bytes it covers)."""
    head = os.pread(fd, length, 0)
    return fingerprint(head), len(head)


def identity_string(dev: int, ino: int, fp: str) -> str:
    """The protocol's file identity `"<dev>:<inode>:<fingerprint>"`."""
    return f"{dev}:{ino}:{fp}"


def parse_key(key: str) -> tuple[int, int, str]:
    """(dev, inode, fingerprint) from an identity string. Raises ValueError."""
    dev, inode, fp = key.split(":")
    if len(fp) != FINGERPRINT_HEX or any(c not in "0123456789abcdef" for c in fp):
        raise ValueError(f"bad fingerprint in file identity {key!r}")
    return int(dev), int(inode), fp


def grown_from(key: str, head_bytes: int, fh: BinaryIO) -> bool:
    """Whether `fh` is the short file once identified as `key` over `head_bytes` bytes, since
    grown (same device and inode; its first `head_bytes` bytes hash as they did)."""
    try:
        dev, inode, fp = parse_key(key)
    except ValueError:
        return False
    if not 0 <= head_bytes < FINGERPRINT_BYTES:
        return False
    return same_file(FileIdentity(dev, inode, fp, head_bytes), fh)
