"""End-to-end tests of the workers through a real Celery worker subprocess, the real broker
and the real PostgreSQL: publish like the collector does, poll the database until stored."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

import asyncpg
import pytest

from logship.records import CleanBatch, Event
from workers.celery_app import STORE_TASK, make_celery

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
RECEIVED = 1_764_400_000.5


def make_message(batch_id: str, events: int = 5) -> dict[str, Any]:
    evs = [
        Event(offset=10 * i, line_count=1, message=f"{batch_id} line {i}", level="info")
        for i in range(events)
    ]
    return CleanBatch(
        batch_id=batch_id,
        agent="agent-e2e",
        hostname="web1",
        path="/var/log/e2e.log",
        file_id="1:2:fp",
        first_offset=0,
        received_at=RECEIVED,
        lines_received=events + 1,
        events=evs,
        drops={"blank": 1},
    ).to_message()


def query(url: str, sql: str, *args: Any) -> Any:
    async def go() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(sql, *args)
        finally:
            await conn.close()

    return asyncio.run(go())


def wait_for(what: str, check: Callable[[], bool], worker: Worker, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check():
            return
        if worker.proc.poll() is not None:
            pytest.fail(f"worker exited with {worker.proc.returncode}:\n{worker.output()}")
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}; worker output:\n{worker.output()}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Proxy:
    """A TCP forwarder to PostgreSQL that can be started late and cut on purpose."""

    def __init__(self, port: int, upstream: str | tuple[str, int]) -> None:
        self.port = port
        self.upstream = upstream
        self.listener: socket.socket | None = None
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(16)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                if isinstance(self.upstream, str):
                    server = socket.socket(socket.AF_UNIX)
                    server.connect(self.upstream)
                else:
                    server = socket.create_connection(self.upstream)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.conns += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                with contextlib.suppress(OSError):
                    s.shutdown(socket.SHUT_RDWR)

    def stop(self) -> None:
        """Refuse new connections and cut every open one."""
        if self.listener is not None:
            with contextlib.suppress(OSError):
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept thread
            self.listener.close()
            self.listener = None
        with self.lock:
            conns, self.conns = self.conns, []
        for s in conns:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()


class Worker:
    def __init__(self, proc: subprocess.Popen[bytes], log: Path) -> None:
        self.proc = proc
        self.log = log

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-6000:]


@pytest.fixture
def start_worker(
    broker_url: str, broker_dir: Path, queue_name: str, tmp_path: Path
) -> Iterator[Callable[..., Worker]]:
    """Start `celery -A workers worker` on this test's queue; stopped with SIGTERM after."""
    started: list[Worker] = []

    def start(database_url: str, *celery_args: str, cli: bool = False, **env: str) -> Worker:
        log = tmp_path / f"worker-{len(started)}.log"
        environ = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "LOGSHIP_DATABASE_URL": database_url,
            "BROKER_URL": broker_url,
            "LOGSHIP_BROKER_DIR": str(broker_dir),
            "LOGSHIP_QUEUE": queue_name,
            "LOGSHIP_RETRY_BACKOFF_BASE_S": "0.2",
            "LOGSHIP_RETRY_BACKOFF_MAX_S": "1",
            "LOGSHIP_DB_CONNECT_TIMEOUT_S": "3",
            **env,
        }
        argv = [sys.executable, "-m", "workers"]
        if not cli:
            argv = [sys.executable, "-m", "celery", "-A", "workers", "worker"]
        argv += ["-Q", queue_name]
        argv += ["-n", f"{queue_name}-{len(started)}@%h", "--without-gossip", "--without-mingle"]
        argv += ["--loglevel=INFO", *(celery_args or ("--pool=solo",))]
        with log.open("wb") as out:
            proc = subprocess.Popen(argv, cwd=tmp_path, env=environ, stdout=out, stderr=out)
        worker = Worker(proc, log)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.proc.poll() is None:
            worker.proc.terminate()
    for worker in started:
        try:
            worker.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            worker.proc.kill()
            worker.proc.wait()


