"""`logship-agent run` end to end against an ACK-only collector that records every batch.

The agent runs as a real subprocess (signals, restarts, SIGKILL); the collector speaks the real
protocol (`agent_fake_collector.FakeCollector`) and records each batch's id, offsets and lines,
so the checks are at the line level: every line written arrives in exactly one batch id, and a
batch that arrives twice (re-sent after a crash or a reconnect) has the same id and content,
which is what lets the real pipeline store it once.
"""

from __future__ import annotations

import os
import random
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from tests.integration.agent_fake_collector import FakeCollector
from tests.integration.agent_run_support import (
    Agent,
    Writer,
    check_exactly_once,
    unique_lines,
    wait_until,
)

pytestmark = pytest.mark.integration


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    d = tmp_path / "logs"
    d.mkdir()
    return d


def _lines(prefix: str, n: int, start: int = 0) -> list[str]:
    return [f"{prefix} {i:06d}" for i in range(start, start + n)]


def _append(path: Path, lines: list[str]) -> None:
    with path.open("a") as fh:
        fh.write("".join(line + "\n" for line in lines))


def _arrived(fc: FakeCollector, expected: list[str]) -> bool:
    return unique_lines(fc.received) >= {e.encode() for e in expected}


def test_rename_rotation_under_a_steady_writer(tmp_path: Path, logs: Path) -> None:
    """Rename+create rotations while 2,000 lines/s are written: nothing lost or duplicated;
    the metrics count the rotations and every line shipped."""
    with FakeCollector() as fc:
        agent = Agent(
            tmp_path, fc.address, [{"paths": [f"{logs}/*.log"]}], metrics_port=_free_port()
        ).start()
        try:
            writer = Writer(logs / "app.log", rate=2000)
            writer.start()
            for _ in range(3):
                time.sleep(1.2)
                writer.rotate("rename")
            time.sleep(0.5)
            written = writer.stop()
            wait_until(lambda: _arrived(fc, written), 30, "every line")
            metrics = _metrics(agent.settings["metrics_port"])
            assert agent.stop() == 0
        finally:
            agent.close()
        stats = check_exactly_once(fc.received, written)
    assert stats["lines"] > 5000
    assert "was rotated" in agent.log()
    assert metrics["logship_agent_rotations_total"] == 3
    assert metrics["logship_agent_lines_shipped_total"] == len(written)
    assert metrics["logship_agent_lines_read_total"] == len(written)
    assert metrics["logship_agent_batches_in_flight"] == 0


def test_late_writes_to_a_renamed_file_are_read(tmp_path: Path, logs: Path) -> None:
    """A program that keeps writing to its renamed log for a while (it reopens it later)
    loses nothing: the renamed file lingers open well past `rotate_wait_s`."""
    log = logs / "app.log"
    _append(log, _lines("early", 100))
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [str(log)]}], linger_renamed_s=30.0)
        agent.start()
        try:
            wait_until(lambda: _arrived(fc, _lines("early", 100)), 30, "the first lines")
            with log.open("a") as old:  # the program's open descriptor
                os.rename(log, logs / "app.log.1")
                _append(log, _lines("new", 50))
                time.sleep(4 * agent.settings["rotate_wait_s"])
                old.write("".join(f"{line}\n" for line in _lines("late", 50)))
            expected = _lines("early", 100) + _lines("new", 50) + _lines("late", 50)
            wait_until(lambda: _arrived(fc, expected), 30, "the late lines")
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, expected)


def test_quiet_files_are_closed_and_reopened_when_they_change(tmp_path: Path, logs: Path) -> None:
    """A file quiet for close_inactive_s is closed (its descriptor freed); appending to it,
    or rotating it, opens it again from its checkpoint: nothing lost, nothing twice."""
    log = logs / "app.log"
    first = _lines("first", 300)
    _append(log, first)
    with FakeCollector() as fc:
        agent = Agent(
            tmp_path,
            fc.address,
            [{"paths": [f"{logs}/*.log"]}],
            close_inactive_s=1.0,
            metrics_port=_free_port(),
        ).start()
        try:
            port = agent.settings["metrics_port"]
            wait_until(lambda: _arrived(fc, first), 30, "the first lines")
            wait_until(lambda: _metrics(port)["logship_agent_files_inactive"] == 1, 30, "closed")
            assert _metrics(port)["logship_agent_files_open"] == 0
            later = _lines("later", 300)
            _append(log, later)  # inotify (or the rescan) opens it again, from its checkpoint
            wait_until(lambda: _arrived(fc, first + later), 30, "the appended lines")
            wait_until(lambda: _metrics(port)["logship_agent_files_inactive"] == 1, 30, "again")
            os.rename(log, logs / "app.log.1")  # rotated while closed
            rotated = _lines("rotated", 300)
            _append(log, rotated)
            expected = first + later + rotated
            wait_until(lambda: _arrived(fc, expected), 30, "the new file's lines")
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, expected)
    assert "Resuming" in agent.log()


