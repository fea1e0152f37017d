"""The collector under faults: broker down, a pool process killed, SIGTERM, a saturated pool,
a disk that refuses writes. Never an ACK for a batch that is not in the broker."""

from __future__ import annotations

import os
import signal
import socket
import time
import uuid
from pathlib import Path

import pytest

from logship import wire
from logship.wire import ErrorCode, MsgType
from tests.integration.collector_harness import (
    Agent,
    CollectorProcess,
    batch_id,
    consume,
    delete_queue,
    free_port,
)

pytestmark = pytest.mark.integration


def dead_broker() -> str:
    """An AMQP URL where nothing listens: every publish fails to connect."""
    return f"amqp://guest:guest@127.0.0.1:{free_port()}//"


def wait_for(predicate, timeout: float = 30, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return False


def test_broker_down_means_unavailable_never_ack(tmp_path: Path, broker_dir: Path) -> None:
    """With the broker unreachable the batch is answered ERROR UNAVAILABLE naming it (after
    retrying for publish_timeout_s), never ACK, and the collector keeps running."""
    proc = CollectorProcess(
        tmp_path, dead_broker(), broker_dir, "q", env={"LOGSHIP_PUBLISH_TIMEOUT_S": "1"}
    ).start()
    try:
        with Agent(proc.port) as agent:
            agent.hello()
            bid = batch_id("down")
            agent.send(wire.batch(bid, "/var/log/x", "1:1:ab", 0, [b"not safe yet"]))
            body = agent.expect(MsgType.ERROR)
            assert body["code"] == ErrorCode.UNAVAILABLE and body["ids"] == [bid]
            agent.expect_closed()
        with Agent(proc.port) as agent:  # still serving
            agent.hello()
        assert proc.metric("logship_collector_batches_published_total") == 0
        assert proc.metric("logship_collector_batches_failed_total") == 1
    finally:
        assert proc.stop() == 0, proc.log()


def test_killed_pool_process_is_replaced(
    tmp_path: Path, broker_url: str, broker_dir: Path, queue_name: str
) -> None:
    """After a pool process is killed the pool is recreated; a batch that met the dead pool
    is answered UNAVAILABLE (not ACKed) and is ACKed once re-sent."""
    proc = CollectorProcess(tmp_path, broker_url, broker_dir, queue_name).start()
    try:
        for pid in proc.pool_pids():
            os.kill(pid, signal.SIGKILL)
        bid = batch_id("pool")
        outcomes = []
        for _attempt in range(10):
            with Agent(proc.port) as agent:
                agent.hello()
                agent.send(wire.batch(bid, "/var/log/p", "1:1:ab", 0, [b"resent after a crash"]))
                kind, body = agent.recv() or (None, {})
                outcomes.append((kind, body))
                if kind is MsgType.ACK:
                    break
                assert kind is MsgType.ERROR and body["code"] == ErrorCode.UNAVAILABLE, body
                assert body["ids"] == [bid]
        assert outcomes[-1] == (MsgType.ACK, {"ids": [bid]})
        assert proc.metric("logship_collector_pool_restarts_total") >= 1
        records = consume(broker_url, broker_dir, queue_name, 1)
        assert [r["id"] for r in records] == [bid]
        assert wait_for(lambda: len(proc.pool_pids()) >= 1)
    finally:
        code = proc.stop()
        delete_queue(broker_url, broker_dir, queue_name)
    assert code == 0, proc.log()


def test_sigterm_stops_gracefully(tmp_path: Path, broker_url: str, broker_dir: Path) -> None:
    """SIGTERM: connected agents are told SHUTTING_DOWN, health turns off, exit code 0, and
    idle pool processes exit without being reported busy or terminated."""
    queue = f"logship-test-{uuid.uuid4().hex[:10]}"
    proc = CollectorProcess(tmp_path, broker_url, broker_dir, queue).start()
    try:
        with Agent(proc.port) as agent:
            agent.hello()
            bid = batch_id("term")
            agent.send(wire.batch(bid, "/var/log/t", "1:1:ab", 0, [b"before the stop"]))
            assert agent.expect(MsgType.ACK) == {"ids": [bid]}
            assert proc.proc is not None
            proc.proc.send_signal(signal.SIGTERM)
            assert agent.expect(MsgType.ERROR)["code"] == ErrorCode.SHUTTING_DOWN
            agent.expect_closed()
        assert proc.proc.wait(30) == 0
        with pytest.raises(OSError):
            socket.create_connection(("127.0.0.1", proc.port), timeout=5).close()
        assert "Collector stopped." in proc.log()
        assert "still busy" not in proc.log()  # idle pool processes are not reported busy
    finally:
        proc.stop()
        delete_queue(broker_url, broker_dir, queue)


def test_sigterm_lets_in_flight_batches_finish(tmp_path: Path, broker_dir: Path) -> None:
    """A batch inside the pool when SIGTERM arrives still gets its answer (here UNAVAILABLE,
    the broker being down) before the collector exits 0."""
    proc = CollectorProcess(
        tmp_path,
        dead_broker(),
        broker_dir,
        "q",
        env={"LOGSHIP_PUBLISH_TIMEOUT_S": "3", "LOGSHIP_SHUTDOWN_TIMEOUT_S": "20"},
    ).start()
    try:
        with Agent(proc.port) as agent:
            agent.hello()
            bid = batch_id("inflight")
            agent.send(wire.batch(bid, "/var/log/t", "1:1:ab", 0, [b"in flight"]))
            assert wait_for(lambda: proc.metric("logship_collector_pool_queue_depth") == 1)
            assert proc.proc is not None
            proc.proc.send_signal(signal.SIGTERM)
            body = agent.expect(MsgType.ERROR)
            assert body["code"] == ErrorCode.UNAVAILABLE and body["ids"] == [bid]
        assert proc.proc.wait(30) == 0
    finally:
        proc.stop()


def test_saturated_pool_stops_reading_sockets(tmp_path: Path, broker_dir: Path) -> None:
    """With every shared-memory slot busy the collector stops reading: an agent pushing
    batches finds its socket blocked instead of the collector buffering them."""
    proc = CollectorProcess(
        tmp_path,
        dead_broker(),
        broker_dir,
        "q",
        "--pool-processes",
        "1",
        env={
            "LOGSHIP_SLOTS": "1",
            "LOGSHIP_WINDOW_BATCHES": "1000",
            "LOGSHIP_PUBLISH_TIMEOUT_S": "20",
            "LOGSHIP_SHUTDOWN_TIMEOUT_S": "2",
        },
    ).start()
    try:
        with Agent(proc.port, timeout=3) as agent:
            agent.hello()
            big = [b"x" * 1000] * 1000  # ~1 MB per batch
            sent = 0
            with pytest.raises(TimeoutError):
                for n in range(400):  # 400 MB: far more than socket buffers hold
                    agent.send(wire.batch(batch_id(n, "bp"), "/var/log/b", "1:1:ab", 0, big))
                    sent += 1
            assert sent < 400
            assert proc.metric("logship_collector_pool_queue_depth") == 1
            received = proc.metric("logship_collector_batches_received_total")
            assert received < sent
    finally:
        assert proc.stop() == 0, proc.log()


def test_serve_in_process(
    tmp_path: Path, broker_url: str, broker_dir: Path, queue_name: str
) -> None:
    """`serve(cfg, ready=, stop=, started=)` runs a collector inside the caller's event loop
    (as `logship up` and tests may): it ACKs a published batch and returns 0 when stopped."""
    import asyncio

    from collector.config import load_config
    from collector.server import serve

    cfg = load_config(
        environ={},
        dotenv=None,
        overrides={
            "host": "127.0.0.1",
            "port": 0,
            "storage_path": str(tmp_path / "received"),
            "broker_url": broker_url,
            "broker_dir": str(broker_dir),
            "queue": queue_name,
            "pool_processes": 1,
        },
    )

    async def scenario() -> tuple[int, dict]:
        ready, stop, started = asyncio.Event(), asyncio.Event(), []
        task = asyncio.create_task(
            serve(cfg, ready=ready, stop=stop, started=started, install_signals=False)
        )
        await asyncio.wait_for(ready.wait(), 60)
        reader, writer = await asyncio.open_connection("127.0.0.1", started[0].port)
        decoder = wire.FrameDecoder()
        writer.write(
            wire.hello("agent-inproc", "h", None)
            + wire.batch("inproc-1", "/p", "1:1:ab", 0, [b"x"])
        )
        got: list = []
        while len(got) < 2:
            got += decoder.feed(await asyncio.wait_for(reader.read(65536), 30))
        writer.close()
        stop.set()
        code = await asyncio.wait_for(task, 60)
        return code, wire.decode(*got[1]).body

    code, ack = asyncio.run(scenario())
    assert code == 0 and ack == {"ids": ["inproc-1"]}
    try:
        assert [r["id"] for r in consume(broker_url, broker_dir, queue_name, 1)] == ["inproc-1"]
    finally:
        delete_queue(broker_url, broker_dir, queue_name)


def test_pool_processes_exit_when_the_collector_is_killed(
    tmp_path: Path, broker_url: str, broker_dir: Path
) -> None:
    """A collector killed with SIGKILL leaves no pool process behind."""
    proc = CollectorProcess(tmp_path, broker_url, broker_dir, "unused").start()
    pids = proc.pool_pids()
    assert pids
    assert proc.stop(signal.SIGKILL) == -signal.SIGKILL

    def gone(pid: int) -> bool:
        try:  # a zombie waiting for init to reap it has exited too
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
        except (FileNotFoundError, ProcessLookupError):
            return True

    assert wait_for(lambda: all(gone(pid) for pid in pids), timeout=30), [
        Path(f"/proc/{pid}/stat").read_text() for pid in pids if not gone(pid)
    ]


def test_silent_connection_is_closed_after_the_hello_timeout(
    tmp_path: Path, broker_url: str, broker_dir: Path
) -> None:
    """A client that connects and says nothing is told so and disconnected."""
    proc = CollectorProcess(
        tmp_path, broker_url, broker_dir, "unused", env={"LOGSHIP_HELLO_TIMEOUT_S": "0.5"}
    ).start()
    try:
        with Agent(proc.port) as agent:
            body = agent.expect(MsgType.ERROR)
            assert body["code"] == ErrorCode.UNEXPECTED and "HELLO" in body["message"]
            agent.expect_closed()
    finally:
        assert proc.stop() == 0, proc.log()


def test_archive_on_a_full_disk_is_counted_and_batches_still_flow(
    tmp_path: Path, broker_url: str, broker_dir: Path
) -> None:
    """storage_path is full (a 64 KiB tmpfs): every batch is still published and ACKed, each
    archive write the disk refuses is counted and logged, and the collector keeps serving."""
    queue = f"logship-test-{uuid.uuid4().hex[:10]}"
    proc = CollectorProcess(tmp_path, broker_url, broker_dir, queue, storage_bytes=64 * 1024)
    proc.start()
    try:
        sent = []
        with Agent(proc.port) as agent:
            agent.hello()
            for i in range(3):
                bid = batch_id(i, "full")
                lines = [b"%d " % i + b"x" * 1000 for _ in range(40)]  # ~40 KB per batch
                agent.send(wire.batch(bid, "/var/log/big.log", "1:1:ab", i * 40_200, lines))
                assert agent.expect(MsgType.ACK) == {"ids": [bid]}
                sent.append(bid)
        records = consume(broker_url, broker_dir, queue, 3)
        assert sorted(r["id"] for r in records) == sorted(sent)
        assert proc.metric("logship_collector_archive_errors_total") == 2
        assert proc.log().count("No space left on device") == 2
        with Agent(proc.port) as agent:  # still serving
            agent.hello()
    finally:
        assert proc.stop() == 0, proc.log()
        delete_queue(broker_url, broker_dir, queue)
