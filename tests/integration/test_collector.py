"""The collector as a real subprocess, with the real broker: protocol, errors, many agents,
tokens, the archive, and ACK only after the cleaned batch is in the broker."""

from __future__ import annotations

import struct
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgpack
import pytest

from logship import wire
from logship.records import CleanBatch
from logship.wire import ErrorCode, MsgType
from tests.integration.collector_harness import (
    Agent,
    CollectorProcess,
    batch_id,
    consume,
    delete_queue,
)

pytestmark = pytest.mark.integration
TOKEN = "s3cret-token"


@pytest.fixture(scope="module")
def queue() -> str:
    return f"logship-test-collector-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def collector(
    tmp_path_factory: pytest.TempPathFactory, broker_url: str, broker_dir: Path, queue: str
) -> Iterator[CollectorProcess]:
    proc = CollectorProcess(
        tmp_path_factory.mktemp("collector"),
        broker_url,
        broker_dir,
        queue,
        "--token",
        TOKEN,
        "--token",
        "second-token",
    ).start()
    yield proc
    code = proc.stop()
    delete_queue(broker_url, broker_dir, queue)
    assert code == 0, proc.log()


@pytest.fixture
def drain(broker_url: str, broker_dir: Path, queue: str, collector: CollectorProcess):
    """Consume what the collector published (and leave the queue empty afterwards)."""

    def take(count: int) -> list[dict]:
        return consume(broker_url, broker_dir, queue, count)

    return take


def test_round_trip_hello_ping_batch_ack(collector: CollectorProcess, drain) -> None:
    """HELLO, PING/PONG, BATCH/ACK; the ACKed batch is already in the broker, cleaned."""
    with Agent(collector.port) as agent:
        reply = agent.hello("agent-rt", TOKEN)
        assert reply["version"] == 1 and reply["agent"] == "agent-rt" and reply["window"] == 8
        agent.send(wire.ping(42))
        assert agent.expect(MsgType.PONG) == {"seq": 42}
        bid = batch_id("rt")
        lines = [
            b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed",
            b"",
            b"\x00\x01\x02\x03\x04",
            b'{"level":"warn","msg":"disk","time":1764410400}',
            b"2026-11-29 10:00:00,123 ERROR [main] com.x.Y: boom\n\tat com.x.Y.run(Y.java:1)",
        ]
        agent.send(
            wire.batch(bid, "/var/log/app.log", "1:2:abcd", 0, lines, fields={"env": "test"})
        )
        assert agent.expect(MsgType.ACK) == {"ids": [bid]}
    (record,) = drain(1)  # published before the ACK: it is there now
    assert record["id"] == bid and record["agent"] == "agent-rt" and record["hostname"] == "web-1"
    assert record["lines"] == 6 and record["drops"] == {"blank": 1, "binary": 1}
    assert record["fields"] == {"env": "test"}
    events = record["events"]
    assert [(e[3], e[6]) for e in events] == [
        ("rfc3164", "critical"),
        ("json", "warning"),
        ("java", "error"),
    ]
    assert [e[1] for e in events] == [1, 1, 2]
    assert events[0][2] == "'su root' failed" and events[0][5] == "mymachine"


def test_many_batches_with_a_full_window(collector: CollectorProcess, drain) -> None:
    """A window's worth of batches in flight at once are all ACKed and all published."""
    with Agent(collector.port) as agent:
        window = agent.hello("agent-win", TOKEN)["window"]
        ids = [batch_id(i, "win") for i in range(window)]
        for i, bid in enumerate(ids):
            agent.send(wire.batch(bid, "/var/log/w.log", "1:3:ab", i * 100, [b"line %d" % i] * 10))
        acked: list[str] = []
        while len(acked) < len(ids):
            acked += agent.expect(MsgType.ACK)["ids"]
        assert sorted(acked) == sorted(ids)
    records = drain(len(ids))
    assert sorted(r["id"] for r in records) == sorted(ids)