def test_full_state_disk_is_logged_and_shipping_goes_on(tmp_path: Path, logs: Path) -> None:
    """The state folder's disk is full: checkpoints cannot be written, which is logged, and
    every line is still shipped. A restart on the still-full disk sends the lines again with
    the same batch ids and content (the pipeline stores them once); SIGTERM still exits 0."""
    log = logs / "app.log"
    lines = _lines("line", 500)
    _append(log, lines)
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [str(log)]}], state_disk_full=True)
        try:
            agent.start()
            wait_until(lambda: _arrived(fc, lines), 30, "every line")
            wait_until(lambda: "Cannot write the checkpoint" in agent.log(), 30, "the error")
            assert agent.stop() == 0
            first = len(fc.received)
            batches = len({b.id for b in fc.received})
            agent.start()  # no checkpoint was written: the file is sent again, same batch ids
            wait_until(lambda: len(fc.received) >= first + batches, 30, "the lines sent again")
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, lines)
    assert "No space left on device" in agent.log()


@pytest.mark.parametrize("kind", ["copytruncate", "truncate"])
def test_copytruncate_and_truncation_restart_at_zero(tmp_path: Path, logs: Path, kind: str) -> None:
    """A file truncated in place (copytruncate, or plain truncation) is read again from 0."""
    log = logs / "app.log"
    first = _lines("before", 500)
    _append(log, first)
    with FakeCollector() as fc:
        agent = Agent(
            tmp_path, fc.address, [{"paths": [str(log)]}], metrics_port=_free_port()
        ).start()
        try:
            wait_until(lambda: _arrived(fc, first), 20, "the first lines")
            if kind == "copytruncate":
                (logs / "app.log.1").write_bytes(log.read_bytes())
                with log.open("r+") as fh:
                    fh.truncate(0)
                second = _lines("after", 300)
                _append(log, second)
            else:
                second = _lines("rewritten", 200)
                log.write_text("".join(s + "\n" for s in second))  # O_TRUNC, same inode
            wait_until(lambda: _arrived(fc, first + second), 20, "the lines after truncation")
            metrics = _metrics(agent.settings["metrics_port"])
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, first + second)
    assert metrics["logship_agent_truncations_total"] == 1
    assert metrics["logship_agent_truncated_bytes_lost_total"] == 0
    assert "was truncated" in agent.log()


def test_deleted_and_recreated_file_on_the_same_inode(tmp_path: Path, logs: Path) -> None:
    """A new file that gets a deleted file's inode does not inherit the old file's offset."""
    log = logs / "app.log"
    first = _lines("old", 400)
    _append(log, first)
    old_inode = log.stat().st_ino
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [f"{logs}/*.log"]}]).start()
        try:
            wait_until(lambda: _arrived(fc, first), 20, "the old file")
            assert agent.stop() == 0
            log.unlink()
            _recreate_on_inode(log, old_inode)
            assert log.stat().st_ino == old_inode
            second = _lines("new content, longer than the old one", 800)
            _append(log, second)
            agent.start()
            wait_until(lambda: _arrived(fc, first + second), 20, "the new file")
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, first + second)


def _recreate_on_inode(path: Path, inode: int) -> None:
    """Create `path` on a given (just freed) inode: ext4 and tmpfs hand it out again soon."""
    spare: list[Path] = []
    try:
        for i in range(500):
            candidate = path.with_name(f".candidate-{i}")
            candidate.touch()
            if candidate.stat().st_ino == inode:
                os.rename(candidate, path)
                return
            spare.append(candidate)
    finally:
        for p in spare:
            p.unlink()
    # The filesystem does not reuse inodes soon: reusing is then impossible, and so is the bug.
    path.touch()
    pytest.fail(f"could not get inode {inode} again on this filesystem")


