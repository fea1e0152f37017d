"""A fake collector for the agent's integration tests: plain asyncio sockets + logship.wire.

It runs its own event loop in a thread, so both in-process `send_files` runs and `logship-agent`
subprocesses can talk to it. It speaks the real protocol (HELLO, BATCH, ACK, ERROR, PING/PONG)
and records what it saw. Behaviour knobs:

- `window`: the window announced in HELLO; `token`: the token required (AUTH_FAILED otherwise);
- `group_acks`: hold ACKs until `window` batches are outstanding (or the agent goes quiet), then
  ACK them one frame each, newest first (out of order on purpose);
- `drop_after`: once, after receiving that many batches in total, cut the connection without
  ACKing what is outstanding (with an ERROR `drop_with_error` first, if set);
- `hold_after`: ACK only that many batches in total, then never again (the agent's window fills);
- `mute_first`: the first connection answers HELLO, then never ACKs nor answers PING;
- `ssl_context`: serve TLS with this server context.
"""

from __future__ import annotations

import asyncio
import ssl
import threading
from dataclasses import dataclass, field
from typing import Any

from logship import wire
from logship.wire import ErrorCode, FrameDecoder, MsgType


@dataclass
class Received:
    id: str
    file: str
    path: str
    offset: int
    lines: list[bytes]
    offsets: list[int]
    truncated: int
    connection: int

    @property
    def end(self) -> int:
        """End offset, for files with `\\n` terminators (what the tests write)."""
        return self.offsets[-1] + len(self.lines[-1]) + 1


@dataclass
class FakeCollector:
    window: int = 8
    token: str | None = None
    group_acks: bool = False
    drop_after: int | None = None
    drop_with_error: int | None = None
    hold_after: int | None = None
    mute_first: bool = False
    ssl_context: ssl.SSLContext | None = None
    idle_ack_s: float = 0.2
    port: int = 0
    connections: int = 0
    hellos: list[dict[str, Any]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    acked: list[str] = field(default_factory=list)
    pings: list[int] = field(default_factory=list)  # connection number of each PING
    max_outstanding: int = 0
    _dropped: bool = False

    def __post_init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ lifecycle

    def __enter__(self) -> FakeCollector:
        self._thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._main())
        self._loop.close()

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        server = await asyncio.start_server(
            self._session, "127.0.0.1", self.port, ssl=self.ssl_context
        )
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        async with server:
            await self._stop.wait()
            server.close()
        for task in asyncio.all_tasks():
            if task is not asyncio.current_task():
                task.cancel()

    # ------------------------------------------------------------------ protocol

    def lines_acked(self) -> list[bytes]:
        """Every line of every ACKed batch, in file order."""
        with self._lock:
            by_id = {r.id: r for r in self.received}
            batches = sorted((by_id[i] for i in self.acked), key=lambda r: r.offset)
        return [line for r in batches for line in r.lines]

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with self._lock:
            self.connections += 1
            number = self.connections
        decoder = FrameDecoder()
        outstanding: list[str] = []
        timer: asyncio.TimerHandle | None = None

        def flush() -> None:
            ids = list(reversed(outstanding))
            outstanding.clear()
            for bid in ids:
                writer.write(wire.ack([bid]))
            with self._lock:
                self.acked.extend(ids)

        try:
            hello = False
            while True:
                data = await reader.read(65536)
                if not data:
                    return
                for kind, payload in decoder.feed(data):
                    msg = wire.decode(kind, payload)
                    if kind is MsgType.HELLO:
                        self.hellos.append(msg.body)
                        if self.token is not None and msg.body.get("token") != self.token:
                            writer.write(wire.error(ErrorCode.AUTH_FAILED, "token refused"))
                            await writer.drain()
                            writer.close()
                            return
                        hello = True
                        writer.write(wire.hello("collector", "fake", None, window=self.window))
                    elif kind is MsgType.PING:
                        with self._lock:
                            self.pings.append(number)
                        if not (self.mute_first and number == 1):
                            writer.write(wire.pong(msg.body.get("seq", 0)))
                    elif kind is MsgType.BATCH:
                        assert hello, "BATCH before HELLO"
                        b = msg.body
                        rec = Received(
                            b["id"],
                            b["file"],
                            b["path"],
                            b["offset"],
                            b["lines"],
                            b.get("offsets", []),
                            b.get("truncated", 0),
                            number,
                        )
                        with self._lock:
                            self.received.append(rec)
                            total = len(self.received)
                        outstanding.append(rec.id)
                        self.max_outstanding = max(self.max_outstanding, len(outstanding))
                        if (
                            self.drop_after is not None
                            and not self._dropped
                            and total >= self.drop_after
                        ):
                            self._dropped = True
                            if self.drop_with_error is None:
                                writer.transport.abort()
                            else:
                                writer.write(wire.error(self.drop_with_error, "try later"))
                                await writer.drain()
                                writer.close()
                            return
                        if self.mute_first and number == 1:
                            continue
                        if self.hold_after is not None:
                            allowed = self.hold_after - len(self.acked)
                            if allowed > 0:
                                outstanding.pop()
                                writer.write(wire.ack([rec.id]))
                                with self._lock:
                                    self.acked.append(rec.id)
                        elif not self.group_acks or len(outstanding) >= self.window:
                            flush()
                if self.group_acks and outstanding:
                    if timer is not None:
                        timer.cancel()
                    timer = asyncio.get_running_loop().call_later(self.idle_ack_s, flush)
                await writer.drain()
        except (ConnectionError, ssl.SSLError, asyncio.CancelledError):
            return
        finally:
            if timer is not None:
                timer.cancel()
            writer.close()
