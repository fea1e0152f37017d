"""The per-connection protocol state machine, fed bytes without any socket."""

from __future__ import annotations

import struct

import msgpack
import pytest

from collector.session import Close, Send, Session, State, Submit, token_ok
from logship import wire
from logship.wire import ErrorCode, MsgType


def frames(actions: list) -> list[tuple[MsgType, dict]]:
    out = []
    dec = wire.FrameDecoder()
    for action in actions:
        if isinstance(action, Send):
            for kind, body in dec.feed(action.data):
                out.append((kind, msgpack.unpackb(body, raw=False)))
    return out


def ready(**kw) -> Session:
    s = Session(**kw)
    actions = s.feed(
        wire.hello("agent-1", "web-1", kw.get("tokens", [None])[0] if kw.get("tokens") else None)
    )
    assert frames(actions)[0][0] is MsgType.HELLO
    return s


def a_batch(batch_id: str = "b1", lines: list[bytes] | None = None) -> bytes:
    return wire.batch(batch_id, "/var/log/app.log", "1:2:abcd", 0, lines or [b"one", b"two\nthree"])


def assert_error(actions: list, code: ErrorCode) -> dict:
    got = frames(actions)
    assert got[-1][0] is MsgType.ERROR, got
    assert got[-1][1]["code"] == code
    assert isinstance(actions[-1], Close)
    return got[-1][1]


def test_hello_is_answered_with_window_and_echoed_agent() -> None:
    """HELLO gets a HELLO carrying the protocol version, the agent id and the window."""
    s = Session(window=5, server_hostname="collector-1")
    ((kind, body),) = frames(s.feed(wire.hello("agent-1", "web-1", None)))
    assert kind is MsgType.HELLO
    assert body == {
        "version": 1,
        "agent": "agent-1",
        "hostname": "collector-1",
        "server": "logship-collector",
        "window": 5,
    }
    assert s.state is State.READY and s.agent == "agent-1" and s.hostname == "web-1"


def test_batch_is_submitted_with_its_raw_body_and_line_count() -> None:
    """A BATCH becomes one Submit carrying the raw msgpack body and its physical line count."""
    s = ready()
    frame = a_batch()
    (action,) = s.feed(frame)
    assert isinstance(action, Submit)
    assert action.batch.payload == frame[wire.HEADER_SIZE :]
    assert action.batch.lines == 3 and action.batch.entries == 2
    assert action.batch.agent == "agent-1" and action.batch.hostname == "web-1"
    assert s.unacked == 1


def test_ack_only_when_the_shell_reports_the_batch_done() -> None:
    """No ACK comes out of feeding a BATCH; batch_done produces the ACK."""
    s = ready()
    actions = s.feed(a_batch("b7"))
    assert not any(isinstance(a, Send) for a in actions)
    assert frames(s.batch_done("b7")) == [(MsgType.ACK, {"ids": ["b7"]})]
    assert s.unacked == 0


def test_bytes_fed_one_at_a_time_give_the_same_result() -> None:
    """Frames split across reads at every byte boundary are reassembled."""
    s = Session()
    data = wire.hello("a", "h", None) + a_batch() + wire.ping(3)
    actions = []
    for i in range(len(data)):
        actions += s.feed(data[i : i + 1])
    kinds = [type(a).__name__ for a in actions]
    assert kinds == ["Send", "Submit", "Send"]
    assert frames(actions)[-1] == (MsgType.PONG, {"seq": 3})


def test_ping_is_answered_with_pong_before_and_after_hello() -> None:
    """PING gets PONG with the same seq at any time."""
    s = Session()
    assert frames(s.feed(wire.ping(11))) == [(MsgType.PONG, {"seq": 11})]
    s.feed(wire.hello("a", "h", None))
    assert frames(s.feed(wire.ping(12))) == [(MsgType.PONG, {"seq": 12})]


def test_window_is_enforced() -> None:
    """More unacknowledged batches than the window is a protocol error."""
    s = ready(window=2)
    s.feed(a_batch("1"))
    s.feed(a_batch("2"))
    assert_error(s.feed(a_batch("3")), ErrorCode.UNEXPECTED)
    assert s.closed