def test_sigkill_at_random_moments_loses_and_duplicates_nothing(tmp_path: Path, logs: Path) -> None:
    """SIGKILL 20 times at random moments (with rename and copytruncate rotations): every line
    arrives exactly once, duplicates being only whole batches re-sent with the same id."""
    seed = int(os.environ.get("LOGSHIP_TEST_SEED") or time.time_ns() % 1_000_000)
    print(f"random seed {seed} (rerun with LOGSHIP_TEST_SEED={seed})")
    rng = random.Random(seed)
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [f"{logs}/app.log*"]}])
        writer = Writer(logs / "app.log", rate=1000)
        writer.start()
        try:
            for cycle in range(20):
                agent.start()
                time.sleep(rng.uniform(0.2, 1.0))
                agent.kill()
                if cycle % 6 == 5:
                    writer.rotate("rename" if cycle % 12 == 5 else "copytruncate")
            written = writer.stop()
            agent.start()
            wait_until(lambda: _arrived(fc, written), 60, "every line after the kills")
            assert agent.stop() == 0
        finally:
            writer.stop()
            agent.close()
        stats = check_exactly_once(fc.received, written)
    assert agent.starts == 21
    assert stats["lines"] > 5000


def test_collector_down_mid_stream(tmp_path: Path, logs: Path) -> None:
    """The collector goes away for a few seconds: the agent waits, reconnects and ships the rest."""
    with FakeCollector() as fc:
        port = fc.port
        # The fake collector stops without closing its connections (a hung collector): the
        # agent notices by the missing ACKs and PONGs after ack_timeout_s.
        agent = Agent(
            tmp_path,
            fc.address,
            [{"paths": [f"{logs}/*.log"]}],
            ack_timeout_s=2.0,
            ping_interval_s=0.5,
        ).start()
        writer = Writer(logs / "app.log", rate=1000)
        writer.start()
        time.sleep(1.0)
    try:
        before = list(fc.received)
        time.sleep(3.0)  # collector down; the writer goes on
        with FakeCollector(port=port) as fc2:
            time.sleep(1.0)
            written = writer.stop()
            wait_until(
                lambda: unique_lines(before + fc2.received) >= {w.encode() for w in written},
                30,
                "every line after the collector came back",
            )
            assert agent.stop() == 0
            after = list(fc2.received)
    finally:
        writer.stop()
        agent.close()
    check_exactly_once(before + after, written)
    assert "unreachable" in agent.log() or "Connected to collector" in agent.log()


def test_multiline_events_stay_whole_across_rotation_and_restart(
    tmp_path: Path, logs: Path
) -> None:
    """Tracebacks are shipped as whole events, across a rotation and an agent restart that
    happens while an event is half written; the last one is flushed by the timeout."""
    log = logs / "app.log"
    events: list[str] = []

    def event(i: int) -> str:
        return (
            f"2024-05-01 12:00:{i % 60:02d} ERROR request {i} failed\n"
            "Traceback (most recent call last):\n"
            f'  File "app.py", line {i}, in handle\n'
            "    do()\n"
            f"ValueError: bad value {i}"
        )

    with FakeCollector() as fc:
        agent = Agent(
            tmp_path,
            fc.address,
            # Long enough that no event is flushed early while the test waits; shortened below.
            [{"paths": [f"{logs}/*.log"], "multiline": "python", "multiline_flush_s": 60.0}],
        ).start()
        try:
            for i in range(50):
                events.append(event(i))
                _append(log, [event(i)])
            # The last event stays pending (a continuation may still come); the rest arrives.
            wait_until(lambda: len(unique_lines(fc.received)) >= 49, 20, "49 events")
            os.rename(log, logs / "app.log.1")
            for i in range(50, 100):
                events.append(event(i))
                _append(log, [event(i)])
            half = event(100).split("\n")
            _append(log, half[:2])  # an event cut in the middle...
            wait_until(lambda: len(unique_lines(fc.received)) >= 100, 20, "100 events")
            assert agent.stop() == 0  # ...when the agent stops
            agent.rewrite(
                inputs=[
                    {"paths": [f"{logs}/*.log"], "multiline": "python", "multiline_flush_s": 1.0}
                ]
            )
            agent.start()
            _append(log, half[2:])  # the rest of it, after the restart
            events.append(event(100))
            # No line follows: the flush timeout ships the last event whole.
            wait_until(lambda: len(unique_lines(fc.received)) >= 101, 20, "the last event")
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, events)


