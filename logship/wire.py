"""The wire protocol between agent and collector: framing apart from encoding.

Every message is one frame: a fixed 8-byte header followed by a msgpack body.

    offset  size  field
    0       2     magic   b"LS"
    2       1     version (1)
    3       1     type    (see MsgType)
    4       4     length  of the body in bytes, big-endian unsigned

The maximum body size is checked from the header, before the body is read or allocated.
Bodies are msgpack maps with string keys; `docs/protocol.md` documents each message.
This module is pure: no sockets. `FrameDecoder` is fed bytes and yields `Message`s.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass, field
from typing import Any

import msgpack

from logship.errors import ProtocolError

MAGIC = b"LS"
VERSION = 1
HEADER = struct.Struct(">2sBBI")
HEADER_SIZE = HEADER.size  # 8
DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024


class MsgType(enum.IntEnum):
    HELLO = 1
    BATCH = 2
    ACK = 3
    ERROR = 4
    PING = 5
    PONG = 6


class ErrorCode(enum.IntEnum):
    """Codes carried by ERROR messages. All of them close the connection."""

    BAD_MAGIC = 1
    BAD_VERSION = 2
    FRAME_TOO_LARGE = 3
    BAD_MSGPACK = 4
    BAD_MESSAGE = 5  # well-formed msgpack, wrong fields or types
    UNEXPECTED = 6  # a message not allowed in this state (BATCH before HELLO, ...)
    AUTH_FAILED = 7
    UNAVAILABLE = 8  # the collector cannot make the batch safe downstream now; retry later
    SHUTTING_DOWN = 9
    INTERNAL = 10


@dataclass(frozen=True)
class Message:
    type: MsgType
    body: dict[str, Any] = field(default_factory=dict)


def encode(msg_type: MsgType, body: dict[str, Any]) -> bytes:
    """One frame: header + msgpack body."""
    payload = msgpack.packb(body, use_bin_type=True)
    return HEADER.pack(MAGIC, VERSION, int(msg_type), len(payload)) + payload


def encode_raw(msg_type: MsgType, payload: bytes) -> bytes:
    """One frame around an already-encoded msgpack body."""
    return HEADER.pack(MAGIC, VERSION, int(msg_type), len(payload)) + payload


def parse_header(header: bytes, max_frame_bytes: int) -> tuple[MsgType, int]:
    """Check a frame header; return (type, body length). Raises ProtocolError."""
    magic, version, msg_type, length = HEADER.unpack(header)
    if magic != MAGIC:
        raise ProtocolError(ErrorCode.BAD_MAGIC, f"bad magic {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise ProtocolError(
            ErrorCode.BAD_VERSION, f"protocol version {version} not supported (this is {VERSION})"
        )
    try:
        kind = MsgType(msg_type)
    except ValueError:
        raise ProtocolError(ErrorCode.BAD_MESSAGE, f"unknown message type {msg_type}") from None
    if length > max_frame_bytes:
        raise ProtocolError(
            ErrorCode.FRAME_TOO_LARGE,
            f"frame of {length} bytes is over the limit of {max_frame_bytes} bytes",
        )
    return kind, length


def unpack_body(payload: bytes | memoryview) -> dict[str, Any]:
    """Decode a msgpack body into a map with str keys. Raises ProtocolError."""
    try:
        body = msgpack.unpackb(payload, raw=False, strict_map_key=True)
    except Exception as exc:  # msgpack raises several unrelated types
        raise ProtocolError(ErrorCode.BAD_MSGPACK, f"body is not valid msgpack: {exc}") from None
    if not isinstance(body, dict):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "body must be a msgpack map")
    return body


class FrameDecoder:
    """Incremental frame parser: `feed(data)` returns the complete frames, as (type, raw body).

    Raises ProtocolError on a bad header, before buffering a body over the limit.
    """

    def __init__(self, max_frame_bytes: int = DEFAULT_MAX_FRAME_BYTES) -> None:
        self.max_frame_bytes = max_frame_bytes
        self._buf = bytearray()
        self._want: tuple[MsgType, int] | None = None

    @property
    def buffered(self) -> int:
        return len(self._buf)

    def feed(self, data: bytes) -> list[tuple[MsgType, bytes]]:
        self._buf += data
        out: list[tuple[MsgType, bytes]] = []
        while True:
            if self._want is None:
                if len(self._buf) < HEADER_SIZE:
                    return out
                self._want = parse_header(bytes(self._buf[:HEADER_SIZE]), self.max_frame_bytes)
                del self._buf[:HEADER_SIZE]
            kind, length = self._want
            if len(self._buf) < length:
                return out
            out.append((kind, bytes(self._buf[:length])))
            del self._buf[:length]
            self._want = None


# ----------------------------------------------------------------------------- message schemas
# Each entry: field name -> (accepted types, required). Checked by `validate`.

_STR = (str,)
_INT = (int,)
_SCHEMAS: dict[MsgType, dict[str, tuple[tuple[type, ...], bool]]] = {
    MsgType.HELLO: {
        "version": (_INT, True),
        "agent": (_STR, True),
        "hostname": (_STR, True),
        "token": ((str, type(None)), False),
        "window": (_INT, False),
        "server": (_STR, False),
    },
    MsgType.BATCH: {
        "id": (_STR, True),
        "path": (_STR, True),
        "file": (_STR, True),
        "offset": (_INT, True),
        "lines": ((list,), True),
        "offsets": ((list,), False),
        "fields": ((dict,), False),
        "truncated": (_INT, False),
        "cut": ((list,), False),
    },
    MsgType.ACK: {"ids": ((list,), True)},
    MsgType.ERROR: {"code": (_INT, True), "message": (_STR, True), "ids": ((list,), False)},
    MsgType.PING: {"seq": (_INT, False)},
    MsgType.PONG: {"seq": (_INT, False)},
}


def validate(kind: MsgType, body: dict[str, Any]) -> dict[str, Any]:
    """Check field presence and types of a decoded body. Raises ProtocolError(BAD_MESSAGE)."""
    schema = _SCHEMAS[kind]
    for name, (types, required) in schema.items():
        if name not in body:
            if required:
                raise ProtocolError(ErrorCode.BAD_MESSAGE, f"{kind.name} lacks field {name!r}")
            continue
        value = body[name]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise ProtocolError(
                ErrorCode.BAD_MESSAGE,
                f"{kind.name} field {name!r} has type {type(value).__name__}",
            )
    if kind is MsgType.BATCH:
        lines = body["lines"]
        if not all(isinstance(x, bytes) for x in lines):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "BATCH lines must all be bin")
        offsets = body.get("offsets")
        if offsets is not None and (
            len(offsets) != len(lines) or not all(type(x) is int for x in offsets)
        ):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "BATCH offsets must be ints, one per line")
        if body["offset"] < 0:
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "BATCH offset must be >= 0")
        cut = body.get("cut")
        if cut is not None and not all(type(x) is int and 0 <= x < len(lines) for x in cut):
            raise ProtocolError(ErrorCode.BAD_MESSAGE, "BATCH cut must be indexes into lines")
    if kind in (MsgType.ACK,) and not all(isinstance(x, str) for x in body["ids"]):
        raise ProtocolError(ErrorCode.BAD_MESSAGE, "ACK ids must be strings")
    return body


def decode(kind: MsgType, payload: bytes | memoryview) -> Message:
    """Decode and validate one frame body."""
    return Message(kind, validate(kind, unpack_body(payload)))


# ----------------------------------------------------------------------------- constructors


def hello(agent: str, hostname: str, token: str | None, window: int = 0) -> bytes:
    body: dict[str, Any] = {"version": VERSION, "agent": agent, "hostname": hostname}
    if token is not None:
        body["token"] = token
    if window:
        body["window"] = window
    return encode(MsgType.HELLO, body)


def batch(
    batch_id: str,
    path: str,
    file_id: str,
    offset: int,
    lines: list[bytes],
    offsets: list[int] | None = None,
    fields: dict[str, Any] | None = None,
    truncated: int = 0,
    cut: list[int] | None = None,
) -> bytes:
    body: dict[str, Any] = {
        "id": batch_id,
        "path": path,
        "file": file_id,
        "offset": offset,
        "lines": lines,
    }
    if offsets is not None:
        body["offsets"] = offsets
    if fields:
        body["fields"] = fields
    if truncated:
        body["truncated"] = truncated
    if cut:
        body["cut"] = cut
    return encode(MsgType.BATCH, body)


def ack(ids: list[str]) -> bytes:
    return encode(MsgType.ACK, {"ids": ids})


def error(code: int, message: str, ids: list[str] | None = None) -> bytes:
    body: dict[str, Any] = {"code": int(code), "message": message}
    if ids:
        body["ids"] = ids
    return encode(MsgType.ERROR, body)


def ping(seq: int = 0) -> bytes:
    return encode(MsgType.PING, {"seq": seq})


def pong(seq: int = 0) -> bytes:
    return encode(MsgType.PONG, {"seq": seq})
