"""The per-connection protocol state machine. Pure: no sockets, no clock, no processes.

The shell (`server.py`) feeds received bytes in and performs the actions that come out:

- `Send(data)`: write these frame bytes to the agent;
- `Submit(batch)`: hand a validated BATCH (its raw msgpack body) to the pre-filter pool;
- `Close(reason)`: close the connection (always preceded by the ERROR frame to send).

When the pool has made a batch safe downstream the shell calls `batch_done(id)` (→ ACK);
when it could not, `batch_failed(ids, code, message)` (→ ERROR + close). Every protocol
violation (bad header, oversize, bad msgpack, wrong field types, message not allowed now,
window exceeded, bad token) becomes one ERROR frame followed by Close; nothing raises.
"""

from __future__ import annotations

import enum
import hmac
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from logship import wire
from logship.errors import ProtocolError
from logship.wire import ErrorCode, MsgType


@dataclass(frozen=True, slots=True)
class Send:
    data: bytes


@dataclass(frozen=True, slots=True)
class Submit:
    batch: BatchRef


@dataclass(frozen=True, slots=True)
class Close:
    reason: str


Action = Send | Submit | Close


@dataclass(frozen=True, slots=True)
class BatchRef:
    """A validated BATCH on its way to the pool: the raw body plus what the shell needs."""

    batch_id: str
    payload: bytes  # the msgpack body exactly as received
    lines: int  # physical lines: sum(entry.count(b"\n") + 1)
    entries: int
    agent: str
    hostname: str


class State(enum.Enum):
    AWAIT_HELLO = "await_hello"
    READY = "ready"
    CLOSED = "closed"


def token_ok(offered: str | None, accepted: Sequence[str]) -> bool:
    """Constant-time check of an agent token; every accepted token is compared."""
    if not accepted:
        return True
    given = (offered or "").encode("utf-8", "surrogatepass")
    ok = False
    for token in accepted:
        ok |= hmac.compare_digest(given, token.encode("utf-8", "surrogatepass"))
    return ok and offered is not None