def test_500_files_in_a_tree_matched_by_double_star(tmp_path: Path, logs: Path) -> None:
    """500 files in nested folders under `**`, half created while running: all shipped once."""
    expected: list[str] = []

    def make(batch: int) -> None:
        for d in range(25):
            folder = logs / f"svc{d % 5}" / f"node{d}-{batch}"
            folder.mkdir(parents=True, exist_ok=True)
            for f in range(10):
                lines = _lines(f"b{batch} d{d} f{f}", 3)
                _append(folder / f"{f}.log", lines)
                expected.extend(lines)
            (folder / "ignored.txt").write_text("not a log\n")
            (folder / "old.log.gz").write_bytes(b"\x1f\x8b not a log")

    make(0)
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [f"{logs}/**/*.log"]}]).start()
        try:
            wait_until(lambda: _arrived(fc, expected), 30, "the first 250 files")
            make(1)
            wait_until(lambda: _arrived(fc, expected), 30, "250 more files in new folders")
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, expected)
    assert len(expected) == 1500


def test_corrupt_checkpoint_is_moved_aside(tmp_path: Path, logs: Path) -> None:
    """A checkpoint file full of NUL bytes is quarantined with a warning; the agent runs on."""
    log = logs / "app.log"
    lines = _lines("line", 100)
    _append(log, lines)
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [str(log)]}])
        agent.state_dir.mkdir()
        (agent.state_dir / "checkpoints.json").write_bytes(b"\0" * 4096)
        agent.start()
        try:
            wait_until(lambda: _arrived(fc, lines), 20, "the lines")
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, lines)
    assert list(agent.state_dir.glob("checkpoints.json.corrupt-*"))
    assert "corrupt" in agent.log()


def test_file_rotated_while_stopped_is_finished_not_reread(tmp_path: Path, logs: Path) -> None:
    """Lines written and rotated away while the agent was stopped are found under the new
    name and finished; the new file is read from its start; nothing is read twice."""
    log = logs / "app.log"
    first = _lines("first", 300)
    _append(log, first)
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [str(log)]}]).start()
        try:
            wait_until(lambda: _arrived(fc, first), 20, "the first lines")
            assert agent.stop() == 0
            late = _lines("late", 200)
            _append(log, late)
            os.rename(log, logs / "app.log.1")
            fresh = _lines("fresh", 100)
            _append(log, fresh)
            agent.start()
            wait_until(lambda: _arrived(fc, first + late + fresh), 20, "every line")
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, first + late + fresh)
    assert "rotated to" in agent.log()


def test_sighup_reloads_and_refuses_a_bad_config(tmp_path: Path, logs: Path) -> None:
    """SIGHUP with a broken config keeps the running one; with a good one, new inputs apply."""
    a, b = logs / "a.log", logs / "b.txt"
    one, two = _lines("a", 50), _lines("b", 50)
    _append(a, one)
    _append(b, two)
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [f"{logs}/*.log"]}]).start()
        try:
            wait_until(lambda: _arrived(fc, one), 20, "a.log")
            agent.config.write_text(agent.config.read_text() + "no_such_key = 1\n")
            agent.signal(signal.SIGHUP)
            wait_until(lambda: "reload refused" in agent.log(), 10, "the refusal")
            more = _lines("a-more", 20)
            _append(a, more)
            wait_until(lambda: _arrived(fc, one + more), 20, "a.log still shipped")
            agent.rewrite(inputs=[{"paths": [f"{logs}/*.log", f"{logs}/*.txt"]}])
            agent.signal(signal.SIGHUP)
            wait_until(lambda: _arrived(fc, two), 20, "b.txt after the reload")
            assert agent.running()
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, one + more + two)
    assert "no_such_key" in agent.log()


