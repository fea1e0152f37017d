"""Unit tests for agent.identity: `<dev>:<inode>:<fingerprint>`, short files, inode reuse."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from agent.identity import FINGERPRINT_BYTES, fingerprint, identify, parse_key, same_file


def test_identity_is_dev_inode_and_sha256_prefix_of_first_1024_bytes(tmp_path: Path) -> None:
    """The key is `<dev>:<inode>:<16 hex digits of SHA-256 over the first 1024 bytes>`."""
    path = tmp_path / "a.log"
    data = os.urandom(5000)
    path.write_bytes(data)
    st = path.stat()
    with path.open("rb") as fh:
        fh.seek(123)
        ident = identify(fh)
        assert fh.tell() == 123  # position untouched
    expected = hashlib.sha256(data[:1024]).hexdigest()[:16]
    assert ident.key == f"{st.st_dev}:{st.st_ino}:{expected}"
    assert ident.complete and ident.head_bytes == FINGERPRINT_BYTES
    assert parse_key(ident.key) == (st.st_dev, st.st_ino, expected)


def test_appending_after_1024_bytes_keeps_the_identity(tmp_path: Path) -> None:
    """Once a file has 1024 bytes, growing it does not change its identity."""
    path = tmp_path / "a.log"
    path.write_bytes(b"x" * 2000)
    with path.open("rb") as fh:
        before = identify(fh)
    with path.open("ab") as fh:
        fh.write(b"more\n")
    with path.open("rb") as fh:
        assert identify(fh) == before


def test_short_file_is_fingerprinted_over_what_it_has_and_recognised_when_grown(
    tmp_path: Path,
) -> None:
    """A short file's identity covers its bytes only (provisional); `same_file` still
    recognises it after it grew, so the tailing agent can re-key its checkpoint."""
    path = tmp_path / "short.log"
    path.write_bytes(b"hello\n")
    with path.open("rb") as fh:
        short = identify(fh)
    assert short.head_bytes == 6 and not short.complete
    assert short.fingerprint == fingerprint(b"hello\n")
    with path.open("ab") as fh:
        fh.write(b"y" * 3000)
    with path.open("rb") as fh:
        grown = identify(fh)
        assert grown.key != short.key and grown.complete
        assert same_file(short, fh)


def test_empty_file_has_the_empty_fingerprint(tmp_path: Path) -> None:
    """An empty file is fingerprinted over zero bytes."""
    path = tmp_path / "empty.log"
    path.write_bytes(b"")
    with path.open("rb") as fh:
        ident = identify(fh)
    assert ident.head_bytes == 0
    assert ident.fingerprint == hashlib.sha256(b"").hexdigest()[:16]


def test_recycled_inode_with_other_content_is_another_file(tmp_path: Path) -> None:
    """Same device and inode but different first bytes (a recycled inode) is not the same
    file: it gets another identity and `same_file` says no."""
    path = tmp_path / "a.log"
    path.write_bytes(b"first file\n" * 200)
    with path.open("rb") as fh:
        old = identify(fh)
    with path.open("r+b") as fh:  # same inode, new content
        fh.write(b"SECOND file\n" * 200)
    with path.open("rb") as fh:
        new = identify(fh)
        assert (new.dev, new.inode) == (old.dev, old.inode)
        assert new.key != old.key and not same_file(old, fh)