def test_window_frees_up_after_ack() -> None:
    """An ACKed batch no longer counts against the window."""
    s = ready(window=1)
    s.feed(a_batch("1"))
    s.batch_done("1")
    assert isinstance(s.feed(a_batch("2"))[0], Submit)


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"XY\x01\x01\x00\x00\x00\x00", ErrorCode.BAD_MAGIC),
        (b"LS\x02\x01\x00\x00\x00\x00", ErrorCode.BAD_VERSION),
        (b"LS\x01\x09\x00\x00\x00\x00", ErrorCode.BAD_MESSAGE),
        (b"LS\x01\x01" + struct.pack(">I", 2**31), ErrorCode.FRAME_TOO_LARGE),
        (wire.encode_raw(MsgType.HELLO, b"\xc1\xc1"), ErrorCode.BAD_MSGPACK),
        (wire.encode_raw(MsgType.HELLO, msgpack.packb([1, 2])), ErrorCode.BAD_MESSAGE),
        (
            wire.encode(MsgType.HELLO, {"version": 1, "agent": 5, "hostname": "h"}),
            ErrorCode.BAD_MESSAGE,
        ),
        (wire.encode(MsgType.HELLO, {"version": 1, "agent": "a"}), ErrorCode.BAD_MESSAGE),
        (
            wire.encode(MsgType.HELLO, {"version": 2, "agent": "a", "hostname": "h"}),
            ErrorCode.BAD_VERSION,
        ),
        (
            wire.encode(MsgType.HELLO, {"version": True, "agent": "a", "hostname": "h"}),
            ErrorCode.BAD_MESSAGE,
        ),
        (a_batch(), ErrorCode.UNEXPECTED),
        (wire.ack(["x"]), ErrorCode.UNEXPECTED),
    ],
)
def test_malformed_or_unexpected_first_frame_gives_error_and_close(
    data: bytes, code: ErrorCode
) -> None:
    """Every bad header, body or message out of order is answered with ERROR, then Close."""
    s = Session(max_frame_bytes=1024)
    assert_error(s.feed(data), code)
    assert s.closed
    assert s.feed(wire.ping()) == []


@pytest.mark.parametrize(
    "body",
    [
        {"id": 1, "path": "p", "file": "f", "offset": 0, "lines": []},
        {"id": "x", "path": "p", "file": "f", "offset": -1, "lines": []},
        {"id": "x", "path": "p", "file": "f", "offset": 0, "lines": ["text, not bin"]},
        {"id": "x", "path": "p", "file": "f", "offset": 0, "lines": [b"a"], "offsets": [1, 2]},
        {"id": "x", "path": "p", "file": "f", "offset": 0, "lines": b"a"},
        {"id": "x", "path": "p", "file": "f", "offset": "0", "lines": []},
        {"id": "x", "path": "p", "offset": 0, "lines": []},
        {"id": "x", "path": "p", "file": "f", "offset": 0, "lines": [], "fields": [1]},
        {"id": "x", "path": "p", "file": "f", "offset": 0, "lines": [], "truncated": "1"},
    ],
)
def test_batch_with_wrong_fields_is_bad_message(body: dict) -> None:
    """A BATCH with a missing field or a field of the wrong type is BAD_MESSAGE."""
    s = ready()
    assert_error(s.feed(wire.encode(MsgType.BATCH, body)), ErrorCode.BAD_MESSAGE)


def test_batch_fields_with_non_string_keys_are_refused() -> None:
    """`fields` map keys must be strings (msgpack allows ints; the record would not)."""
    s = ready()
    body = msgpack.packb(
        {"id": "x", "path": "p", "file": "f", "offset": 0, "lines": [], "fields": {1: "a"}},
        use_bin_type=True,
    )
    # strict_map_key refuses int keys while decoding: BAD_MSGPACK
    got = assert_error(s.feed(wire.encode_raw(MsgType.BATCH, body)), ErrorCode.BAD_MSGPACK)
    assert "msgpack" in got["message"]


