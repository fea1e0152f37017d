"""Tailing one file: batching, ACKs, rotation, truncation, replay (agent/tail.py, with its
batching mixin agent/spans.py and checkpoint entries agent/resume.py).

These use small real files under tmp_path (the tail reads with pread on its descriptor); no
sockets, no threads, and time is passed in explicitly.
"""

from __future__ import annotations

import os
from pathlib import Path

from agent.identity import fingerprint_fd
from agent.resume import Resume
from agent.tail import Tail
from tests.unit.agent.tails import open_tail as _tail


def _drain(tail: Tail, now: float = 0.0, force: bool = False) -> list:
    out = []
    while True:
        n = tail.read(now)
        out += tail.take_batches(now)
        if not n:
            break
    out += tail.take_batches(now, force=force)
    return out


def _write(path: Path, text: str, mode: str = "a") -> None:
    with path.open(mode) as fh:
        fh.write(text)


# ----------------------------------------------------------------------------- batching


def test_batches_are_bounded_by_lines(tmp_path: Path) -> None:
    """A batch closes at max_batch_lines; the rest waits for more lines or its age."""
    log = tmp_path / "a.log"
    _write(log, "".join(f"line {i}\n" for i in range(25)))
    tail = _tail(log, max_batch_lines=10, batch_age_s=5.0)
    batches = _drain(tail, now=0.0)
    assert [len(b.lines) for b in batches] == [10, 10]
    assert tail.take_batches(now=4.0) == []
    (last,) = tail.take_batches(now=5.0)
    assert last.lines[-1] == b"line 24" and last.end_offset == log.stat().st_size


def test_batches_are_bounded_by_bytes(tmp_path: Path) -> None:
    """A batch closes once its line bytes reach max_batch_bytes."""
    log = tmp_path / "a.log"
    _write(log, "x" * 99 + "\n" + "y" * 99 + "\n" + "z" * 99 + "\n")
    tail = _tail(log, max_batch_bytes=150, batch_age_s=5.0)
    batches = _drain(tail, force=True)
    assert [len(b.lines) for b in batches] == [2, 1]


def test_batch_ids_are_deterministic_and_offsets_contiguous(tmp_path: Path) -> None:
    """Two reads of the same file give the same batch ids; batches tile the file."""
    log = tmp_path / "a.log"
    _write(log, "".join(f"line {i}\n" for i in range(30)))
    one = _drain(_tail(log, max_batch_lines=7), force=True)
    two = _drain(_tail(log, max_batch_lines=7), force=True)
    assert [b.id for b in one] == [b.id for b in two]
    assert one[0].offset == 0
    for a, b in zip(one, one[1:], strict=False):
        assert a.end_offset == b.offset
    assert one[-1].end_offset == log.stat().st_size
    assert one[0].offsets[:2] == [0, 7]


def test_truncated_lines_are_counted_in_their_batch(tmp_path: Path) -> None:
    """Each batch says how many of its lines were cut to max_line_bytes."""
    log = tmp_path / "a.log"
    _write(log, "short\n" + "L" * 5000 + "\nshort\n")
    (batch,) = _drain(_tail(log), force=True)
    assert batch.truncated == 1 and batch.cut == [1]
    assert batch.lines[1] == b"L" * 1000


def test_cut_lines_are_named_by_the_event_that_holds_them(tmp_path: Path) -> None:
    """In multiline events, `cut` names each event holding a cut line once; `truncated`
    counts the lines."""
    log = tmp_path / "a.log"
    _write(log, "ok\nstart\n " + "L" * 2000 + "\n " + "M" * 2000 + "\nnext\n")
    tail = _tail(log, rule=r"^\S")
    batches = _drain(tail, force=True)
    batches += tail.take_batches(10.0, force=True)
    lines = [x for b in batches for x in b.lines]
    assert [x[:6] for x in lines] == [b"ok", b"start\n", b"next"]
    (batch,) = [b for b in batches if b.truncated]
    assert batch.truncated == 2 and batch.cut == [batch.lines.index(lines[1])]