@dataclass
class Session:
    """Protocol state of one agent connection."""

    tokens: Sequence[str] = ()
    window: int = 8
    max_frame_bytes: int = wire.DEFAULT_MAX_FRAME_BYTES
    server_hostname: str = "collector"
    server_name: str = "logship-collector"
    state: State = State.AWAIT_HELLO
    agent: str = ""
    hostname: str = ""
    in_flight: dict[str, int] = field(default_factory=dict)  # batch id -> submissions pending
    close_reason: str = ""

    def __post_init__(self) -> None:
        self._decoder = wire.FrameDecoder(self.max_frame_bytes)

    # ------------------------------------------------------------------ queries
    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    @property
    def unacked(self) -> int:
        return sum(self.in_flight.values())

    # ------------------------------------------------------------------ inputs
    def feed(self, data: bytes) -> list[Action]:
        """Bytes received from the agent → actions, in order."""
        if self.closed:
            return []
        try:
            frames = self._decoder.feed(data)
        except ProtocolError as exc:
            return self._fail(exc.code, exc.message)
        actions: list[Action] = []
        for kind, payload in frames:
            actions.extend(self._frame(kind, payload))
            if self.closed:
                break
        return actions

    def eof(self) -> list[Action]:
        """The agent closed its side. A partial frame left behind is answered BAD_MESSAGE."""
        if self.closed:
            return []
        if self._decoder.buffered:  # a truncated frame: say so, the agent may still read
            return self._fail(
                ErrorCode.BAD_MESSAGE,
                f"connection closed mid-frame ({self._decoder.buffered} bytes of a truncated frame)",
            )
        self.state = State.CLOSED
        self.close_reason = "connection closed"
        return [Close(self.close_reason)]

    def batch_done(self, batch_id: str) -> list[Action]:
        """The pool made this batch safe downstream: ACK it (unless the connection is gone)."""
        self._settle(batch_id)
        if self.closed:
            return []
        return [Send(wire.ack([batch_id]))]

    def batch_failed(self, batch_ids: list[str], code: int, message: str) -> list[Action]:
        """The pool could not make these batches safe: ERROR naming them, then close."""
        for batch_id in batch_ids:
            self._settle(batch_id)
        if self.closed:
            return []
        return self._fail(code, message, batch_ids)

    def hello_timeout(self, seconds: float) -> list[Action]:
        """No HELLO came in time: ERROR and close (the shell keeps the clock)."""
        if self.state is not State.AWAIT_HELLO:
            return []
        return self._fail(ErrorCode.UNEXPECTED, f"no HELLO within {seconds:g} s")

    def shutting_down(self) -> list[Action]:
        """The collector stops: tell the agent, then close."""
        if self.closed:
            return []
        return self._fail(
            ErrorCode.SHUTTING_DOWN, "the collector is shutting down; reconnect later"
        )

    # ------------------------------------------------------------------ internals
    def _settle(self, batch_id: str) -> None:
        count = self.in_flight.get(batch_id, 0)
        if count <= 1:
            self.in_flight.pop(batch_id, None)
        else:
            self.in_flight[batch_id] = count - 1

    def _fail(self, code: int, message: str, ids: list[str] | None = None) -> list[Action]:
        self.state = State.CLOSED
        self.close_reason = f"{ErrorCode(code).name}: {message}"
        return [Send(wire.error(code, message, ids)), Close(self.close_reason)]

    def _frame(self, kind: MsgType, payload: bytes) -> list[Action]:
        try:
            body = wire.decode(kind, payload).body
        except ProtocolError as exc:
            return self._fail(exc.code, exc.message)
        if kind is MsgType.PING:
            return [Send(wire.pong(body.get("seq", 0)))]
        if kind is MsgType.PONG:
            return []
        if kind is MsgType.ERROR:
            self.state = State.CLOSED
            self.close_reason = f"agent sent ERROR {body['code']}: {body['message']}"
            return [Close(self.close_reason)]
        if kind is MsgType.HELLO:
            return self._hello(body)
        if kind is MsgType.BATCH:
            return self._batch(body, payload)
        return self._fail(ErrorCode.UNEXPECTED, f"{kind.name} is not sent to a collector")

    def _hello(self, body: dict[str, Any]) -> list[Action]:
        if self.state is not State.AWAIT_HELLO:
            return self._fail(ErrorCode.UNEXPECTED, "HELLO sent twice")
        if body["version"] != wire.VERSION:
            return self._fail(
                ErrorCode.BAD_VERSION,
                f"protocol version {body['version']} not supported (this is {wire.VERSION})",
            )
        if not token_ok(body.get("token"), self.tokens):
            return self._fail(ErrorCode.AUTH_FAILED, "token missing or not accepted")
        self.agent = body["agent"]
        self.hostname = body["hostname"]
        self.state = State.READY
        reply = {
            "version": wire.VERSION,
            "agent": self.agent,
            "hostname": self.server_hostname,
            "server": self.server_name,
            "window": self.window,
        }
        return [Send(wire.encode(MsgType.HELLO, reply))]

    def _batch(self, body: dict[str, Any], payload: bytes) -> list[Action]:
        if self.state is not State.READY:
            return self._fail(ErrorCode.UNEXPECTED, "BATCH before HELLO")
        if self.unacked >= self.window:
            return self._fail(
                ErrorCode.UNEXPECTED,
                f"more than window={self.window} unacknowledged batches",
            )
        fields = body.get("fields")
        if fields is not None and not all(isinstance(k, str) for k in fields):
            return self._fail(ErrorCode.BAD_MESSAGE, "BATCH fields must have string keys")
        lines: list[bytes] = body["lines"]
        batch_id: str = body["id"]
        self.in_flight[batch_id] = self.in_flight.get(batch_id, 0) + 1
        ref = BatchRef(
            batch_id=batch_id,
            payload=payload,
            lines=sum(entry.count(b"\n") + 1 for entry in lines),
            entries=len(lines),
            agent=self.agent,
            hostname=self.hostname,
        )
        return [Submit(ref)]