MALFORMED = [
    ("bad magic", b"XX\x01\x01\x00\x00\x00\x00", ErrorCode.BAD_MAGIC),
    ("bad version", b"LS\x09\x01\x00\x00\x00\x00", ErrorCode.BAD_VERSION),
    ("unknown type", b"LS\x01\x63\x00\x00\x00\x00", ErrorCode.BAD_MESSAGE),
    ("oversize", b"LS\x01\x02" + struct.pack(">I", 64 * 1024 * 1024), ErrorCode.FRAME_TOO_LARGE),
    ("bad msgpack", wire.encode_raw(MsgType.HELLO, b"\xc1\xc1\xc1"), ErrorCode.BAD_MSGPACK),
    (
        "msgpack cut short",
        wire.encode_raw(MsgType.HELLO, msgpack.packb({"version": 1, "agent": "abc"})[:-2]),
        ErrorCode.BAD_MSGPACK,
    ),
    ("not a map", wire.encode(MsgType.HELLO, [1, 2, 3]), ErrorCode.BAD_MESSAGE),  # type: ignore[arg-type]
    (
        "wrong field type",
        wire.encode(MsgType.HELLO, {"version": 1, "agent": 7, "hostname": "h"}),
        ErrorCode.BAD_MESSAGE,
    ),
    ("batch before hello", wire.batch("x", "p", "f", 0, [b"a"]), ErrorCode.UNEXPECTED),
    ("ack from agent", wire.ack(["x"]), ErrorCode.UNEXPECTED),
]


