"""Agent-only throughput: `logship-agent run` on one big file, to a collector that only ACKs.

    .venv/bin/python bench/agent.py [--lines 1000000] [--line-bytes 100] [--json]

Writes a file of `--lines` lines, reads it once with `cat` (to /dev/null) for a baseline, then
starts an ACK-only collector (a separate process, so its CPU is not the agent's) and
`logship-agent run --path FILE`, and waits until every line is ACKed. Reports lines/s and
MB/s for both, with the agent's CPU seconds (user + system) and peak RSS from `wait4`. The
agent's time runs from its start to the last ACK (start-up included).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# bench/ holds scripts named like standard modules (copy.py): never import from it.
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
sys.path.insert(0, str(ROOT))


# ----------------------------------------------------------------------------- ACK-only collector


async def _collector(port_file: str) -> None:
    from logship import wire
    from logship.wire import FrameDecoder, MsgType

    lines = 0

    async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal lines
        decoder = FrameDecoder()
        try:
            while True:
                data = await reader.read(1 << 20)
                if not data:
                    return
                acks = []
                for kind, payload in decoder.feed(data):
                    if kind is MsgType.HELLO:
                        writer.write(wire.hello("bench", "bench", None, window=16))
                    elif kind is MsgType.BATCH:
                        body = wire.unpack_body(payload)
                        lines += len(body["lines"])
                        acks.append(body["id"])
                    elif kind is MsgType.PING:
                        writer.write(wire.pong(0))
                if acks:
                    writer.write(wire.ack(acks))
                    print(lines, flush=True)
                await writer.drain()
        except ConnectionError:
            return
        finally:
            writer.close()

    server = await asyncio.start_server(session, "127.0.0.1", 0)
    Path(port_file).write_text(str(server.sockets[0].getsockname()[1]))
    async with server:
        await server.serve_forever()


# ----------------------------------------------------------------------------- benchmark


def _write_file(path: Path, lines: int, line_bytes: int) -> int:
    pad = "x" * max(0, line_bytes - 60)
    with path.open("w") as fh:
        for i in range(lines):
            fh.write(f"2024-05-01T12:00:00.000Z INFO worker[{i % 97}] request {i} done {pad}\n")
    return path.stat().st_size


def _cat(path: Path) -> float:
    start = time.perf_counter()
    with open(os.devnull, "wb") as out:
        subprocess.run(["cat", str(path)], stdout=out, check=True)
    return time.perf_counter() - start


def _free_port_file(tmp: Path) -> Path:
    return tmp / "collector.port"


def run_bench(lines: int, line_bytes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="logship-bench-agent-") as tmp_s:
        tmp = Path(tmp_s)
        log = tmp / "logs" / "big.log"
        log.parent.mkdir()
        size = _write_file(log, lines, line_bytes)
        _cat(log)  # warm the page cache for both readers
        cat_s = _cat(log)

        port_file = _free_port_file(tmp)
        collector = subprocess.Popen(
            [sys.executable, "-P", __file__, "--collector-only", str(port_file)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            deadline = time.monotonic() + 30
            while not port_file.exists() or not port_file.read_text():
                if time.monotonic() > deadline:
                    raise RuntimeError("the ACK-only collector did not start")
                time.sleep(0.05)
            port = int(port_file.read_text())
            agent_bin = Path(sys.executable).with_name("logship-agent")
            cmd = [str(agent_bin)] if agent_bin.exists() else [sys.executable, "-m", "agent"]
            start = time.perf_counter()
            agent = subprocess.Popen(
                [
                    *cmd,
                    "run",
                    "--path",
                    str(log),
                    "--collector",
                    f"127.0.0.1:{port}",
                    "--state-dir",
                    str(tmp / "state"),
                ],
                env={**os.environ, "LOGSHIP_AGENT_ID": "bench"},
            )
            assert collector.stdout is not None
            acked = 0
            for line in collector.stdout:
                acked = int(line)
                if acked >= lines:
                    break
            agent_s = time.perf_counter() - start
            agent.send_signal(signal.SIGTERM)
            _, status, usage = os.wait4(agent.pid, 0)
            agent.returncode = os.waitstatus_to_exitcode(status)
        finally:
            collector.kill()
            collector.wait()
    mb = size / 1e6
    return {
        "lines": lines,
        "file_mb": round(mb, 1),
        "cat_s": round(cat_s, 3),
        "cat_lines_per_s": round(lines / cat_s),
        "cat_mb_per_s": round(mb / cat_s, 1),
        "agent_s": round(agent_s, 2),
        "agent_lines_per_s": round(lines / agent_s),
        "agent_mb_per_s": round(mb / agent_s, 1),
        "agent_cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
        "agent_peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
        "agent_exit_code": agent.returncode,
        "lines_acked": acked,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--line-bytes", type=int, default=100)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--collector-only", metavar="PORT_FILE", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.collector_only:
        asyncio.run(_collector(args.collector_only))
        return 0
    result = run_bench(args.lines, args.line_bytes)
    if args.json:
        print(json.dumps(result))
    else:
        print(
            f"file: {result['lines']:,} lines, {result['file_mb']} MB\n"
            f"cat:   {result['cat_s']:.3f} s  {result['cat_lines_per_s']:,} lines/s  "
            f"{result['cat_mb_per_s']} MB/s\n"
            f"agent: {result['agent_s']:.2f} s  {result['agent_lines_per_s']:,} lines/s  "
            f"{result['agent_mb_per_s']} MB/s  cpu {result['agent_cpu_s']} s  "
            f"peak RSS {result['agent_peak_rss_mb']} MB  (exit {result['agent_exit_code']})"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