def test_encoding_is_converted_to_utf8(tmp_path: Path) -> None:
    """Lines of a latin-1 input are shipped as UTF-8."""
    log = tmp_path / "a.log"
    log.write_bytes("caf\xe9\n".encode("latin-1"))
    tail = _tail(log)
    tail.transcode = "latin-1"
    (batch,) = _drain(tail, force=True)
    assert batch.lines == ["café".encode()]


# ----------------------------------------------------------------------------- ACKs


def test_committed_offset_moves_only_over_contiguous_acks(tmp_path: Path) -> None:
    """An out-of-order ACK does not move the checkpoint until the batches before it are ACKed."""
    log = tmp_path / "a.log"
    _write(log, "".join(f"line {i}\n" for i in range(30)))
    tail = _tail(log, max_batch_lines=10)
    b1, b2, b3 = _drain(tail, force=True)
    assert tail.ack(b2.id) and tail.committed == 0
    assert tail.ack(b3.id) and tail.committed == 0
    assert tail.ack(b1.id) and tail.committed == b3.end_offset
    assert not tail.ack("unknown")
    entry = tail.entry()
    assert entry is not None and entry["offset"] == b3.end_offset and entry["spans"] == []


def test_checkpoint_never_splits_a_multiline_event(tmp_path: Path) -> None:
    """With an event still pending, everything ACKed ends before the event's first byte."""
    log = tmp_path / "a.log"
    _write(log, "first\n more\nsecond\n more\n")
    tail = _tail(log, rule=r"^\S", batch_age_s=0.0)
    (batch,) = _drain(tail, now=0.0)  # what is complete is batched at once
    assert batch.lines == [b"first\n more"]
    tail.ack(batch.id)
    assert tail.committed == len("first\n more\n")
    assert tail.joiner.pending_start == tail.committed
    (last,) = tail.take_batches(now=1.5)  # the flush timeout ships the last event
    assert last.lines == [b"second\n more"]


def test_recorded_spans_are_replayed_with_the_same_boundaries(tmp_path: Path) -> None:
    """After a crash, spans in flight are re-read into batches with the same ids."""
    log = tmp_path / "a.log"
    _write(log, "".join(f"line {i}\n" for i in range(40)))
    first = _tail(log, max_batch_lines=7)
    sent = _drain(first, force=True)
    first.ack(sent[0].id)
    entry = first.entry()
    assert entry is not None
    key = entry.pop("file")
    # The file grew meanwhile, and the limits are different now: the boundaries must not move.
    _write(log, "".join(f"more {i}\n" for i in range(40)))
    resume = Resume.from_entry(key, {**entry, "updated": 1.0})
    assert resume.offset == sent[0].end_offset
    again = _tail(log, resume=resume, max_batch_lines=1000)
    replayed = _drain(again, force=True)
    assert [b.id for b in replayed[: len(sent) - 1]] == [b.id for b in sent[1:]]
    assert replayed[-1].lines[-1] == b"more 39"


# ----------------------------------------------------------------------------- rotation


def test_rename_is_noticed_and_the_old_file_finished(tmp_path: Path) -> None:
    """After rename+create the tail reads the old file to its end, waits, then flushes it
    (and, not lingering, is done)."""
    log = tmp_path / "a.log"
    _write(log, "one\n")
    tail = _tail(log, rotate_wait_s=2.0, linger_renamed_s=0.0)
    _drain(tail)
    os.rename(log, tmp_path / "a.log.1")
    _write(tmp_path / "a.log.1", "two\nunterminated")
    _write(log, "new file\n")
    assert tail.check(os.stat(log), now=10.0) == "rotated"
    assert tail.finishing and tail.counters.rotations == 1
    batches = _drain(tail, now=10.0)
    assert not tail.finish_if_due(11.0)
    assert tail.finish_if_due(12.0)
    batches += tail.take_batches(12.0, force=True)
    lines = [x for b in batches for x in b.lines]
    assert lines == [b"one", b"two", b"unterminated"]
    for b in batches:
        tail.ack(b.id)
    assert tail.closable


