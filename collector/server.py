"""The collector's network shell: asyncio (uvloop when available) server for agents.

Each connection runs a `Session` (pure protocol state). A BATCH is copied into a free
shared-memory slot and handed to the pre-filter pool; its ACK is written only when the pool
reports the cleaned batch published (broker-confirmed). When every slot is busy, the reader
of every connection waits for a slot, so no socket is read (backpressure; nothing queues
without a bound). SIGTERM/SIGINT: stop accepting, stop reading, let in-flight batches finish
within `shutdown_timeout_s` (their ACKs are still sent), tell agents SHUTTING_DOWN, exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import signal
import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from collector import metrics
from collector.config import CollectorConfig
from collector.errors import PoolError
from collector.pool import PrefilterPool
from collector.session import Close, Send, Session, State, Submit
from collector.shm import Arena, Slots
from logship.wire import ErrorCode

log = logging.getLogger("logship.collector")
READ_BYTES = 256 * 1024


def make_ssl_context(cfg: CollectorConfig) -> ssl.SSLContext | None:
    """Server TLS context; client certificates are required when tls_client_ca_file is set."""
    if cfg.tls_cert_file is None or cfg.tls_key_file is None:
        return None
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(str(cfg.tls_cert_file), str(cfg.tls_key_file))
    if cfg.tls_client_ca_file is not None:
        ctx.load_verify_locations(cafile=str(cfg.tls_client_ca_file))
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


@dataclass(eq=False)
class _Conn:
    session: Session
    writer: asyncio.StreamWriter
    peer: str
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    read_task: asyncio.Task[None] | None = None


class Collector:
    """The running collector: listener, arena, pool and metrics endpoint."""

    def __init__(self, cfg: CollectorConfig) -> None:
        self.cfg = dataclasses.replace(cfg)  # start() resolves paths; the caller's stays as is
        self.hostname = socket.gethostname()
        self.arena: Arena | None = None
        self.slots: Slots | None = None
        self.pool: PrefilterPool | None = None
        self._server: asyncio.Server | None = None
        self._metrics_server: asyncio.Server | None = None
        self._conns: set[_Conn] = set()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._stopping = False
        self._deadline = time.monotonic()
        self._ssl = make_ssl_context(cfg)

    # ------------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    @property
    def metrics_port(self) -> int | None:
        if self._metrics_server is None:
            return None
        return int(self._metrics_server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        cfg = self.cfg
        cfg.storage_path = Path(cfg.storage_path).resolve()
        cfg.broker_dir = Path(cfg.broker_dir).resolve()
        cfg.storage_path.mkdir(parents=True, exist_ok=True)
        self.arena = Arena(cfg.slots, cfg.slot_bytes)
        self.slots = Slots(cfg.slots)
        metrics.SLOTS_TOTAL.set(cfg.slots)
        self.pool = PrefilterPool(cfg, self.arena.name, cfg.slot_bytes)
        try:
            await self.pool.warm_up()
            log.info("Pre-filter pool ready. processes=%d", self.pool.processes)
            if cfg.metrics_port:
                self._metrics_server = await asyncio.start_server(
                    self._http, cfg.metrics_host, cfg.metrics_port
                )
            self._server = await asyncio.start_server(
                self._accept, cfg.host, cfg.port, ssl=self._ssl, limit=READ_BYTES, backlog=512
            )
        except BaseException:
            await self._release()
            raise
        log.info(
            "Collector listening on %s:%d. loop=%s tls=%s auth=%s metrics=%s",
            cfg.host,
            self.port,
            type(asyncio.get_running_loop()).__module__.split(".")[0],
            self._ssl is not None,
            bool(cfg.tokens),
            self.metrics_port or "off",
        )

    async def stop(self) -> None:
        """Graceful stop: no new connections, no new batches, in-flight ones finish."""
        if self._stopping:
            return
        self._stopping = True
        self._deadline = time.monotonic() + self.cfg.shutdown_timeout_s
        log.info("Collector stopping. connections=%d", len(self._conns))
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns):
            if conn.read_task is not None:
                conn.read_task.cancel()
        if self._handlers:
            _done, pending = await asyncio.wait(
                set(self._handlers), timeout=max(0.1, self._deadline - time.monotonic())
            )
            for task in pending:
                task.cancel()
        await self._release()
        log.info("Collector stopped.")

    async def _release(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 2)
        if self._metrics_server is not None:
            self._metrics_server.close()
        if self.pool is not None:
            remaining = max(1.0, self._deadline - time.monotonic())
            await asyncio.get_running_loop().run_in_executor(None, self.pool.close, remaining)
        if self.arena is not None:
            self.arena.close()

    # ------------------------------------------------------------------ connections
    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        peername = writer.get_extra_info("peername")
        peer = f"{peername[0]}:{peername[1]}" if isinstance(peername, tuple) else str(peername)
        cfg = self.cfg
        session = Session(
            tokens=tuple(cfg.tokens),
            window=cfg.window_batches,
            max_frame_bytes=cfg.max_frame_bytes,
            server_hostname=self.hostname,
        )
        conn = _Conn(session, writer, peer)
        self._conns.add(conn)
        metrics.CONNECTIONS.inc()
        metrics.CONNECTIONS_OPEN.inc()
        try:
            if self._stopping:
                self._perform(conn, session.shutting_down())
                return
            conn.read_task = asyncio.create_task(self._read_loop(conn, reader))
            with contextlib.suppress(asyncio.CancelledError):
                await conn.read_task
            if conn.tasks:  # in-flight batches: their ACKs (or ERRORs) still go out
                await asyncio.wait(set(conn.tasks), timeout=self._wait_budget())
            if self._stopping:
                self._perform(conn, session.shutting_down())
        except Exception:  # noqa: BLE001 - one connection's bug must not stop the server
            log.exception("Connection handler failed. peer=%s", peer)
        finally:
            self._conns.discard(conn)
            metrics.CONNECTIONS_OPEN.dec()
            await self._close_writer(writer)
            self._handlers.discard(task)
            log.info(
                "Agent disconnected. peer=%s agent=%s reason=%s",
                peer,
                session.agent or "-",
                session.close_reason or "closed",
            )

    def _wait_budget(self) -> float:
        """How long a connection may still wait for its in-flight batches."""
        if self._stopping:
            return max(0.1, self._deadline - time.monotonic() - 0.5)
        return self.cfg.publish_timeout_s + 60

    async def _close_writer(self, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(Exception):
            if not writer.is_closing():
                await asyncio.wait_for(writer.drain(), 5)
            writer.close()
            await asyncio.wait_for(writer.wait_closed(), 5)

    async def _read_loop(self, conn: _Conn, reader: asyncio.StreamReader) -> None:
        session = conn.session
        hello_by = time.monotonic() + self.cfg.hello_timeout_s
        while not session.closed:
            try:
                if session.state is State.AWAIT_HELLO:
                    remaining = max(0.0, hello_by - time.monotonic())
                    data = await asyncio.wait_for(reader.read(READ_BYTES), remaining)
                else:
                    data = await reader.read(READ_BYTES)
            except TimeoutError:
                self._perform(conn, session.hello_timeout(self.cfg.hello_timeout_s))
                break
            except (ConnectionError, ssl.SSLError, OSError):
                data = b""
            actions = session.feed(data) if data else session.eof()
            for action in actions:
                if isinstance(action, Submit):
                    await self._submit(conn, action)
                else:
                    self._perform(conn, [action])
            if not conn.writer.is_closing():
                try:
                    await conn.writer.drain()
                except (ConnectionError, OSError):
                    session.eof()

    def _perform(self, conn: _Conn, actions: list[Any]) -> None:
        """Write frames and close; never awaits (safe from batch-completion tasks)."""
        for action in actions:
            if isinstance(action, Send):
                if action.data[3] == 4:  # ERROR frame: count it by code
                    metrics.PROTOCOL_ERRORS.labels(code=_error_name(action.data)).inc()
                if not conn.writer.is_closing():
                    conn.writer.write(action.data)
            elif isinstance(action, Close):
                if not conn.writer.is_closing():
                    # let the ERROR frame go out, then close
                    conn.writer.write_eof() if conn.writer.can_write_eof() else None
                if conn.read_task is not None and conn.read_task is not asyncio.current_task():
                    conn.read_task.cancel()

    async def _submit(self, conn: _Conn, action: Submit) -> None:
        assert self.slots is not None and self.arena is not None
        ref = action.batch
        metrics.BATCHES_RECEIVED.inc()
        metrics.LINES_RECEIVED.inc(ref.lines)
        slot = await self.slots.acquire()  # waits while the pool is saturated: backpressure
        metrics.POOL_QUEUE_DEPTH.set(self.slots.in_use)
        try:
            length = self.arena.write(slot, ref.payload)
        except Exception:
            self.slots.release(slot)
            raise
        meta = {
            "batch_id": ref.batch_id,
            "agent": ref.agent,
            "hostname": ref.hostname,
            "received_at": time.time(),
        }
        task = asyncio.create_task(self._run_batch(conn, slot, length, meta))
        conn.tasks.add(task)
        task.add_done_callback(conn.tasks.discard)

    async def _run_batch(self, conn: _Conn, slot: int, length: int, meta: dict[str, Any]) -> None:
        assert self.pool is not None and self.slots is not None
        batch_id = meta["batch_id"]
        try:
            result = await self.pool.process(slot, length, meta)
        except PoolError as exc:
            result = {"ok": False, "code": int(ErrorCode.UNAVAILABLE), "error": str(exc)}
        except Exception as exc:  # noqa: BLE001
            log.exception("Batch failed in the pool. batch=%s", batch_id)
            result = {"ok": False, "code": int(ErrorCode.INTERNAL), "error": repr(exc)}
        finally:
            self.slots.release(slot)
            metrics.POOL_QUEUE_DEPTH.set(self.slots.in_use)
        if result.get("ok"):
            metrics.BATCHES_PUBLISHED.inc()
            metrics.EVENTS_PUBLISHED.inc(result.get("events", 0))
            metrics.PUBLISH_SECONDS.observe(result.get("publish_s", 0.0))
            for reason, count in (result.get("drops") or {}).items():
                metrics.LINES_DROPPED.labels(reason=reason).inc(count)
            if result.get("truncated"):
                metrics.LINES_TRUNCATED.inc(result["truncated"])
            if result.get("archive_error"):
                metrics.ARCHIVE_ERRORS.inc()
            self._perform(conn, conn.session.batch_done(batch_id))
        else:
            code = int(result.get("code", ErrorCode.INTERNAL))
            metrics.BATCHES_FAILED.labels(reason=ErrorCode(code).name).inc()
            log.warning(
                "Batch not made safe; agent told to resend. batch=%s peer=%s error=%s",
                batch_id,
                conn.peer,
                result.get("error"),
            )
            message = f"batch not stored, resend it later: {result.get('error', 'unknown error')}"
            self._perform(conn, conn.session.batch_failed([batch_id], code, message[:500]))

    # ------------------------------------------------------------------ metrics / health
    async def _http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else "/"
            if path.startswith("/metrics"):
                status, ctype, body = "200 OK", "text/plain; version=0.0.4", metrics.render()
            elif path.startswith("/healthz"):
                healthy = self._server is not None and not self._stopping
                status = "200 OK" if healthy else "503 Service Unavailable"
                ctype, body = "text/plain", b"ok\n" if healthy else b"stopping\n"
            else:
                status, ctype, body = "404 Not Found", "text/plain", b"not found\n"
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\n"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, OSError):
            pass
        finally:
            writer.close()


def _error_name(frame: bytes) -> str:
    import msgpack

    try:
        code = msgpack.unpackb(frame[8:], raw=False)["code"]
        return ErrorCode(code).name
    except Exception:  # noqa: BLE001
        return "UNKNOWN"


async def serve(
    cfg: CollectorConfig,
    *,
    ready: asyncio.Event | None = None,
    stop: asyncio.Event | None = None,
    install_signals: bool = True,
    started: list[Collector] | None = None,
) -> int:
    """Run a collector until `stop` is set or SIGTERM/SIGINT arrives; return the exit code.

    `ready` is set once the pool is warm and the port is bound; `started` (a list) receives
    the `Collector` so that callers can read `.port` when they asked for port 0.
    """
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    # Handlers first: a SIGTERM that comes as soon as "listening" is logged must stop the
    # collector gracefully, not kill it with the default action.
    installed: list[signal.Signals] = []
    if install_signals:
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, stop.set)
                installed.append(sig)
    collector = Collector(cfg)
    try:
        await collector.start()
    except BaseException:
        for sig in installed:
            loop.remove_signal_handler(sig)
        raise
    if started is not None:
        started.append(collector)
    if ready is not None:
        ready.set()
    try:
        await stop.wait()
    finally:
        for sig in installed:
            loop.remove_signal_handler(sig)
        await collector.stop()
    return 0


def run(cfg: CollectorConfig) -> int:
    """Run `serve` on uvloop when importable, plain asyncio otherwise."""
    try:
        import uvloop

        factory: Any = uvloop.new_event_loop
    except ImportError:  # pragma: no cover - uvloop is a server dependency
        factory = None
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(serve(cfg))