@pytest.fixture
def publish(broker_url: str, broker_dir: Path, queue_name: str) -> Iterator[Callable[..., None]]:
    """Publish messages the way the collector does."""
    app = make_celery(broker_url, broker_dir, queue_name)

    def send(message: Any) -> None:
        app.send_task(STORE_TASK, args=[message], queue=queue_name)

    yield send
    app.close()


def stored(url: str, batch_id: str) -> bool:
    return bool(query(url, "SELECT count(*) FROM ingest_batches WHERE batch_id = $1", batch_id))


@pytest.mark.parametrize("cli", [False, True], ids=["celery-A-workers", "python-m-workers"])
def test_worker_stores_published_batch(
    clean_db: str, start_worker: Callable[..., Worker], publish: Callable[..., None], cli: bool
) -> None:
    """A batch published to the queue is stored with its rows by a worker started either as
    `celery -A workers worker` or as `python -m workers` (= `logship-worker`)."""
    worker = start_worker(clean_db, cli=cli)
    publish(make_message("e2e-1", events=7))
    wait_for("batch e2e-1", lambda: stored(clean_db, "e2e-1"), worker)
    assert query(clean_db, "SELECT count(*) FROM log_events WHERE batch_id = 'e2e-1'") == 7
    assert query(clean_db, "SELECT sum(lines) FROM ingest_drops WHERE batch_id = 'e2e-1'") == 1


def test_same_message_twice_stored_once(
    clean_db: str, start_worker: Callable[..., Worker], publish: Callable[..., None]
) -> None:
    """The same message published twice is stored once; a malformed one goes to dead_letters."""
    worker = start_worker(clean_db)
    message = make_message("dup-1")
    publish(message)
    publish(message)
    publish({"v": 1, "id": "broken-1"})
    publish(make_message("after-1"))
    wait_for("batch after-1", lambda: stored(clean_db, "after-1"), worker)
    wait_for(
        "the duplicate and the dead letter",
        lambda: (
            "already stored" in worker.output()
            and bool(query(clean_db, "SELECT count(*) FROM dead_letters"))
        ),
        worker,
    )
    assert query(clean_db, "SELECT count(*) FROM log_events WHERE batch_id = 'dup-1'") == 5
    assert query(clean_db, "SELECT count(*) FROM ingest_batches") == 2
    assert query(clean_db, "SELECT batch_id FROM dead_letters") == "broken-1"


def _proxy_for(url: str) -> tuple[Proxy, str]:
    """A (not yet listening) proxy to the database of `url`, and the URL that goes through it.
    A Unix-socket URL (`?host=/dir`, as pgserver gives) is proxied over TCP too."""
    parts = urlsplit(url)
    query_args = parse_qs(parts.query)
    socket_dir = (query_args.pop("host", [""]) or [""])[0]
    port = parts.port or 5432
    if socket_dir.startswith("/"):
        upstream: str | tuple[str, int] = f"{socket_dir}/.s.PGSQL.{port}"
    else:
        upstream = (parts.hostname or "127.0.0.1", port)
    proxy = Proxy(free_port(), upstream)
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    proxied = urlunsplit(
        (
            parts.scheme,
            f"{userinfo}127.0.0.1:{proxy.port}",
            parts.path,
            urlencode(query_args, doseq=True),
            parts.fragment,
        )
    )
    return proxy, proxied


