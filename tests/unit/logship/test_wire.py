"""Unit tests for logship.wire: framing, limits and message validation."""

from __future__ import annotations

import struct

import msgpack
import pytest

from logship import wire
from logship.errors import ProtocolError
from logship.wire import ErrorCode, FrameDecoder, MsgType


def test_round_trip_every_message_type() -> None:
    """Every constructor's frame decodes back to the same message."""
    frames = [
        wire.hello("a1", "host", "tok", window=4),
        wire.batch("id1", "/var/log/x", "1:2:ab", 10, [b"one", b"\xff\x00"], [10, 14], {"s": 1}, 1),
        wire.ack(["id1", "id2"]),
        wire.error(ErrorCode.AUTH_FAILED, "no", ["id1"]),
        wire.ping(3),
        wire.pong(3),
    ]
    dec = FrameDecoder()
    got = dec.feed(b"".join(frames))
    assert [k for k, _ in got] == [
        MsgType.HELLO,
        MsgType.BATCH,
        MsgType.ACK,
        MsgType.ERROR,
        MsgType.PING,
        MsgType.PONG,
    ]
    batch = wire.decode(*got[1])
    assert batch.body["lines"] == [b"one", b"\xff\x00"]
    assert batch.body["offsets"] == [10, 14]
    assert wire.decode(*got[0]).body["token"] == "tok"


def test_decoder_handles_byte_by_byte_feeding() -> None:
    """A frame split at every byte boundary still decodes exactly once."""
    frame = wire.ack(["x"])
    dec = FrameDecoder()
    out = []
    for i in range(len(frame)):
        out += dec.feed(frame[i : i + 1])
    assert len(out) == 1 and dec.buffered == 0


def test_oversize_frame_rejected_from_header_alone() -> None:
    """The length in the header is checked before any body byte arrives."""
    dec = FrameDecoder(max_frame_bytes=100)
    header = wire.HEADER.pack(wire.MAGIC, wire.VERSION, MsgType.BATCH, 101)
    with pytest.raises(ProtocolError) as info:
        dec.feed(header)
    assert info.value.code == ErrorCode.FRAME_TOO_LARGE


@pytest.mark.parametrize(
    ("header", "code"),
    [
        (struct.pack(">2sBBI", b"XX", 1, 1, 0), ErrorCode.BAD_MAGIC),
        (struct.pack(">2sBBI", b"LS", 9, 1, 0), ErrorCode.BAD_VERSION),
        (struct.pack(">2sBBI", b"LS", 1, 77, 0), ErrorCode.BAD_MESSAGE),
    ],
)
def test_bad_headers_raise_their_codes(header: bytes, code: ErrorCode) -> None:
    """Wrong magic, version or type are reported with their own error code."""
    with pytest.raises(ProtocolError) as info:
        FrameDecoder().feed(header)
    assert info.value.code == code


@pytest.mark.parametrize(
    ("kind", "body", "code"),
    [
        (MsgType.BATCH, b"\xc1", ErrorCode.BAD_MSGPACK),
        (MsgType.BATCH, msgpack.packb([1, 2]), ErrorCode.BAD_MESSAGE),
        (MsgType.HELLO, msgpack.packb({"version": 1, "agent": "a"}), ErrorCode.BAD_MESSAGE),
        (MsgType.HELLO, msgpack.packb({"version": "1", "agent": "a", "hostname": "h"}), 5),
        (
            MsgType.BATCH,
            msgpack.packb({"id": "i", "path": "p", "file": "f", "offset": 0, "lines": ["str"]}),
            ErrorCode.BAD_MESSAGE,
        ),
        (
            MsgType.BATCH,
            msgpack.packb(
                {"id": "i", "path": "p", "file": "f", "offset": 0, "lines": [b"x"], "offsets": []}
            ),
            ErrorCode.BAD_MESSAGE,
        ),
        (
            MsgType.BATCH,
            msgpack.packb({"id": "i", "path": "p", "file": "f", "offset": -1, "lines": []}),
            ErrorCode.BAD_MESSAGE,
        ),
        (
            MsgType.BATCH,
            msgpack.packb(
                {"id": "i", "path": "p", "file": "f", "offset": 0, "lines": [b"x"], "cut": [1]}
            ),
            ErrorCode.BAD_MESSAGE,
        ),
        (MsgType.ACK, msgpack.packb({"ids": [1]}), ErrorCode.BAD_MESSAGE),
        (MsgType.PING, msgpack.packb({"seq": True}), ErrorCode.BAD_MESSAGE),
    ],
)
def test_malformed_bodies_raise(kind: MsgType, body: bytes, code: int) -> None:
    """Bad msgpack, non-map bodies, missing fields and wrong types are protocol errors."""
    with pytest.raises(ProtocolError) as info:
        wire.decode(kind, body)
    assert info.value.code == code
