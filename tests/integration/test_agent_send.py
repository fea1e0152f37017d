"""Integration tests for `logship-agent send` against a fake collector (real TCP, real wire).

The fake collector (tests/integration/agent_fake_collector.py) records every batch and ACK,
so these tests check what reached "the collector" byte for byte: round trip, the window,
out-of-order ACKs, reconnect and re-send, unreachable collector, refused token, unreadable
files, SIGKILL mid-way and re-run, and re-running on a finished file.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.checkpoint import CheckpointStore
from agent.config import AgentConfig, load_config
from agent.send import send_files
from logship.wire import ErrorCode
from tests.integration.agent_fake_collector import FakeCollector

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _config(tmp_path: Path, collector: str, **overrides: object) -> AgentConfig:
    values: dict[str, object] = {
        "collector": collector,
        "state_dir": str(tmp_path / "state"),
        "agent_id": "test-agent",
        "retry_backoff_initial_s": 0.05,
        "retry_backoff_max_s": 0.2,
    }
    values.update(overrides)
    return load_config(None, environ={}, dotenv=None, overrides=values)


def _write_lines(path: Path, count: int, prefix: str = "line") -> list[bytes]:
    lines = [
        f"{prefix} {i} 2026-11-29T12:00:00 INFO request handled".encode() for i in range(count)
    ]
    path.write_bytes(b"".join(line + b"\n" for line in lines))
    return lines


def _agent(tmp_path: Path, *args: str, env: dict[str, str] | None = None, **kw: object):
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LOGSHIP_")}
    full_env.update(
        LOGSHIP_STATE_DIR=str(tmp_path / "state"),
        LOGSHIP_AGENT_ID="test-agent",
        LOGSHIP_RETRY_BACKOFF_INITIAL_S="0.05",
        LOGSHIP_RETRY_BACKOFF_MAX_S="0.2",
    )
    full_env.update(env or {})
    cmd = [sys.executable, "-m", "agent", *args]
    return subprocess.run(cmd, cwd=tmp_path, env=full_env, capture_output=True, text=True, **kw)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_send_round_trip_every_line_exactly(tmp_path: Path) -> None:
    """Every line reaches the collector exactly, in order: CRLF stripped, binary and invalid
    UTF-8 untouched, an over-long line cut and counted, the unterminated last line sent; the
    checkpoint ends at the file size and HELLO carries agent id, hostname and token."""
    path = tmp_path / "app.log"
    body = [b"line %d" % i for i in range(2500)]
    special = [b"crlf line", b"\x00\xff binary \xc3\x28", b"L" * 500]
    path.write_bytes(
        b"".join(x + b"\n" for x in body) + b"crlf line\r\n" + b"\n".join(special[1:]) + b"\n"
        b"no newline at the end"
    )
    expected = [*body, b"crlf line", special[1], b"L" * 300, b"no newline at the end"]
    with FakeCollector(token="s3cret") as fc:
        cfg = _config(tmp_path, fc.address, token="s3cret", max_line_bytes=300)
        summary = asyncio.run(send_files([path], cfg))
    assert fc.lines_acked() == expected
    assert summary.complete and summary.lines == len(expected)
    assert summary.truncated_lines == 1 and summary.bytes == path.stat().st_size
    assert summary.batches == len(fc.received) == 3  # 1000 lines per batch
    assert fc.hellos[0]["agent"] == "test-agent" and fc.hellos[0]["token"] == "s3cret"
    assert fc.hellos[0]["hostname"] == socket.gethostname()
    assert {r.path for r in fc.received} == {str(path)}
    store = CheckpointStore(tmp_path / "state")
    assert store.get(summary.files[0].file_id) == path.stat().st_size


def test_cli_json_summary_then_rerun_sends_nothing(tmp_path: Path) -> None:
    """`send --json` prints a machine-readable summary and exits 0; re-running on the same
    files reports "already sent" and does not even connect."""
    a, b = tmp_path / "a.log", tmp_path / "b.log"
    lines_a = _write_lines(a, 1500, "a")
    lines_b = _write_lines(b, 10, "b")
    with FakeCollector() as fc:
        run = _agent(tmp_path, "send", str(a), str(b), "--collector", fc.address, "--json")
        assert run.returncode == 0, run.stderr
        doc = json.loads(run.stdout)
        assert doc["ok"] and doc["lines"] == 1510 and doc["batches"] == 3
        assert doc["bytes"] == a.stat().st_size + b.stat().st_size
        assert [f["status"] for f in doc["files"]] == ["sent", "sent"]
        assert sorted(fc.lines_acked()) == sorted(lines_a + lines_b)
        connections, received = fc.connections, len(fc.received)

        again = _agent(tmp_path, "send", str(a), str(b), "--collector", fc.address)
        assert again.returncode == 0, again.stderr
        assert again.stdout.count("already sent") == 2
        assert (fc.connections, len(fc.received)) == (connections, received)


@pytest.mark.parametrize(("server_window", "agent_window"), [(3, 8), (8, 2)])
def test_window_respected_and_out_of_order_acks(
    tmp_path: Path, server_window: int, agent_window: int
) -> None:
    """The agent never has more batches un-ACKed than the smaller of its window and the
    collector's, fills it, and ACKs arriving newest-first still end at the right checkpoint."""
    path = tmp_path / "app.log"
    lines = _write_lines(path, 3000)
    with FakeCollector(window=server_window, group_acks=True, idle_ack_s=0.05) as fc:
        cfg = _config(tmp_path, fc.address, window_batches=agent_window, max_batch_lines=100)
        summary = asyncio.run(send_files([path], cfg))
    assert fc.max_outstanding == min(server_window, agent_window)
    assert fc.lines_acked() == lines and summary.batches == 30
    assert CheckpointStore(tmp_path / "state").get(summary.files[0].file_id) == path.stat().st_size


