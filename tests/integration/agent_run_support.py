"""Helpers for the `logship-agent run` integration tests: the agent as a subprocess, a steady
writer thread that can rotate its file, and the exactly-once check.

The collector side is `agent_fake_collector.FakeCollector` (real protocol, records every batch
with its id, offsets and lines) or the real collector.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tests.integration.full_disk import on_small_disk

ROOT = Path(__file__).resolve().parents[2]

FAST = {
    "batch_age_s": 0.2,
    "rotate_wait_s": 0.5,
    "rescan_interval_s": 1.0,
    "checkpoint_interval_s": 0.2,
    "retry_backoff_initial_s": 0.05,
    "retry_backoff_max_s": 0.5,
    "shutdown_timeout_s": 5.0,
    "max_batch_lines": 200,
}


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(value)


def write_config(path: Path, settings: dict[str, Any], inputs: list[dict[str, Any]]) -> Path:
    lines = [f"{k} = {_toml_value(v)}" for k, v in settings.items()]
    for table in inputs:
        lines.append("[[inputs]]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


class Agent:
    """`logship-agent run --config FILE` as a subprocess; stderr goes to a log file."""

    def __init__(
        self,
        tmp: Path,
        collector: str,
        inputs: list[dict[str, Any]],
        *,
        state_disk_full: bool = False,
        **settings: Any,
    ) -> None:
        self.tmp = tmp
        self.state_disk_full = state_disk_full  # the state folder on a full file system
        self.state_dir = tmp / "state"
        self.log_path = tmp / "agent.log"
        self.settings = {
            "collector": collector,
            "state_dir": str(self.state_dir),
            "agent_id": "test-agent",
            **FAST,
            **settings,
        }
        self.inputs = inputs
        self.config = write_config(tmp / "agent.toml", self.settings, inputs)
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0

    def rewrite(self, inputs: list[dict[str, Any]] | None = None, **settings: Any) -> None:
        self.settings.update(settings)
        if inputs is not None:
            self.inputs = inputs
        write_config(self.config, self.settings, self.inputs)

    def start(self) -> Agent:
        assert self.proc is None or self.proc.poll() is not None
        self.starts += 1
        log = self.log_path.open("ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith("LOGSHIP_")}
        argv = [sys.executable, "-m", "agent", "run", "--config", str(self.config), "-v"]
        if self.state_disk_full:
            argv = on_small_disk(self.state_dir, 64 * 1024, argv, full=True)
        self.proc = subprocess.Popen(
            argv,
            cwd=self.tmp,
            stdout=log,
            stderr=log,
            env={**env, "PYTHONPATH": str(ROOT)},
        )
        log.close()
        return self

    def signal(self, sig: int) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM and wait; returns the exit code."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait(10)

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def close(self) -> None:
        if self.running():
            self.kill()


class Writer(threading.Thread):
    """Appends numbered lines to a file at about `rate` lines/s until stopped.

    `rotate(kind)` happens between two lines: "rename" (logrotate's create: rename to
    `<path>.<n>`, reopen the path) or "copytruncate" (copy to `<path>.<n>`, truncate in place;
    the writer appends with O_APPEND so it continues at the new end).
    """

    def __init__(self, path: Path, rate: int = 2000, prefix: str = "line") -> None:
        super().__init__(daemon=True)
        self.path = path
        self.rate = rate
        self.prefix = prefix
        self.written: list[str] = []
        self.rotations = 0
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._fh = path.open("a")

    def run(self) -> None:
        burst = max(1, self.rate // 100)
        next_at = time.monotonic()
        seq = 0
        while not self._halt.is_set():
            with self._lock:
                for _ in range(burst):
                    line = f"{self.prefix} {seq:08d} " + "x" * (seq % 37)
                    self._fh.write(line + "\n")
                    self.written.append(line)
                    seq += 1
                self._fh.flush()
            next_at += 0.01
            delay = next_at - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def rotate(self, kind: str = "rename") -> Path:
        with self._lock:
            self.rotations += 1
            target = self.path.with_name(f"{self.path.name}.{self.rotations}")
            if kind == "rename":
                self._fh.close()
                os.rename(self.path, target)
                self._fh = self.path.open("a")
            elif kind == "copytruncate":
                self._fh.flush()
                shutil.copyfile(self.path, target)
                with self.path.open("r+") as fh:
                    fh.truncate(0)
            else:
                raise ValueError(kind)
            return target

    def stop(self) -> list[str]:
        self._halt.set()
        if self.is_alive():
            self.join(10)
        with self._lock:
            if not self._fh.closed:
                self._fh.close()
        return list(self.written)


def wait_until(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def unique_lines(received: Iterable[Any]) -> set[bytes]:
    return {line for r in list(received) for line in r.lines}


def check_exactly_once(received: Iterable[Any], expected: Iterable[str | bytes]) -> dict[str, int]:
    """Every expected line arrived, in exactly one batch id; a batch received twice (a re-send)
    carried the very same id, offsets and lines. Returns counts for the test's messages."""
    by_id: dict[str, Any] = {}
    resent = 0
    for r in list(received):
        first = by_id.setdefault(r.id, r)
        if first is not r:
            resent += 1
            assert (first.file, first.offset, first.offsets, first.lines) == (
                r.file,
                r.offset,
                r.offsets,
                r.lines,
            ), f"batch {r.id} was re-sent with different content"
    counts = Counter(line for r in by_id.values() for line in r.lines)
    want = [e.encode() if isinstance(e, str) else e for e in expected]
    dupes = [line for line, n in counts.items() if n > 1]
    assert not dupes, f"{len(dupes)} lines in two different batches, e.g. {dupes[:3]}"
    missing = set(want) - set(counts)
    assert not missing, f"{len(missing)} lines never arrived, e.g. {sorted(missing)[:3]}"
    extra = set(counts) - set(want)
    assert not extra, f"{len(extra)} unexpected lines, e.g. {sorted(extra)[:3]}"
    return {"batches": len(by_id), "resent": resent, "lines": len(want)}
