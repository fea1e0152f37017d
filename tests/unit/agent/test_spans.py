"""A tail's spans in flight and its batching rules (agent/spans.py), beyond what
tests/unit/agent/test_tail.py covers: partial folding of out-of-order ACKs, duplicate ACKs,
held bytes, a timed-out multiline event, and the ways replay is given up.

Small real files under tmp_path; time is passed in explicitly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agent.batcher import Batch
from agent.tail import Tail
from tests.unit.agent.tails import open_tail

MakeTail = Callable[..., Tail]


@pytest.fixture
def make_tail(tmp_path: Path) -> Iterator[MakeTail]:
    """Write `a.log` and open a Tail on it; tails are closed at the end."""
    tails: list[Tail] = []

    def make(
        content: bytes, *, rule: str = "", replay: list[int] | None = None, **limits: float
    ) -> Tail:
        path = tmp_path / "a.log"
        path.write_bytes(content)
        tail = open_tail(path, rule=rule, replay=replay, **limits)
        tails.append(tail)
        return tail

    yield make
    for tail in tails:
        tail.close()


def _read_all(tail: Tail, now: float = 0.0) -> None:
    while tail.read(now):
        pass


def _drain(tail: Tail, now: float = 0.0, force: bool = False) -> list[Batch]:
    """Read and batch alternately (a replaying tail stops reading at each boundary)."""
    out: list[Batch] = []
    while True:
        n = tail.read(now)
        out += tail.take_batches(now)
        if not n:
            break
    return out + tail.take_batches(now, force=force)


def _lines(n: int) -> bytes:
    return b"".join(b"line %02d\n" % i for i in range(n))  # 8 bytes a line


def test_each_batch_is_recorded_as_a_span_in_file_order(make_tail: MakeTail) -> None:
    """Every batch made is a span [offset, end_offset) with its id; `batched` is the last end
    while `committed` stays put until ACKs come."""
    tail = make_tail(_lines(9), max_batch_lines=3)
    _read_all(tail)
    batches = tail.take_batches(0.0)
    assert [(s.start, s.end, s.batch_id) for s in tail.spans] == [
        (b.offset, b.end_offset, b.id) for b in batches
    ]
    assert [(s.start, s.end) for s in tail.spans] == [(0, 24), (24, 48), (48, 72)]
    assert not any(s.acked for s in tail.spans)
    assert tail.batched == 72 and tail.committed == 0


def test_committed_stops_at_the_first_unacknowledged_span(make_tail: MakeTail) -> None:
    """ACKs fold only the acknowledged spans at the front; a gap keeps the later ones."""
    tail = make_tail(_lines(12), max_batch_lines=3)
    _read_all(tail)
    b1, b2, b3, b4 = tail.take_batches(0.0)
    assert tail.ack(b3.id) and tail.committed == 0
    assert tail.ack(b1.id) and tail.committed == b1.end_offset
    assert [s.batch_id for s in tail.spans] == [b2.id, b3.id, b4.id]
    assert tail.ack(b2.id) and tail.committed == b3.end_offset
    assert [s.batch_id for s in tail.spans] == [b4.id]
    assert tail.ack(b4.id) and tail.committed == tail.batched and not tail.spans


def test_duplicate_acks(make_tail: MakeTail) -> None:
    """An ACK repeated for a span still waiting is accepted and changes nothing; one for a
    batch already folded into `committed` is unknown."""
    tail = make_tail(_lines(6), max_batch_lines=3)
    _read_all(tail)
    b1, b2 = tail.take_batches(0.0)
    assert tail.ack(b2.id) and tail.ack(b2.id) and tail.committed == 0
    assert tail.ack(b1.id) and tail.committed == b2.end_offset
    assert not tail.ack(b1.id) and not tail.ack(b2.id)
    assert tail.committed == b2.end_offset


def test_held_bytes_count_line_bytes_not_yet_batched(make_tail: MakeTail) -> None:
    """Line bytes read wait in `held_bytes` (without newlines) until they are batched."""
    tail = make_tail(b"abc\ndefgh\n", batch_age_s=5.0)
    _read_all(tail)
    assert tail.take_batches(0.0) == [] and tail.held_bytes == 8
    (batch,) = tail.take_batches(5.0)
    assert batch.data_bytes == 8 and tail.held_bytes == 0


def test_held_bytes_return_to_zero_when_transcoding(make_tail: MakeTail) -> None:
    """With a transcoded input, the bytes read (not the UTF-8 ones sent) leave `held_bytes`."""
    tail = make_tail("caf\xe9 cr\xe8me\n".encode("latin-1"))
    tail.transcode = "latin-1"
    _read_all(tail)
    assert tail.held_bytes == 10
    (batch,) = tail.take_batches(0.0, force=True)
    assert batch.lines == ["café crème".encode()] and batch.data_bytes == 12
    assert tail.held_bytes == 0


def test_a_timed_out_multiline_event_is_sent_without_waiting_for_the_batch_age(
    make_tail: MakeTail,
) -> None:
    """When the pending event's flush timeout passes, the batch closes at once (quiet file)."""
    tail = make_tail(b"first\n more\nsecond\n more\n", rule=r"^\S", batch_age_s=60.0)
    _read_all(tail, now=0.0)
    assert tail.take_batches(0.5) == []  # "first" is complete but the batch is young
    (batch,) = tail.take_batches(1.0)  # "second" timed out: both go now
    assert batch.lines == [b"first\n more", b"second\n more"]


def test_replay_is_given_up_when_the_file_ends_before_the_boundary(make_tail: MakeTail) -> None:
    """A recorded boundary past the end of the file cannot come: batches are cut as usual."""
    tail = make_tail(_lines(3), replay=[100], batch_age_s=5.0)
    _read_all(tail)
    assert tail.eof
    assert tail.take_batches(0.0) == [] and not tail.replay
    (batch,) = tail.take_batches(5.0)
    assert (batch.offset, batch.end_offset) == (0, 24)


def test_replay_is_given_up_at_a_boundary_inside_a_line(make_tail: MakeTail) -> None:
    """A recorded boundary no event ends at (inside a line) gives replay up; the line is read
    whole and batched by the limits."""
    tail = make_tail(b"a\nbc\n", replay=[3], batch_age_s=5.0)
    assert tail.read(0.0) == 3  # reading stops at the boundary
    assert tail.take_batches(0.0) == [] and not tail.replay
    assert [b.lines for b in _drain(tail, force=True)] == [[b"a", b"bc"]]


def test_replay_cuts_at_each_boundary_then_batches_by_the_limits(make_tail: MakeTail) -> None:
    """Batches end exactly at the recorded ends, even past max_batch_lines; then the limits
    apply again."""
    tail = make_tail(_lines(10), replay=[8, 56], max_batch_lines=2)
    batches = _drain(tail, force=True)
    assert [(b.offset, b.end_offset) for b in batches] == [(0, 8), (8, 56), (56, 72), (72, 80)]
    assert not tail.replay