def test_start_at_end_skips_existing_content(tmp_path: Path, logs: Path) -> None:
    """start_at = "end": lines present at the first start are skipped, new ones are shipped."""
    log = logs / "app.log"
    _append(log, _lines("old", 100))
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [str(log)], "start_at": "end"}]).start()
        try:
            time.sleep(1.0)
            new = _lines("new", 10)
            _append(log, new)
            wait_until(lambda: _arrived(fc, new), 20, "the new lines")
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, new)


def test_refused_token_exits_1_with_a_clear_message(tmp_path: Path, logs: Path) -> None:
    """A token the collector refuses stops the agent with exit code 1 and says what to fix."""
    _append(logs / "app.log", ["x"])
    with FakeCollector(token="right") as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [f"{logs}/*.log"]}], token="wrong")
        agent.start()
        try:
            assert agent.proc is not None
            assert agent.proc.wait(20) == 1
        finally:
            agent.close()
    assert "refused the token" in agent.log()


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _metrics(port: int) -> dict[str, float]:
    deadline = time.monotonic() + 10
    text = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
                text = r.read().decode()
            break
        except OSError:
            time.sleep(0.1)
    time.sleep(1.1)  # the agent refreshes the values once a second
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=2) as r:
        text = r.read().decode()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, value = line.split()
            out[name] = float(value)
    return out


def test_collector_down_reading_pauses_and_memory_stays_bounded(tmp_path: Path, logs: Path) -> None:
    """With no collector, the agent reads no further than its window: a 30 MB file stays the
    buffer, the agent's memory stays small, and the lag is visible in the metrics."""
    log = logs / "big.log"
    with log.open("w") as fh:
        for i in range(300_000):
            fh.write(f"2024-05-01 12:00:00 INFO line {i:07d} " + "y" * 60 + "\n")
    port = _free_port()  # nothing listens there
    agent = Agent(
        tmp_path,
        f"127.0.0.1:{port}",
        [{"paths": [str(log)]}],
        metrics_port=_free_port(),
        max_batch_lines=1000,
        shutdown_timeout_s=0.5,
    ).start()
    try:
        metrics = _metrics(agent.settings["metrics_port"])
        time.sleep(1.0)
        metrics = _metrics(agent.settings["metrics_port"])
        assert agent.proc is not None
        rss_kb = _rss_kb(agent.proc.pid)
        assert agent.stop() == 0
    finally:
        agent.close()
    size = log.stat().st_size
    assert metrics["logship_agent_batches_in_flight"] <= 8
    assert metrics["logship_agent_bytes_read_total"] < size / 10
    assert metrics["logship_agent_connected"] == 0
    assert rss_kb < 60 * 1024, f"agent RSS {rss_kb} kB while the collector is down"
    assert "unreachable" in agent.log()


def test_checkpoints_of_files_gone_for_good_expire(tmp_path: Path, logs: Path) -> None:
    """The checkpoint entry of a file deleted for good is forgotten after checkpoint_expire_s."""
    import json

    keep, gone = logs / "keep.log", logs / "gone.log"
    _append(keep, ["k"])
    _append(gone, ["g"])
    with FakeCollector() as fc:
        agent = Agent(
            tmp_path, fc.address, [{"paths": [f"{logs}/*.log"]}], checkpoint_expire_s=2.0
        ).start()
        ckpt = agent.state_dir / "checkpoints.json"

        def paths() -> set[str]:
            try:
                files = json.loads(ckpt.read_text())["files"]
            except (OSError, ValueError):
                return set()
            return {e["path"] for e in files.values()}

        try:
            wait_until(lambda: paths() == {str(keep), str(gone)}, 20, "two checkpoint entries")
            gone.unlink()
            wait_until(lambda: paths() == {str(keep)}, 20, "the deleted file's entry to expire")
            assert agent.stop() == 0
        finally:
            agent.close()
    assert paths() == {str(keep)}


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@pytest.mark.parametrize("copy", ["app.log.1", "app.log.2.gz"])
@pytest.mark.parametrize("glob", ["*.log", "app.log*"])
def test_copytruncate_while_stopped(tmp_path: Path, logs: Path, glob: str, copy: str) -> None:
    """copytruncate while the agent was stopped: the lines written before it are finished from
    the rotated copy (found by its first bytes), never re-read, whether or not the glob matches
    the copy; with only a compressed copy left, they are reported as possibly lost."""
    log = logs / "app.log"
    first = _lines("first line, long enough to fill the fingerprint", 300)
    _append(log, first)
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [f"{logs}/{glob}"]}]).start()
        try:
            wait_until(lambda: _arrived(fc, first), 20, "the first lines")
            assert agent.stop() == 0
            late = _lines("late", 200)
            _append(log, late)
            (logs / copy).write_bytes(log.read_bytes())  # copy...
            with log.open("r+") as fh:  # ...then truncate
                fh.truncate(0)
            fresh = _lines("fresh", 100)
            _append(log, fresh)
            agent.start()
            expected = first + fresh + (late if not copy.endswith(".gz") else [])
            wait_until(lambda: _arrived(fc, expected), 20, "every line")
            time.sleep(0.5)
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, expected)
    if copy.endswith(".gz"):
        assert "may be lost" in agent.log()
    else:
        assert "a copy" in agent.log()


