"""Checkpoint entries read back as `Resume` (agent/resume.py): entries written by `run` (with
spans in flight) and by `send` (offset and head_bytes only), and `Resume.matches`."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.identity import FINGERPRINT_BYTES, fingerprint, fingerprint_fd
from agent.resume import Resume

FP = "0123456789abcdef"
KEY = f"2049:77:{FP}"


def test_entry_written_by_run_is_read_back_whole() -> None:
    """A `run` entry gives back its identity, offset, spans to replay, path, size and state."""
    entry = {
        "dev": 2049,
        "ino": 77,
        "fp": "fedcba9876543210",
        "head_bytes": 1024,
        "path": "/var/log/app.log",
        "offset": 100,
        "spans": [[100, 150], [150, 210]],
        "size": 4000,
        "done": False,
        "updated": 1700000000.5,
    }
    r = Resume.from_entry(KEY, entry)
    assert (r.file_id, r.dev, r.ino) == (KEY, 2049, 77)
    assert (r.fp, r.fp_len) == ("fedcba9876543210", 1024)  # the lengthened fingerprint wins
    assert r.offset == 100 and r.replay == [150, 210]
    assert (r.path, r.size, r.done, r.updated) == ("/var/log/app.log", 4000, False, 1700000000.5)


def test_entry_written_by_send_takes_the_rest_from_the_key() -> None:
    """A `send` entry (path, offset, updated, head_bytes) resumes at its offset with nothing
    to replay; device, inode and fingerprint come from the key, the size is the offset."""
    r = Resume.from_entry(
        KEY, {"path": "/tmp/a.log", "offset": 300, "updated": 5.0, "head_bytes": 40}
    )
    assert (r.dev, r.ino, r.fp, r.fp_len) == (2049, 77, FP, 40)
    assert r.offset == 300 and r.replay == [] and r.size == 300 and not r.done


def test_missing_head_bytes_means_a_full_fingerprint() -> None:
    """An entry without head_bytes (or with 0) is taken as fingerprinted over 1024 bytes."""
    assert Resume.from_entry(KEY, {"offset": 0}).fp_len == FINGERPRINT_BYTES
    assert Resume.from_entry(KEY, {"offset": 0, "head_bytes": 0}).fp_len == FINGERPRINT_BYTES


def test_a_continued_copy_keeps_its_first_identity_as_key() -> None:
    """dev/ino in the entry (a copy read under another inode) win over the key's."""
    r = Resume.from_entry(KEY, {"offset": 10, "dev": 5, "ino": 6})
    assert (r.file_id, r.dev, r.ino) == (KEY, 5, 6)


@pytest.mark.parametrize(
    ("offset", "spans", "replay"),
    [
        (100, [[100, 150], [150, 200], [200, 260]], [150, 200, 260]),  # contiguous: all
        (100, [[100, 150], [160, 200]], [150]),  # a gap: stop at it
        (100, [[120, 150]], []),  # the first span does not start at the offset
        (150, [[100, 150], [150, 200]], [200]),  # a span already acknowledged: skipped
        (100, [[100, 100], [100, 130]], [130]),  # an empty span: skipped
        (100, None, []),
        (100, [], []),
    ],
)
def test_only_spans_contiguous_from_the_offset_are_replayed(
    offset: int, spans: list[list[int]] | None, replay: list[int]
) -> None:
    """Replay keeps the span ends that tile the file from the acknowledged offset on."""
    assert Resume.from_entry(KEY, {"offset": offset, "spans": spans}).replay == replay


@pytest.mark.parametrize(
    "key",
    [
        "nonsense",
        "1:2",
        "1:2:3:4",
        "1:2:0123",  # fingerprint too short
        "1:2:0123456789ABCDEF",  # not lower-case hex
        "1:2:0123456789abcdeg",
        f"x:2:{FP}",
        f"1:y:{FP}",
    ],
)
def test_bad_keys_raise_value_error(key: str) -> None:
    """A key that is not `<dev>:<inode>:<16 hex digits>` raises ValueError."""
    with pytest.raises(ValueError):
        Resume.from_entry(key, {"offset": 0})


def test_malformed_entries_raise_what_the_reconciler_skips() -> None:
    """A non-numeric offset or a malformed span raises ValueError or TypeError (the
    reconciler skips such entries); a missing offset raises KeyError."""
    with pytest.raises(ValueError):
        Resume.from_entry(KEY, {"offset": "ten"})
    with pytest.raises(ValueError):
        Resume.from_entry(KEY, {"offset": 0, "spans": [[0]]})
    with pytest.raises(TypeError):
        Resume.from_entry(KEY, {"offset": 0, "spans": [5]})
    with pytest.raises(KeyError):
        Resume.from_entry(KEY, {"path": "/x"})


@pytest.fixture
def open_fd(tmp_path: Path) -> Iterator[tuple[Path, list[int]]]:
    """A log file and a list collecting the descriptors to close."""
    fds: list[int] = []
    yield tmp_path / "a.log", fds
    for fd in fds:
        os.close(fd)


def _resume_for(path: Path, fp_len: int) -> Resume:
    fp = fingerprint(path.read_bytes()[:fp_len])
    return Resume.from_entry(f"1:1:{fp}", {"offset": 0, "head_bytes": fp_len, "fp": fp})


def test_matches_a_file_that_has_grown_since(open_fd: tuple[Path, list[int]]) -> None:
    """A short file fingerprinted over its first bytes still matches once it has grown."""
    path, fds = open_fd
    path.write_bytes(b"first line\n")
    r = _resume_for(path, 11)
    with path.open("ab") as fh:
        fh.write(b"x" * 3000 + b"\n")
    fds.append(os.open(path, os.O_RDONLY))
    assert r.matches(fds[-1])
    assert fingerprint_fd(fds[-1])[1] == FINGERPRINT_BYTES  # the file is now fully fingerprinted


def test_does_not_match_a_file_shorter_than_its_fingerprint(
    open_fd: tuple[Path, list[int]],
) -> None:
    """A file cut shorter than the fingerprinted length does not match, even on a common prefix."""
    path, fds = open_fd
    path.write_bytes(b"0123456789\n")
    r = _resume_for(path, 11)
    path.write_bytes(b"0123456789")
    fds.append(os.open(path, os.O_RDONLY))
    assert not r.matches(fds[-1])
