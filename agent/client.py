"""The connection to the collector: the agent's network I/O shell. asyncio, one event loop.

Design (asyncio, not threads): one task owns the connection. It connects (TLS optional) and
exchanges HELLO with the token (`agent.connect`), then runs a writer and a reader side by side.
Callers hand batches to `send(batch)`, which waits while the window of unacknowledged batches is
full (so a caller that reads files stops reading: the files are the buffer and memory stays
bounded at `window` batches). The reader matches ACKs to batches and calls `on_ack(batch)` once
per batch, in the order ACKs arrive (the caller's `AckTracker` makes checkpoints contiguous).

Connection problems (see `agent.errors.is_retriable`) close the connection; the task
reconnects with tenacity (exponential backoff with jitter) and re-sends **every** batch not
yet ACKed, in order (batch ids are deterministic, so the collector stores each once). Attempts
count from the last connection that got an ACK; after `max_attempts` (None = forever, as
`run` wants) the client fails with `CollectorUnreachable`. AUTH_FAILED and protocol errors
fail at once. Once failed, `send` and `drain` raise the error.

PING keepalive: after `ping_interval_s` without traffic the client sends PING; when nothing at
all (ACK, PONG, ...) arrives for `ack_timeout_s` while batches or a PING are outstanding, the
connection is abandoned and re-established (and the batches re-sent).

Threads (watchdog's observer) must hand work to this loop with `loop.call_soon_threadsafe`.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception,
    stop_after_attempt,
    stop_never,
    wait_exponential,
    wait_random,
)

from agent.batcher import Batch
from agent.config import AgentConfig
from agent.connect import handshake, make_ssl_context, open_connection
from agent.errors import (
    AckTimeout,
    AgentError,
    CollectorError,
    CollectorUnreachable,
    ConnectionClosed,
    collector_error,
    describe,
    is_retriable,
)
from logship import wire
from logship.errors import ProtocolError
from logship.wire import ErrorCode, FrameDecoder, MsgType

log = logging.getLogger("logship.agent.client")

OnAck = Callable[[Batch], None]


class CallbackError(AgentError):
    """The `on_ack` callback failed (for instance, the checkpoint could not be written)."""


@dataclass
class ClientStats:
    connections: int = 0  # successful HELLO exchanges
    reconnects: int = 0  # connections after the first
    frames_sent: int = 0  # BATCH frames written, re-sends included
    resent: int = 0  # BATCH frames written again after a reconnect
    acked: int = 0  # batches ACKed


@dataclass
class _InFlight:
    batch: Batch
    frame: bytes
    sends: int = 0
    session: int = -1  # the session that last wrote it


class Client:
    """Ships batches over one persistent connection; see the module doc."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        on_ack: OnAck | None = None,
        max_attempts: int | None = None,
        hostname: str | None = None,
    ) -> None:
        self.config = config
        self.on_ack = on_ack
        self.max_attempts = max_attempts
        self.host, self.port = config.address
        self.address = f"{self.host}:{self.port}"
        self.agent = config.agent
        self.hostname = hostname or socket.gethostname()
        self.ssl_context = make_ssl_context(config)
        self.window = config.window_batches  # lowered by the collector's HELLO
        self.server: dict[str, Any] = {}  # the collector's HELLO
        self.stats = ClientStats()
        self._pending: dict[str, _InFlight] = {}  # not yet ACKed, in send order
        self._unsent: deque[str] = deque()  # to write on the current connection
        self._on_wire = 0  # written on the current connection, not yet ACKed
        self._session = 0
        self._acked_in_session = 0
        self._attempt = 0
        self._wake = asyncio.Event()
        self._changed = asyncio.Condition()
        self._fatal: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._connected = False

    # -------------------------------------------------------------------------- public API

    @property
    def in_flight(self) -> int:
        """Batches handed to `send` and not ACKed yet."""
        return len(self._pending)

    @property
    def connected(self) -> bool:
        return self._connected

    @property
    def error(self) -> BaseException | None:
        """The error the client failed with, if it did."""
        return self._fatal

    def start(self) -> None:
        """Start connecting (`send` does it too)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="logship-client")

    async def send(self, batch: Batch) -> None:
        """Queue a batch; waits while the window is full. Raises the client's fatal error."""
        self.start()
        async with self._changed:
            await self._changed.wait_for(
                lambda: self._fatal is not None or len(self._pending) < self.window
            )
        if self._fatal is not None:
            raise self._fatal
        if batch.id in self._pending:
            return  # the same batch twice: it is already on its way
        self._pending[batch.id] = _InFlight(batch, batch.encode())
        self._unsent.append(batch.id)
        self._wake.set()

    async def wait_slot(self) -> None:
        """Wait until `send` would not block (or raise the fatal error)."""
        async with self._changed:
            await self._changed.wait_for(
                lambda: self._fatal is not None or len(self._pending) < self.window
            )
        if self._fatal is not None:
            raise self._fatal

    async def drain(self) -> None:
        """Wait until every batch handed to `send` is ACKed. Raises the fatal error."""
        if not self._pending and self._fatal is None:
            return
        self.start()
        async with self._changed:
            await self._changed.wait_for(lambda: self._fatal is not None or not self._pending)
        if self._fatal is not None:
            raise self._fatal

    async def close(self) -> None:
        """Close the connection (un-ACKed batches are simply not sent any more)."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    # -------------------------------------------------------------------------- connection task

    async def _run(self) -> None:
        stop = stop_never if self.max_attempts is None else stop_after_attempt(self.max_attempts)
        # Exponential backoff plus jitter; built from primitives that tenacity 8.2 and 9.x share.
        initial = self.config.retry_backoff_initial_s
        wait = wait_exponential(
            multiplier=initial, max=self.config.retry_backoff_max_s
        ) + wait_random(0, initial)
        try:
            while True:
                self._attempt = 0
                retrying = AsyncRetrying(
                    sleep=asyncio.sleep,
                    stop=stop,
                    wait=wait,
                    retry=retry_if_exception(is_retriable),
                    before_sleep=self._before_sleep,
                    reraise=True,
                )
                await retrying(self._one_connection)
        except asyncio.CancelledError:
            raise
        except BaseException as exc:  # noqa: BLE001 - every failure ends up in `send`/`drain`
            if is_retriable(exc):
                exc = CollectorUnreachable(self.address, self._attempt, exc)
            await self._fail(exc)

    def _before_sleep(self, state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        limit = "" if self.max_attempts is None else f" of {self.max_attempts}"
        what = "is not accepting batches" if isinstance(exc, CollectorError) else "unreachable"
        log.warning(
            "Collector %s %s (%s); %d batches waiting, nothing lost; "
            "retrying in %.1f s (attempt %d%s).",
            self.address,
            what,
            describe(exc),
            len(self._pending),
            delay,
            state.attempt_number + 1,
            limit,
        )

    async def _fail(self, exc: BaseException) -> None:
        self._fatal = exc
        async with self._changed:
            self._changed.notify_all()

    async def _one_connection(self) -> None:
        """One connection, from connect to its end. Returns normally when the connection was
        lost after some progress (the caller reconnects with a fresh retry budget)."""
        self._attempt += 1
        self._session += 1
        self._acked_in_session = 0
        writer: asyncio.StreamWriter | None = None
        tasks: list[asyncio.Task[None]] = []
        try:
            reader, conn = await asyncio.wait_for(
                open_connection(self.host, self.port, self.ssl_context, self.config),
                self.config.connect_timeout_s,
            )
            writer = conn
            decoder = FrameDecoder()
            leftover = await asyncio.wait_for(
                self._handshake(reader, conn, decoder), self.config.connect_timeout_s
            )
            self._connected = True
            self.stats.connections += 1
            if self.stats.connections > 1:
                self.stats.reconnects += 1
            self._unsent = deque(self._pending)
            self._on_wire = 0
            resend = sum(1 for item in self._pending.values() if item.sends)
            if resend:
                log.warning(
                    "Connected to collector %s again; re-sending %d un-ACKed batches.",
                    self.address,
                    resend,
                )
            else:
                log.info("Connected to collector %s (window %d).", self.address, self.window)
            self._wake.set()
            tasks = [
                asyncio.create_task(self._write_loop(conn)),
                asyncio.create_task(self._read_loop(reader, conn, decoder, leftover)),
            ]
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                task.result()  # raises the error that ended the connection
            raise ConnectionClosed("connection ended")  # not reached: both loops run forever
        except BaseException as exc:
            if (
                not isinstance(exc, asyncio.CancelledError)
                and is_retriable(exc)
                and self._acked_in_session
            ):
                log.warning(
                    "Lost the connection to collector %s (%s); reconnecting, %d un-ACKed "
                    "batches will be re-sent.",
                    self.address,
                    describe(exc),
                    len(self._pending),
                )
                return
            raise
        finally:
            self._connected = False
            for task in tasks:
                task.cancel()
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)
            if writer is not None:
                writer.close()

    async def _handshake(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, decoder: FrameDecoder
    ) -> list[tuple[MsgType, bytes]]:
        hello = wire.hello(self.agent, self.hostname, self.config.token)
        self.server, leftover = await handshake(reader, writer, decoder, hello)
        server_window = int(self.server.get("window") or 0)
        self.window = (
            min(self.config.window_batches, server_window)
            if server_window > 0
            else self.config.window_batches
        )
        async with self._changed:
            self._changed.notify_all()
        return leftover

    async def _write_loop(self, writer: asyncio.StreamWriter) -> None:
        while True:
            while not self._unsent or self._on_wire >= self.window:
                self._wake.clear()
                await self._wake.wait()
            item = self._pending.get(self._unsent.popleft())
            if item is None:
                continue  # ACKed meanwhile
            if item.sends:
                self.stats.resent += 1
            item.sends += 1
            item.session = self._session
            self._on_wire += 1
            self.stats.frames_sent += 1
            writer.write(item.frame)
            await writer.drain()

    async def _read_loop(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        decoder: FrameDecoder,
        leftover: list[tuple[MsgType, bytes]],
    ) -> None:
        cfg = self.config
        last_rx = time.monotonic()
        ping_seq = 0
        ping_out = False
        frames = leftover
        while True:
            for kind, payload in frames:
                if kind is MsgType.PONG:
                    ping_out = False
                await self._handle(wire.decode(kind, payload), writer)
            try:
                data = await asyncio.wait_for(
                    reader.read(65536), min(cfg.ping_interval_s, cfg.ack_timeout_s)
                )
            except TimeoutError:
                idle = time.monotonic() - last_rx
                if (self._on_wire or ping_out) and idle >= cfg.ack_timeout_s:
                    raise AckTimeout(
                        f"no answer from the collector for {idle:.0f} s "
                        f"({self._on_wire} batches un-ACKed)"
                    ) from None
                if not ping_out and idle >= cfg.ping_interval_s:
                    ping_seq += 1
                    ping_out = True
                    writer.write(wire.ping(ping_seq))
                frames = []
                continue
            if not data:
                raise ConnectionClosed("collector closed the connection")
            last_rx = time.monotonic()
            frames = decoder.feed(data)

    async def _handle(self, msg: wire.Message, writer: asyncio.StreamWriter) -> None:
        kind, body = msg.type, msg.body
        if kind is MsgType.ACK:
            acked = 0
            for bid in body["ids"]:
                item = self._pending.pop(bid, None)
                if item is None:
                    continue  # unknown or already ACKed (a re-sent batch ACKed twice)
                acked += 1
                if item.session == self._session:
                    self._on_wire -= 1
                self.stats.acked += 1
                self._acked_in_session += 1
                if self.on_ack is not None:
                    try:
                        self.on_ack(item.batch)
                    except Exception as exc:
                        raise CallbackError(f"handling an ACK failed: {exc}") from exc
            if acked:
                self._wake.set()
                async with self._changed:
                    self._changed.notify_all()
        elif kind is MsgType.ERROR:
            raise collector_error(body["code"], body["message"], body.get("ids"))
        elif kind is MsgType.PING:
            writer.write(wire.pong(int(body.get("seq", 0))))
        elif kind is MsgType.PONG:
            pass
        else:
            raise ProtocolError(ErrorCode.UNEXPECTED, f"collector sent {kind.name}")
