"""Unit tests for agent.batcher: batches bounded by lines, bytes and age; deterministic ids."""

from __future__ import annotations

import hashlib

import msgpack

from agent.batcher import Batcher, batch_id
from logship import wire


def _batcher(**kw: object) -> Batcher:
    args: dict = {"max_lines": 3, "max_bytes": 100, "max_age_s": 2.0}
    args.update(kw)
    return Batcher("web-1", "/var/log/app.log", "1:2:abcdef0123456789", **args)


def _feed(b: Batcher, lines: list[bytes], start: int = 0) -> list:
    out = []
    offset = start
    for line in lines:
        out += b.add(line, offset, offset + len(line) + 1)
        offset += len(line) + 1
    return out


def test_batch_id_is_sha256_prefix_of_agent_file_offset_end() -> None:
    """The id is the first 32 hex digits of SHA-256 over `agent|file|offset|end`."""
    expected = hashlib.sha256(b"web-1|1:2:abc|10|20").hexdigest()[:32]
    assert batch_id("web-1", "1:2:abc", 10, 20) == expected


def test_closes_by_line_count_with_contiguous_offsets() -> None:
    """A batch closes at max_lines; each covers [offset, end_offset) and the next starts there."""
    b = _batcher()
    batches = _feed(b, [b"a", b"b", b"c", b"d", b"e", b"f", b"g"])
    assert [x.lines for x in batches] == [[b"a", b"b", b"c"], [b"d", b"e", b"f"]]
    assert [(x.offset, x.end_offset) for x in batches] == [(0, 6), (6, 12)]
    assert batches[0].offsets == [0, 2, 4]
    last = b.flush()
    assert last is not None and (last.lines, last.offset, last.end_offset) == ([b"g"], 12, 14)
    assert b.flush() is None


def test_closes_by_bytes_and_an_oversize_line_travels_alone() -> None:
    """Adding a line that would pass max_bytes closes the open batch first; a line bigger
    than max_bytes gets a batch of its own."""
    b = _batcher(max_lines=100, max_bytes=10)
    batches = _feed(b, [b"1234", b"5678", b"abc", b"X" * 25, b"z"])
    assert [x.lines for x in batches] == [[b"1234", b"5678"], [b"abc"], [b"X" * 25]]
    assert all(x.data_bytes <= 10 or len(x.lines) == 1 for x in batches)
    assert b.flush().lines == [b"z"]


def test_closes_by_age_measured_from_the_first_line() -> None:
    """A batch that is not full is due max_age_s after its first line."""
    now = [100.0]
    b = _batcher(clock=lambda: now[0])
    assert b.deadline() is None and b.poll() is None
    _feed(b, [b"a"])
    now[0] = 101.0
    _feed(b, [b"b"], start=2)
    assert b.deadline() == 102.0 and not b.due()
    now[0] = 102.0
    batch = b.poll()
    assert batch is not None and batch.lines == [b"a", b"b"]
    assert b.poll() is None and b.deadline() is None


def test_same_input_gives_same_ids() -> None:
    """Batching is deterministic: the same lines from the same offset give the same ids
    (so a batch re-sent after a crash is stored once)."""
    lines = [b"line %d" % i for i in range(10)]
    first = [x.id for x in _feed(_batcher(), lines)]
    again = [x.id for x in _feed(_batcher(), lines)]
    assert first == again and len(set(first)) == len(first)
    other_agent = Batcher(
        "web-2", "/var/log/app.log", "1:2:abcdef0123456789", max_lines=3, max_bytes=100
    )
    assert [x.id for x in _feed(other_agent, lines)] != first


def test_truncated_count_line_count_and_encoding() -> None:
    """A batch counts its truncated entries and the physical lines of multiline entries,
    and encodes to a valid BATCH frame."""
    b = _batcher(max_lines=10, fields={"service": "api"})
    b.add(b"cut", 0, 500, truncated=True)
    b.add(b"Traceback:\n  at x\n  at y", 500, 526)
    batch = b.flush()
    assert batch is not None
    assert (batch.truncated, batch.line_count, batch.byte_count) == (1, 4, 526)
    frame = batch.encode()
    kind, length = wire.parse_header(frame[: wire.HEADER_SIZE], wire.DEFAULT_MAX_FRAME_BYTES)
    msg = wire.decode(kind, frame[wire.HEADER_SIZE :])
    assert kind is wire.MsgType.BATCH and length == len(frame) - wire.HEADER_SIZE
    assert msg.body["id"] == batch.id and msg.body["offsets"] == [0, 500]
    assert msg.body["truncated"] == 1 and msg.body["fields"] == {"service": "api"}
    assert msg.body["cut"] == [0]  # which entry was cut
    assert msgpack.unpackb(frame[wire.HEADER_SIZE :])["lines"][0] == b"cut"