@pytest.mark.parametrize("glob", ["*.log", "app.log*"])
def test_copytruncate_under_a_steady_writer(tmp_path: Path, logs: Path, glob: str) -> None:
    """copytruncate while 2,000 lines/s are written: the lines the agent had not read yet when
    the file was truncated are read from the rotated copy (found by its first bytes, whether
    or not the glob matches it), so nothing is lost or duplicated."""
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [f"{logs}/{glob}"]}]).start()
        try:
            writer = Writer(logs / "app.log", rate=2000)
            writer.start()
            for _ in range(3):
                time.sleep(1.2)
                writer.rotate("copytruncate")
            time.sleep(0.5)
            written = writer.stop()
            wait_until(lambda: _arrived(fc, written), 30, "every line")
            time.sleep(0.5)
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, written)
    assert "copytruncate" in agent.log()


def test_plain_copy_of_a_tailed_file_is_not_read_twice(tmp_path: Path, logs: Path) -> None:
    """A copy of a tailed file (cp app.log app.log.bak) that the glob matches is followed
    from its end: its lines are not shipped a second time."""
    log = logs / "app.log"
    first = _lines("a line long enough to make the file longer than its fingerprint", 100)
    _append(log, first)
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [f"{logs}/app.log*"]}]).start()
        try:
            wait_until(lambda: _arrived(fc, first), 20, "the first lines")
            (logs / "app.log.bak").write_bytes(log.read_bytes())
            wait_until(lambda: "was not truncated" in agent.log(), 30, "the copy to be seen")
            more = _lines("more", 50)
            _append(log, more)
            extra = _lines("appended to the copy", 5)
            _append(logs / "app.log.bak", extra)
            wait_until(lambda: _arrived(fc, first + more + extra), 20, "the new lines")
            assert agent.stop() == 0
        finally:
            agent.close()
        check_exactly_once(fc.received, first + more + extra)


def test_new_file_with_the_same_header_is_not_taken_for_a_copy(tmp_path: Path, logs: Path) -> None:
    """Two files that start with the same (long) header are different files: the second one
    is read from its start, not skipped as a copy of the first."""
    header = [f"banner line {i:03d} " + "=" * 60 for i in range(20)]  # > 1 KiB, identical
    one = header + _lines("first file", 50)
    two = header + _lines("second file", 50)
    _append(logs / "one.log", one)
    with FakeCollector() as fc:
        agent = Agent(tmp_path, fc.address, [{"paths": [f"{logs}/*.log"]}]).start()
        try:
            wait_until(lambda: _arrived(fc, one), 20, "the first file")
            _append(logs / "two.log", two)
            wait_until(lambda: _arrived(fc, two[20:]), 20, "the second file")
            time.sleep(0.5)
            assert agent.stop() == 0
        finally:
            agent.close()
    counts: dict[bytes, int] = {}
    for r in {r.id: r for r in fc.received}.values():
        for line in r.lines:
            counts[line] = counts.get(line, 0) + 1
    assert all(counts[h.encode()] == 2 for h in header)  # the header, once per file
    assert all(counts[x.encode()] == 1 for x in one[20:] + two[20:])