def test_renamed_file_lingers_for_late_writes(tmp_path: Path) -> None:
    """A renamed file stays open after the rotate wait: a program that writes to it before
    reopening its log loses nothing. It is let go `linger_renamed_s` after its last write."""
    log = tmp_path / "a.log"
    _write(log, "one\n")
    tail = _tail(log, rotate_wait_s=2.0, linger_renamed_s=60.0)
    os.rename(log, tmp_path / "a.log.1")
    _write(log, "new file\n")
    assert tail.check(os.stat(log), now=0.0) == "rotated"
    batches = _drain(tail, now=0.0)
    assert tail.finish_if_due(3.0) and not tail.done  # flushed, still open
    batches += tail.take_batches(3.0, force=True)
    assert tail.next_deadline(3.0) == 4.0  # looked at again now and then
    _write(tmp_path / "a.log.1", "late\n")
    tail.check(None, now=30.0)
    batches += _drain(tail, now=30.0)
    assert not tail.finish_if_due(31.0)  # it grew at 30: the rotate wait starts again
    assert tail.finish_if_due(33.0) and not tail.done
    assert tail.finish_if_due(90.0) and tail.done  # quiet for linger_renamed_s
    batches += tail.take_batches(90.0, force=True)
    assert [x for b in batches for x in b.lines] == [b"one", b"late"]
    for b in batches:
        tail.ack(b.id)
    assert tail.closable


def test_rename_seen_before_the_new_file_exists_is_a_rotation(tmp_path: Path) -> None:
    """Between the rename and the create the path names nothing, but the file still has a
    name: that is a rotation (counted), not a deletion."""
    log = tmp_path / "a.log"
    _write(log, "one\n")
    tail = _tail(log)
    os.rename(log, tmp_path / "a.log.1")
    assert tail.check(None, now=0.0) == "rotated"
    assert tail.finishing and tail.counters.rotations == 1


def test_deleted_file_is_drained(tmp_path: Path) -> None:
    """A deleted file is still read to its end through the open descriptor."""
    log = tmp_path / "a.log"
    _write(log, "a\nb\n")
    tail = _tail(log)
    log.unlink()
    assert tail.check(None, now=0.0) == "deleted"
    assert tail.counters.rotations == 0
    batches = _drain(tail, force=True)
    assert [x for b in batches for x in b.lines] == [b"a", b"b"]


def test_truncation_restarts_at_zero_and_counts_lost_bytes(tmp_path: Path) -> None:
    """size < offset: restart at 0 under a new identity; unread bytes are counted as lost."""
    log = tmp_path / "a.log"
    _write(log, "".join(f"old {i}\n" for i in range(10)))
    tail = _tail(log)
    shipped = _drain(tail, force=True)
    old_id = tail.file_id
    _write(log, "unread 1\nunread 2\n")
    assert tail.check(os.stat(log), now=1.0) is None  # grew: 18 bytes seen, not read
    with log.open("r+") as fh:
        fh.truncate(0)
    _write(log, "new 1\n")
    assert tail.check(os.stat(log), now=2.0) == "truncated"
    assert tail.counters.truncations == 1
    assert tail.counters.bytes_lost == len("unread 1\nunread 2\n")
    assert tail.read_offset == 0 and tail.committed == 0 and tail.file_id is None
    after = _drain(tail, force=True)
    assert [x for b in after for x in b.lines] == [b"new 1"]
    assert tail.file_id is not None and tail.file_id != old_id
    assert shipped[0].file_id == old_id