@pytest.mark.parametrize("error", [None, ErrorCode.UNAVAILABLE, ErrorCode.SHUTTING_DOWN])
def test_connection_lost_midway_reconnects_and_resends(tmp_path: Path, error: int | None) -> None:
    """When the collector drops the connection (or answers UNAVAILABLE / SHUTTING_DOWN)
    mid-way, the agent reconnects, re-sends every un-ACKed batch, and each batch is ACKed
    exactly once: every line arrives once."""
    path = tmp_path / "app.log"
    lines = _write_lines(path, 3000)
    with FakeCollector(window=4, group_acks=True, drop_after=10, drop_with_error=error) as fc:
        cfg = _config(tmp_path, fc.address, max_batch_lines=100)
        summary = asyncio.run(send_files([path], cfg))
    assert fc.connections == 2
    assert len(fc.acked) == len(set(fc.acked)) == 30
    assert fc.lines_acked() == lines
    first = {r.id for r in fc.received if r.connection == 1}
    resent = [r.id for r in fc.received if r.connection == 2 and r.id in first]
    assert resent and summary.reconnects == 1
    assert summary.resent_batches >= len(resent)  # some were still in the socket buffers


def test_silent_collector_is_pinged_then_abandoned_and_batches_resent(tmp_path: Path) -> None:
    """A collector that goes silent (no ACK, no PONG) is PINGed, then after ack_timeout_s the
    agent reconnects and re-sends everything un-ACKed; every line arrives once."""
    path = tmp_path / "app.log"
    lines = _write_lines(path, 500)
    with FakeCollector(window=4, mute_first=True) as fc:
        cfg = _config(
            tmp_path, fc.address, max_batch_lines=100, ping_interval_s=0.1, ack_timeout_s=0.5
        )
        summary = asyncio.run(send_files([path], cfg))
    assert 1 in fc.pings and fc.connections == 2
    assert fc.lines_acked() == lines and summary.resent_batches == 4


def test_collector_unreachable_fails_clearly_after_retries(tmp_path: Path) -> None:
    """With nothing listening, `send` retries with backoff, then exits 1 saying what
    happened, that nothing was lost, and what to do; the checkpoint stays at 0."""
    path = tmp_path / "app.log"
    _write_lines(path, 100)
    address = f"127.0.0.1:{_free_port()}"
    run = _agent(
        tmp_path,
        "send",
        str(path),
        "--collector",
        address,
        env={"LOGSHIP_RETRY_MAX_ATTEMPTS": "3"},
    )
    assert run.returncode == 1
    assert f"collector {address} unreachable after 3 attempts" in run.stderr
    assert "Nothing was lost" in run.stderr and "re-run the same command" in run.stderr
    assert run.stderr.count("retrying in") == 2  # two waits between three attempts
    assert len(CheckpointStore(tmp_path / "state")) == 0


def test_refused_token_fails_fast_without_retrying(tmp_path: Path) -> None:
    """ERROR AUTH_FAILED ends `send` with exit 1 and a clear message after one attempt."""
    path = tmp_path / "app.log"
    _write_lines(path, 100)
    with FakeCollector(token="right") as fc:
        run = _agent(tmp_path, "send", str(path), "--collector", fc.address, "--token", "wrong")
        assert fc.connections == 1 and not fc.received
    assert run.returncode == 1
    assert "refused the token" in run.stderr and "--token" in run.stderr
    assert "retrying" not in run.stderr


def test_unreadable_file_fails_before_sending_anything(tmp_path: Path) -> None:
    """A missing file or a directory fails the command (exit 1) before anything is sent."""
    good = tmp_path / "good.log"
    _write_lines(good, 10)
    with FakeCollector() as fc:
        run = _agent(
            tmp_path,
            "send",
            str(good),
            str(tmp_path / "missing.log"),
            str(tmp_path),
            "--collector",
            fc.address,
        )
        assert fc.connections == 0
    assert run.returncode == 1
    assert "cannot read" in run.stderr and "missing.log" in run.stderr
    assert "Nothing was sent" in run.stderr


