"""process_batch: every received line ends in an event or a drop reason."""

from __future__ import annotations

import random
from types import SimpleNamespace

import msgpack

from collector.prefilter import process_batch
from logship.records import CleanBatch

CFG = SimpleNamespace(max_line_bytes=64)


def body(lines: list[bytes], **extra: object) -> dict:
    b = {"id": "b1", "path": "/var/log/x.log", "file": "1:2:ab", "offset": 100, "lines": lines}
    b.update(extra)
    return b


def test_events_and_drops_account_for_every_line() -> None:
    """Blank, binary and invalid lines are counted by reason; the rest become events."""
    lines = [
        b"ERROR one",
        b"",
        b"\x00\x01\x02\x03",
        bytes(range(0x80, 0xFF)),
        b"a\nb\nc",
        b"x" * 100,
    ]
    batch = process_batch(body(lines, truncated=2), "agent", "host", 1.0, CFG)
    batch.check()
    assert batch.lines_received == 8
    assert batch.drops == {"blank": 1, "binary": 1, "invalid_utf8": 1}
    assert [e.line_count for e in batch.events] == [1, 3, 1]
    assert batch.truncated == 3  # 2 cut by the agent, 1 here
    assert batch.events[0].level == "error"


def test_a_line_cut_by_the_agent_and_again_here_counts_once() -> None:
    """With `cut` (which entries the agent cut) a line cut on both sides is one truncation;
    a line only the collector cuts still counts."""
    lines = [b"a" * 100, b"b" * 100, b"short"]
    batch = process_batch(body(lines, truncated=1, cut=[0]), "agent", "host", 1.0, CFG)
    assert batch.truncated == 2  # entry 0 (agent, then here) once; entry 1 here


def test_offsets_from_the_agent_are_used() -> None:
    """Each event carries the byte offset the agent gave for its entry."""
    batch = process_batch(body([b"a", b"b"], offsets=[100, 250]), "a", "h", 1.0, CFG)
    assert [e.offset for e in batch.events] == [100, 250]


def test_offsets_are_estimated_without_them() -> None:
    """Without offsets, each entry starts after the previous one and its newline."""
    batch = process_batch(body([b"abc", b"", b"de"]), "a", "h", 1.0, CFG)
    assert [e.offset for e in batch.events] == [100, 105]


def test_batch_metadata_and_message_round_trip() -> None:
    """The cleaned batch carries the batch metadata and survives to_message/from_message."""
    batch = process_batch(body([b"hello"], fields={"env": "prod"}), "agent-1", "web-1", 5.5, CFG)
    assert (batch.batch_id, batch.agent, batch.hostname, batch.path, batch.file_id) == (
        "b1",
        "agent-1",
        "web-1",
        "/var/log/x.log",
        "1:2:ab",
    )
    assert (
        batch.first_offset == 100 and batch.received_at == 5.5 and batch.fields == {"env": "prod"}
    )
    msg = msgpack.unpackb(msgpack.packb(batch.to_message()))
    again = CleanBatch.from_message(msg)
    assert again.events[0].message == "hello"


def test_empty_batch() -> None:
    """A batch without lines is valid and accounts for zero lines."""
    batch = process_batch(body([]), "a", "h", 1.0, CFG)
    batch.check()
    assert batch.lines_received == 0 and batch.events == []


def test_invariant_holds_for_random_bytes() -> None:
    """Random binary, text, newlines and NULs: the accounting invariant always holds and
    every message is storable (no NUL) and packable."""
    rng = random.Random(1234)
    alphabet = [
        b"a",
        b"Z",
        b" ",
        b"\n",
        b"\r",
        b"\x00",
        b"\xff",
        b"\xc3\xa9",
        b"\x1b[1m",
        b"{",
        b"=",
        b"<13>",
    ]
    for _ in range(300):
        lines = []
        for _ in range(rng.randint(0, 12)):
            if rng.random() < 0.3:
                lines.append(rng.randbytes(rng.randint(0, 120)))
            else:
                lines.append(b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60))))
        batch = process_batch(body(lines), "a", "h", 1.0, CFG)
        batch.check()
        assert batch.lines_received == sum(x.count(b"\n") + 1 for x in lines)
        for event in batch.events:
            assert "\x00" not in event.message
        msgpack.packb(batch.to_message())


def test_metadata_strings_lose_nul_bytes() -> None:
    """NUL bytes in the batch id, path, agent or hostname (PostgreSQL refuses them) are removed."""
    b = body([b"x"])
    b.update(id="b\x001", path="/var/\x00log", file="1:2:\x00")
    batch = process_batch(b, "ag\x00ent", "ho\x00st", 1.0, CFG)
    assert (batch.batch_id, batch.path, batch.file_id, batch.agent, batch.hostname) == (
        "b1",
        "/var/log",
        "1:2:",
        "agent",
        "host",
    )


def test_drop_patterns_drop_irrelevant_entries_as_filtered() -> None:
    """An entry matching a drop pattern is dropped as `filtered` with all its lines; the
    accounting still holds."""
    cfg = SimpleNamespace(max_line_bytes=64, drop_patterns=[r"GET /healthz", r"^DEBUG "])
    lines = [b'"GET /healthz HTTP/1.1" 200', b"DEBUG noise\nmore", b"ERROR real", b""]
    batch = process_batch(body(lines), "agent", "host", 1.0, cfg)
    batch.check()
    assert batch.drops == {"filtered": 3, "blank": 1}
    assert [(e.level, e.message) for e in batch.events] == [("error", "real")]
