"""Helpers for the collector's integration tests: a collector subprocess, a raw-socket agent
built on `logship.wire` only, and a consumer of the Celery queue."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import msgpack

from logship import wire
from logship.wire import MsgType
from tests.integration.full_disk import on_small_disk

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"Collector listening on [^ ]+:(\d+)\.")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class CollectorProcess:
    """`python -m collector` on 127.0.0.1 and a free port, logging to a file."""

    def __init__(
        self,
        workdir: Path,
        broker_url: str,
        broker_dir: Path,
        queue: str,
        *args: str,
        env: dict[str, str] | None = None,
        storage_bytes: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.storage_bytes = storage_bytes  # storage_path on a tmpfs this small: a full disk
        self.storage = workdir / "received"
        self.log_path = workdir / "collector.log"
        self.metrics_port = free_port()
        self.argv = [
            sys.executable,
            "-m",
            "collector",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--storage-path",
            str(self.storage),
            "--broker-url",
            broker_url,
            "--broker-dir",
            str(broker_dir),
            "--queue",
            queue,
            "--pool-processes",
            "2",
            "--metrics-port",
            str(self.metrics_port),
            *args,
        ]
        if storage_bytes is not None:  # a real full disk under storage_path
            self.argv = on_small_disk(self.storage, storage_bytes, self.argv)
        self.env = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
        self.proc: subprocess.Popen[bytes] | None = None
        self.port = 0

    def start(self, timeout: float = 60) -> CollectorProcess:
        self.workdir.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        self.proc = subprocess.Popen(
            self.argv,
            cwd=self.workdir,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            m = LISTENING.search(self.log_path.read_text(errors="replace"))
            if m:
                self.port = int(m.group(1))
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"collector exited {self.proc.returncode}:\n{self.log()}")
            time.sleep(0.05)
        raise RuntimeError(f"collector did not start:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 30) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        return int(self.proc.returncode)

    def pool_pids(self) -> list[int]:
        """PIDs of the pool processes (children running multiprocessing's spawn_main)."""
        assert self.proc is not None
        pids = []
        children: list[str] = []
        for task in Path(f"/proc/{self.proc.pid}/task").iterdir():
            try:
                children += (task / "children").read_text().split()
            except FileNotFoundError:  # the thread ended meanwhile
                continue
        for pid in children:
            cmd = Path(f"/proc/{pid}/cmdline").read_bytes()
            if b"spawn_main" in cmd and b"resource_tracker" not in cmd:
                pids.append(int(pid))
        return pids

    def http(self, path: str) -> tuple[int, str]:
        url = f"http://127.0.0.1:{self.metrics_port}{path}"
        try:
            with urllib.request.urlopen(url, timeout=10) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def metric(self, name: str) -> float:
        _, text = self.http("/metrics")
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name + " ") or line.startswith(name + "{"):
                total += float(line.rsplit(" ", 1)[1])
        return total


class Agent:
    """A minimal agent speaking the wire protocol over a plain socket."""

    def __init__(self, port: int, timeout: float = 30, tls: ssl.SSLContext | None = None) -> None:
        sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls is not None:
            try:
                sock = tls.wrap_socket(sock, server_hostname="127.0.0.1")
            except BaseException:
                sock.close()
                raise
        self.sock = sock
        self.decoder = wire.FrameDecoder()
        self.pending: list[tuple[MsgType, dict[str, Any]]] = []

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def recv(self) -> tuple[MsgType, dict[str, Any]] | None:
        """The next message, or None when the collector closed the connection."""
        while not self.pending:
            try:
                data = self.sock.recv(65536)
            except (ConnectionResetError, ssl.SSLEOFError):
                return None
            if not data:
                return None
            for kind, body in self.decoder.feed(data):
                self.pending.append((kind, msgpack.unpackb(body, raw=False)))
        return self.pending.pop(0)

    def expect(self, kind: MsgType) -> dict[str, Any]:
        got = self.recv()
        assert got is not None, f"connection closed, expected {kind.name}"
        assert got[0] is kind, f"expected {kind.name}, got {got}"
        return got[1]

    def expect_closed(self) -> None:
        assert self.recv() is None

    def hello(
        self, agent: str = "agent-1", token: str | None = None, hostname: str = "web-1"
    ) -> dict:
        self.send(wire.hello(agent, hostname, token))
        return self.expect(MsgType.HELLO)

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def batch_id(n: int | str, prefix: str = "") -> str:
    import hashlib

    return hashlib.sha256(f"{prefix}|{n}|{time.time_ns()}".encode()).hexdigest()[:32]


def consume(
    broker_url: str, broker_dir: Path, queue: str, count: int, timeout: float = 30
) -> list[dict]:
    """Take `count` cleaned-batch records off the queue (acknowledging them)."""
    from workers.celery_app import make_celery

    app = make_celery(broker_url, broker_dir, queue)
    out: list[dict] = []
    with app.connection_for_read() as conn:
        q = conn.SimpleQueue(queue, accept=["msgpack"])
        try:
            deadline = time.monotonic() + timeout
            while len(out) < count:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    message = q.get(timeout=min(remaining, 1.0))
                except q.Empty:
                    continue
                assert message.headers["task"] == "logship.store_batch"
                args, _kwargs, _embed = message.decode()
                out.append(args[0])
                message.ack()
        finally:
            q.close()
    return out


def delete_queue(broker_url: str, broker_dir: Path, queue: str) -> None:
    if not broker_url.startswith(("amqp", "pyamqp")):
        return
    from workers.celery_app import make_celery

    app = make_celery(broker_url, broker_dir, queue)
    with app.connection_for_write() as conn:
        conn.default_channel.queue_delete(queue)


def make_certs(folder: Path) -> dict[str, Path]:
    """A throwaway CA, a server certificate for 127.0.0.1 and a client certificate (openssl)."""
    folder.mkdir(parents=True, exist_ok=True)

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    run(
        "req",
        "-x509",
        *key,
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=logship-test-ca",
    )
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        run("req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run(
            "x509",
            "-req",
            "-in",
            f"{name}.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            f"{name}.pem",
            "-days",
            "2",
            "-extfile",
            f"{name}.ext",
        )
    return {
        n: folder / n for n in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")
    }