@pytest.mark.parametrize(("name", "data", "code"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_frames_get_error_while_another_agent_is_served(
    collector: CollectorProcess, drain, name: str, data: bytes, code: ErrorCode
) -> None:
    """Each malformed frame is answered with ERROR and a close; a second agent connected
    at the same time keeps getting its batches ACKed."""
    with Agent(collector.port) as good:
        good.hello("agent-good", TOKEN)
        with Agent(collector.port) as bad:
            bad.send(data)
            body = bad.expect(MsgType.ERROR)
            assert body["code"] == code, body
            bad.expect_closed()
        bid = batch_id(name, "good")
        good.send(wire.batch(bid, "/var/log/good.log", "1:4:ab", 0, [b"still served"]))
        assert good.expect(MsgType.ACK) == {"ids": [bid]}
    assert [r["id"] for r in drain(1)] == [bid]


def test_truncated_frame_then_half_close(collector: CollectorProcess) -> None:
    """A frame cut short by the agent closing its side is answered with ERROR."""
    import socket as _socket

    with Agent(collector.port) as agent:
        agent.hello("agent-trunc", TOKEN)
        frame = wire.batch(batch_id("t"), "/p", "1:5:ab", 0, [b"x" * 100])
        agent.send(frame[:50])
        agent.sock.shutdown(_socket.SHUT_WR)
        assert agent.expect(MsgType.ERROR)["code"] == ErrorCode.BAD_MESSAGE
        agent.expect_closed()


def test_bad_batch_fields_after_hello(collector: CollectorProcess) -> None:
    """A BATCH with a field of the wrong type is BAD_MESSAGE."""
    with Agent(collector.port) as agent:
        agent.hello("agent-badfield", TOKEN)
        agent.send(
            wire.encode(
                MsgType.BATCH, {"id": "x", "path": "p", "file": "f", "offset": 0, "lines": ["str"]}
            )
        )
        assert agent.expect(MsgType.ERROR)["code"] == ErrorCode.BAD_MESSAGE
        agent.expect_closed()


@pytest.mark.parametrize("token", [None, "wrong", TOKEN + "x", ""])
def test_bad_token_is_refused(collector: CollectorProcess, token: str | None) -> None:
    """A missing or wrong token gets AUTH_FAILED and the connection is closed."""
    with Agent(collector.port) as agent:
        agent.send(wire.hello("agent-bad", "h", token))
        assert agent.expect(MsgType.ERROR)["code"] == ErrorCode.AUTH_FAILED
        agent.expect_closed()


def test_second_token_is_accepted(collector: CollectorProcess) -> None:
    """Every configured token is accepted."""
    with Agent(collector.port) as agent:
        assert agent.hello("agent-2nd", "second-token")["agent"] == "agent-2nd"


def test_twenty_agents_at_once(collector: CollectorProcess, drain) -> None:
    """20 agents on 20 connections send 5 batches each at the same time: every batch is
    ACKed to its own agent and published once."""
    agents, batches, lines_per_batch = 20, 5, 40
    acked: dict[int, list[str]] = {}
    sent: dict[int, list[str]] = {}
    errors: list[BaseException] = []

    def run(n: int) -> None:
        try:
            with Agent(collector.port) as agent:
                agent.hello(f"agent-{n:02d}", TOKEN, hostname=f"host-{n:02d}")
                ids = [batch_id(i, f"a{n}") for i in range(batches)]
                sent[n] = ids
                for i, bid in enumerate(ids):
                    lines = [
                        b"2026-11-29 10:00:00,000 INFO x: agent %d batch %d line %d" % (n, i, j)
                        for j in range(lines_per_batch)
                    ]
                    agent.send(
                        wire.batch(bid, f"/var/log/a{n}.log", f"1:{n}:ab", i * 10_000, lines)
                    )
                got: list[str] = []
                while len(got) < batches:
                    got += agent.expect(MsgType.ACK)["ids"]
                acked[n] = got
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(agents)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors, errors
    assert all(sorted(acked[n]) == sorted(sent[n]) for n in range(agents))
    records = drain(agents * batches)
    assert len(records) == agents * batches
    assert sorted(r["id"] for r in records) == sorted(i for ids in sent.values() for i in ids)
    assert sum(r["lines"] for r in records) == agents * batches * lines_per_batch
    assert {r["hostname"] for r in records} == {f"host-{n:02d}" for n in range(agents)}


def test_path_traversal_cannot_escape_storage(collector: CollectorProcess, drain) -> None:
    """Source paths and agent ids full of '..' and absolute paths are archived inside
    STORAGE_PATH, and nothing is written outside it."""
    outside_before = {
        p for p in collector.workdir.parent.rglob("*") if collector.storage not in p.parents
    }
    sources = ["../../etc/passwd", "/etc/passwd", "../../../../../../tmp/evil", "..\\..\\x", "/"]
    with Agent(collector.port) as agent:
        agent.hello("../../agent-evil", TOKEN)
        for n, source in enumerate(sources):
            bid = batch_id(n, "trav")
            agent.send(wire.batch(bid, source, "1:6:ab", 0, [b"traversal line %d" % n]))
            assert agent.expect(MsgType.ACK) == {"ids": [bid]}
    drain(len(sources))
    outside_after = {
        p for p in collector.workdir.parent.rglob("*") if collector.storage not in p.parents
    }
    assert outside_after - outside_before <= {collector.storage}
    archived = [
        p
        for p in collector.storage.rglob("*")
        if p.is_file() and b"traversal line" in p.read_bytes()
    ]
    assert len(archived) == len(set(archived)) >= 3
    for path in archived:
        assert collector.storage in path.resolve().parents
    assert b"traversal line" not in Path("/etc/passwd").read_bytes()
    assert not Path("/tmp/evil").exists()


def test_metrics_and_health(collector: CollectorProcess) -> None:
    """/healthz answers ok and /metrics counts connections and published batches."""
    assert collector.http("/healthz") == (200, "ok\n")
    assert collector.metric("logship_collector_connections_total") >= 1
    assert collector.metric("logship_collector_batches_published_total") >= 1
    assert collector.metric("logship_collector_lines_dropped_total") >= 1
    assert collector.http("/nothing")[0] == 404


def test_drop_patterns_filter_irrelevant_lines(
    tmp_path: Path, broker_url: str, broker_dir: Path
) -> None:
    """A collector started with drop_patterns (here from the environment, a JSON array) drops
    the matching lines in its pool and counts them as `filtered`; the rest is published."""
    queue = f"logship-test-{uuid.uuid4().hex[:10]}"
    env = {"LOGSHIP_DROP_PATTERNS": '["GET /healthz", "^DEBUG\\\\b"]'}
    proc = CollectorProcess(tmp_path, broker_url, broker_dir, queue, env=env).start()
    try:
        with Agent(proc.port) as agent:
            agent.hello()
            bid = batch_id("filter")
            lines = [b"GET /healthz 200", b"DEBUG chatter", b"ERROR kept", b"DEBUGGER kept"]
            agent.send(wire.batch(bid, "/var/log/f.log", "1:1:ab", 0, lines))
            assert agent.expect(MsgType.ACK) == {"ids": [bid]}
        (record,) = consume(broker_url, broker_dir, queue, 1)
        batch = CleanBatch.from_message(record)
        assert batch.drops == {"filtered": 2}
        assert [e.message for e in batch.events] == ["kept", "DEBUGGER kept"]
    finally:
        assert proc.stop() == 0, proc.log()
        delete_queue(broker_url, broker_dir, queue)