def test_rewritten_start_is_a_truncation_even_when_the_file_grew(tmp_path: Path) -> None:
    """A file truncated and rewritten past the old offset is caught by its changed first bytes."""
    log = tmp_path / "a.log"
    _write(log, "aaaa\n")
    tail = _tail(log)
    _drain(tail, force=True)
    _write(log, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n", mode="w")
    assert tail.check(os.stat(log), now=1.0) == "truncated"
    (batch,) = _drain(tail, force=True)
    assert batch.offset == 0 and batch.lines == [b"b" * 60]


def test_recycled_inode_does_not_match_the_old_checkpoint(tmp_path: Path) -> None:
    """A checkpoint matches a file only if its first bytes still hash to the fingerprint."""
    log = tmp_path / "a.log"
    _write(log, "original content\n")
    fd = os.open(log, os.O_RDONLY)
    fp, n = fingerprint_fd(fd)
    os.close(fd)
    st = log.stat()
    key = f"{st.st_dev}:{st.st_ino}:{fp}"
    resume = Resume.from_entry(
        key, {"path": str(log), "offset": 18, "updated": 1.0, "fp": fp, "head_bytes": n}
    )
    fd = os.open(log, os.O_RDONLY)
    assert resume.matches(fd)
    os.close(fd)
    _write(log, "another file, same inode, longer than before\n", mode="w")
    fd = os.open(log, os.O_RDONLY)
    try:
        assert not resume.matches(fd)
    finally:
        os.close(fd)


def test_short_file_fingerprint_grows_but_its_id_stays(tmp_path: Path) -> None:
    """A short file is fingerprinted on what it has; once longer, the fingerprint is lengthened."""
    log = tmp_path / "a.log"
    _write(log, "hi\n")
    tail = _tail(log)
    _drain(tail, force=True)
    first_id, first_len = tail.file_id, tail.fp_len
    assert first_len == 3
    _write(log, "x" * 2000 + "\n")
    assert tail.check(os.stat(log), now=1.0) is None
    assert tail.fp_len == 1024 and tail.file_id == first_id
    assert tail.same_content()


def test_empty_file_gets_an_identity_with_its_first_byte(tmp_path: Path) -> None:
    """An empty file has no identity (nothing to fingerprint) until it has content."""
    log = tmp_path / "a.log"
    log.touch()
    tail = _tail(log)
    assert _drain(tail) == [] and tail.file_id is None and tail.entry() is None
    _write(log, "first\n")
    (batch,) = _drain(tail, force=True)
    assert tail.file_id is not None and batch.lines == [b"first"]


def test_lag_and_deadlines(tmp_path: Path) -> None:
    """lag = size - committed; a tail with an open batch has a deadline at its age limit."""
    log = tmp_path / "a.log"
    _write(log, "a\n")
    tail = _tail(log, batch_age_s=3.0)
    tail.check(os.stat(log), now=0.0)
    assert tail.lag_bytes() == 2
    tail.read(now=10.0)
    assert tail.take_batches(now=10.0) == []
    assert tail.next_deadline(10.0) == 13.0


def test_no_past_deadline_while_waiting_for_a_partial_line(tmp_path: Path) -> None:
    """A pending event with a half-written line after it is not 'due' (no busy loop): the
    line's end, when written, continues or ends the event."""
    log = tmp_path / "a.log"
    _write(log, "event\n more\nhalf a li")
    tail = _tail(log, rule=r"^\S")
    _drain(tail, now=0.0)
    assert tail.joiner.pending and tail.splitter.buffered
    assert tail.take_batches(now=100.0) == []
    assert tail.next_deadline(100.0) is None
    _write(log, "ne\n")
    (batch,) = _drain(tail, now=101.0, force=True)
    assert batch.lines == [b"event\n more", b"half a line"]


def test_replay_waits_for_its_boundary_not_for_the_batch_age(tmp_path: Path) -> None:
    """While replaying, a batch closes at its recorded boundary, never by age (no deadline)."""
    log = tmp_path / "a.log"
    _write(log, "a\nb\nc\n")
    tail = _tail(log, replay=[6], batch_age_s=0.1, read_chunk_bytes=2)
    tail.read(now=0.0)
    assert tail.take_batches(now=50.0) == []
    assert tail.next_deadline(50.0) is None
    batches = _drain(tail, now=50.0)
    assert [b.end_offset for b in batches] == [6]


def test_lines_read_before_a_truncation_are_still_shipped(tmp_path: Path) -> None:
    """Lines read but not yet batched when the file is truncated go out under the old identity."""
    log = tmp_path / "a.log"
    _write(log, "".join(f"old {i}\n" for i in range(30)))
    tail = _tail(log, batch_age_s=5.0)
    tail.read(now=0.0)
    assert tail.take_batches(now=0.0) == []  # not full, not old: held
    old_id = tail.file_id
    with log.open("r+") as fh:
        fh.truncate(0)
    _write(log, "new 1\n")
    assert tail.check(os.stat(log), now=1.0) == "truncated"
    (orphan,) = tail.take_batches(now=1.0)
    assert orphan.file_id == old_id and len(orphan.lines) == 30
    after = _drain(tail, now=1.0, force=True)
    assert [x for b in after for x in b.lines] == [b"new 1"]