def test_sigkill_midway_then_rerun_sends_only_what_was_not_acked(tmp_path: Path) -> None:
    """`send` killed with SIGKILL mid-way, then re-run: every line arrives, and nothing the
    checkpoint says was ACKed is sent again (the re-run starts exactly at the checkpoint)."""
    path = tmp_path / "app.log"
    lines = _write_lines(path, 3000)
    env = {"LOGSHIP_MAX_BATCH_LINES": "100", "LOGSHIP_CHECKPOINT_INTERVAL_S": "0"}
    with FakeCollector(window=4, hold_after=5) as first:
        proc = subprocess.Popen(
            [sys.executable, "-m", "agent", "send", str(path), "--collector", first.address],
            cwd=tmp_path,
            env={
                **{k: v for k, v in os.environ.items() if not k.startswith("LOGSHIP_")},
                "LOGSHIP_STATE_DIR": str(tmp_path / "state"),
                "LOGSHIP_AGENT_ID": "test-agent",
                **env,
            },
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            deadline = time.monotonic() + 30
            checkpoint = 0
            while time.monotonic() < deadline:
                if len(first.acked) == 5 and (tmp_path / "state" / "checkpoints.json").exists():
                    store = CheckpointStore(tmp_path / "state")
                    entries = list(store.items())
                    if entries and entries[0][1]["offset"] == first.received[4].end:
                        checkpoint = entries[0][1]["offset"]
                        break
                time.sleep(0.02)
            assert checkpoint, "the agent never checkpointed the 5 ACKed batches"
            assert proc.poll() is None  # still running: its window is full
            proc.send_signal(signal.SIGKILL)
        finally:
            proc.kill()
            proc.wait(10)
        acked_first = set(first.acked)
        lines_first = first.lines_acked()
    assert proc.returncode == -signal.SIGKILL

    with FakeCollector() as second:
        run = _agent(tmp_path, "send", str(path), "--collector", second.address, env=env)
        assert run.returncode == 0, run.stderr
    assert second.received[0].offset == checkpoint
    assert not acked_first & {r.id for r in second.received}
    assert lines_first + second.lines_acked() == lines


def test_corrupt_checkpoint_is_moved_aside_and_send_still_works(tmp_path: Path) -> None:
    """A checkpoint file full of NUL bytes does not stop `send`: it is moved aside with a
    warning, the file is sent from the start, and a good checkpoint is written."""
    path = tmp_path / "app.log"
    lines = _write_lines(path, 50)
    state = tmp_path / "state"
    state.mkdir()
    (state / "checkpoints.json").write_bytes(b"\x00" * 2048)
    with FakeCollector() as fc:
        run = _agent(tmp_path, "send", str(path), "--collector", fc.address)
        assert run.returncode == 0, run.stderr
    assert "corrupt" in run.stderr and "starting fresh" in run.stderr
    assert fc.lines_acked() == lines
    assert len(list(state.glob("checkpoints.json.corrupt-*"))) == 1
    assert CheckpointStore(state).get(fc.received[0].file) == path.stat().st_size


def test_appended_lines_are_sent_on_the_next_run(tmp_path: Path) -> None:
    """Re-running after the file grew sends only the new lines (from the checkpoint)."""
    path = tmp_path / "app.log"
    lines = _write_lines(path, 2000)
    with FakeCollector() as fc:
        cfg = _config(tmp_path, fc.address)
        asyncio.run(send_files([path], cfg))
        with path.open("ab") as fh:
            fh.write(b"appended 1\nappended 2\n")
        summary = asyncio.run(send_files([path], cfg))
    assert summary.lines == 2 and fc.received[-1].offset == len(b"".join(x + b"\n" for x in lines))
    assert fc.lines_acked() == [*lines, b"appended 1", b"appended 2"]


def test_short_file_that_grew_is_continued_not_sent_again(tmp_path: Path) -> None:
    """A file under 1 KiB (its identity covers only what it had) that grows past 1 KiB is
    continued on the next run under its first identity: only the new lines are sent."""
    path = tmp_path / "short.log"
    lines = _write_lines(path, 3)
    assert path.stat().st_size < 1024
    with FakeCollector() as fc:
        cfg = _config(tmp_path, fc.address)
        first = asyncio.run(send_files([path], cfg))
        more = [f"more {i} 2026-11-29T12:00:01 INFO later".encode() for i in range(100)]
        with path.open("ab") as fh:
            fh.write(b"".join(line + b"\n" for line in more))
        assert path.stat().st_size > 1024
        second = asyncio.run(send_files([path], cfg))
        third = asyncio.run(send_files([path], cfg))
    assert second.lines == 100 and second.files[0].file_id == first.files[0].file_id
    assert third.files[0].status == "already sent"
    assert fc.lines_acked() == [*lines, *more]