@pytest.mark.parametrize("wait_in_task", ["true", "false"], ids=["wait-in-task", "countdown"])
def test_database_down_then_up_nothing_lost(
    clean_db: str,
    start_worker: Callable[..., Worker],
    publish: Callable[..., None],
    wait_in_task: str,
) -> None:
    """With PostgreSQL unreachable the worker retries (waiting in the task, or with a Celery
    countdown); once reachable every batch is stored once. Then connections are cut mid-run
    and restored: again nothing is lost."""
    proxy, proxied_url = _proxy_for(clean_db)
    worker = start_worker(proxied_url, LOGSHIP_RETRY_WAIT_IN_TASK=wait_in_task)
    try:
        for i in range(4):
            publish(make_message(f"down-{i}"))
        wait_for("a retry", lambda: "retry" in worker.output(), worker)
        assert query(clean_db, "SELECT count(*) FROM ingest_batches") == 0
        proxy.start()
        wait_for(
            "all four batches",
            lambda: query(clean_db, "SELECT count(*) FROM ingest_batches") == 4,
            worker,
        )
        retries_before = worker.output().count("retry")
        proxy.stop()
        for i in range(3):
            publish(make_message(f"cut-{i}"))
        wait_for(
            "a retry after the cut", lambda: worker.output().count("retry") > retries_before, worker
        )
        proxy.start()
        wait_for(
            "all seven batches",
            lambda: query(clean_db, "SELECT count(*) FROM ingest_batches") == 7,
            worker,
        )
    finally:
        proxy.stop()
    assert query(clean_db, "SELECT count(*) FROM log_events") == 35
    assert query(clean_db, "SELECT count(*) FROM dead_letters") == 0


def test_prefork_worker_stores_each_batch_once_and_serves_metrics_and_health(
    clean_db: str, start_worker: Callable[..., Worker], publish: Callable[..., None]
) -> None:
    """A prefork worker with two processes stores 20 batches published at once, each once;
    its metrics endpoint sums the counters of both processes and /healthz answers ok."""
    port = free_port()
    worker = start_worker(
        clean_db, "--pool=prefork", "--concurrency=2", LOGSHIP_METRICS_PORT=str(port)
    )
    ids = [f"pf-{i}-{uuid.uuid4().hex[:6]}" for i in range(20)]
    for batch_id in ids:
        publish(make_message(batch_id, events=3))
    publish(make_message(ids[0], events=3))
    wait_for(
        "20 batches",
        lambda: query(clean_db, "SELECT count(*) FROM ingest_batches") == 20,
        worker,
    )
    assert query(clean_db, "SELECT count(*) FROM log_events") == 60

    def metric(name: str) -> float:
        body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read()
        for line in body.decode().splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return 0.0

    wait_for(
        "metrics",
        lambda: (
            metric("logship_worker_batches_stored_total") == 20
            and metric("logship_worker_batches_duplicate_total") == 1
        ),
        worker,
    )
    assert metric("logship_worker_rows_copied_total") == 60
    health = urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5)
    assert health.status == 200 and b'"ok"' in health.read()


def test_status_sees_batches_a_worker_holds(
    clean_db: str,
    start_worker: Callable[..., Worker],
    publish: Callable[..., None],
    broker_url: str,
    broker_dir: Path,
    queue_name: str,
) -> None:
    """A batch a worker holds (retrying while PostgreSQL is unreachable) is no longer in the
    broker's queue, yet `logship status` counts it over remote control and is not idle; once
    stored, nothing is held. (The filesystem broker has no remote control: None there.)"""
    from logship.status import Status, read_in_progress, read_queue_depth

    proxy, proxied_url = _proxy_for(clean_db)
    worker = start_worker(proxied_url, "--pool=prefork", "--concurrency=1")
    try:
        publish(make_message("held-1"))
        wait_for("a retry", lambda: "retry" in worker.output(), worker)
        if broker_url.startswith("filesystem"):
            assert read_in_progress(broker_url, broker_dir, queue_name) is None
        else:
            wait_for(
                "the batch held by the worker",
                lambda: (read_in_progress(broker_url, broker_dir, queue_name) or 0) >= 1,
                worker,
            )
            status = Status(
                queued_batches=read_queue_depth(broker_url, broker_dir, queue_name),
                in_progress_batches=read_in_progress(broker_url, broker_dir, queue_name),
                seconds_since_last_store=None,
            )
            assert not status.idle
        proxy.start()
        wait_for("the batch stored", lambda: stored(clean_db, "held-1"), worker)
        if not broker_url.startswith("filesystem"):
            wait_for(
                "nothing held",
                lambda: read_in_progress(broker_url, broker_dir, queue_name) == 0,
                worker,
            )
    finally:
        proxy.stop()