def test_second_hello_is_unexpected() -> None:
    """HELLO twice on one connection is refused."""
    s = ready()
    assert_error(s.feed(wire.hello("a", "h", None)), ErrorCode.UNEXPECTED)


def test_frames_after_a_bad_one_in_the_same_read_are_ignored() -> None:
    """After the ERROR nothing else in the buffer is acted on."""
    s = Session()
    actions = s.feed(b"LS\x07\x01\x00\x00\x00\x00" + wire.hello("a", "h", None))
    assert_error(actions, ErrorCode.BAD_VERSION)
    assert len(actions) == 2


def test_truncated_frame_is_answered_on_eof() -> None:
    """A connection that ends mid-frame gets ERROR BAD_MESSAGE and submits nothing."""
    s = ready()
    frame = a_batch()
    assert s.feed(frame[:-3]) == []
    body = assert_error(s.eof(), ErrorCode.BAD_MESSAGE)
    assert "mid-frame" in body["message"]


def test_clean_eof_just_closes() -> None:
    """EOF between frames closes without an ERROR."""
    s = ready()
    (action,) = s.eof()
    assert isinstance(action, Close)


def test_tokens_are_required_when_configured() -> None:
    """With tokens configured, a missing or wrong token is AUTH_FAILED; a right one passes."""
    for offered in (None, "wrong", "", "s3cret "):
        s = Session(tokens=("s3cret", "other"))
        assert_error(s.feed(wire.hello("a", "h", offered)), ErrorCode.AUTH_FAILED)
    s = Session(tokens=("s3cret", "other"))
    assert frames(s.feed(wire.hello("a", "h", "other")))[0][0] is MsgType.HELLO


def test_token_ok_rules() -> None:
    """No tokens configured accepts anyone; otherwise one exact match is needed (non-ASCII too)."""
    assert token_ok(None, ())
    assert token_ok("x", ())
    assert not token_ok(None, ("t",))
    assert token_ok("tökén", ("tökén",))
    assert not token_ok("töken", ("tökén",))


def test_batch_failed_sends_unavailable_with_ids_and_closes() -> None:
    """A batch the pool could not publish is answered ERROR UNAVAILABLE naming it."""
    s = ready()
    s.feed(a_batch("b1"))
    body = assert_error(
        s.batch_failed(["b1"], ErrorCode.UNAVAILABLE, "broker down"), ErrorCode.UNAVAILABLE
    )
    assert body["ids"] == ["b1"]
    assert s.closed and s.unacked == 0


def test_no_ack_after_close() -> None:
    """A batch finishing after the connection closed produces nothing to send."""
    s = ready()
    s.feed(a_batch("b1"))
    s.eof()
    assert s.batch_done("b1") == []


def test_shutting_down() -> None:
    """Shutdown tells the agent SHUTTING_DOWN and closes."""
    s = ready()
    assert_error(s.shutting_down(), ErrorCode.SHUTTING_DOWN)


def test_agent_error_closes_quietly() -> None:
    """An ERROR from the agent closes the connection without an answer."""
    s = ready()
    (action,) = s.feed(wire.error(10, "bye"))
    assert isinstance(action, Close)


def test_pong_from_agent_is_ignored() -> None:
    """PONG needs no answer."""
    s = ready()
    assert s.feed(wire.pong(1)) == []


def test_duplicate_batch_ids_are_counted_separately() -> None:
    """The same batch id sent twice counts twice against the window and is ACKed twice."""
    s = ready()
    s.feed(a_batch("same"))
    s.feed(a_batch("same"))
    assert s.unacked == 2
    s.batch_done("same")
    assert s.unacked == 1


def test_hello_timeout() -> None:
    """A connection without HELLO in time gets ERROR UNEXPECTED; after HELLO it is a no-op."""
    s = Session()
    body = assert_error(s.hello_timeout(30), ErrorCode.UNEXPECTED)
    assert "HELLO" in body["message"]
    assert ready().hello_timeout(30) == []
