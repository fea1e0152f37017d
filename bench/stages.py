"""CPU cost per line of each pipeline stage, in one process, without broker or database.

Runs `bench.loggen` lines in agent-sized batches (1000 lines) through the stages the collector
pool and the workers run, and prints µs/line for each:

- prefilter: `collector.prefilter.process_batch` (clean, parse, classify);
- encode: `CleanBatch.to_message()` + msgpack packing (what the pool publishes);
- decode: msgpack unpacking + `CleanBatch.from_message` (what a worker receives);
- mine: the template miner on every message (`TemplateMiner.add`, masking included);
- rows: `workers.rows.batch_rows` (row mapping for COPY).

    .venv/bin/python bench/stages.py --lines 100000 [--profile STAGE]

Figures, not assertions. `--profile` prints the top of a cProfile of one stage.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import msgpack

ROOT = Path(__file__).resolve().parents[1]
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

from analysis.templates import TemplateMiner  # noqa: E402
from bench import loggen  # noqa: E402
from collector.prefilter import process_batch  # noqa: E402
from logship.records import CleanBatch  # noqa: E402
from workers.rows import batch_rows  # noqa: E402

STAGES = ("prefilter", "encode", "decode", "mine", "rows")


def bodies(n: int, per_batch: int = 1000) -> list[dict[str, Any]]:
    raw = [line.encode("utf-8") for line in loggen.lines(n)]
    out = []
    offset = 0
    for i in range(0, n, per_batch):
        chunk = raw[i : i + per_batch]
        out.append(
            {
                "id": f"b{i}",
                "path": "/var/log/app.log",
                "file": "1:2:fp",
                "offset": offset,
                "lines": chunk,
            }  # fmt: skip
        )
        offset += sum(len(x) + 1 for x in chunk)
    return out


def run(n: int, profile: str | None) -> dict[str, float]:
    cfg = SimpleNamespace(max_line_bytes=65536)
    received = time.time()
    data = bodies(n)
    state: dict[str, Any] = {}
    miner = TemplateMiner()

    def prefilter() -> None:
        state["batches"] = [process_batch(b, "a", "h", received, cfg) for b in data]

    def encode() -> None:
        state["packed"] = [
            msgpack.packb(b.to_message(), use_bin_type=True) for b in state["batches"]
        ]

    def decode() -> None:
        state["decoded"] = [
            CleanBatch.from_message(msgpack.unpackb(p, raw=False)) for p in state["packed"]
        ]

    def mine() -> None:
        for b in state["decoded"]:
            for e in b.events:
                e.template_id = miner.add(e.message)

    def rows() -> None:
        state["rows"] = [batch_rows(b) for b in state["decoded"]]

    steps: dict[str, Callable[[], None]] = {
        "prefilter": prefilter, "encode": encode, "decode": decode, "mine": mine, "rows": rows,
    }  # fmt: skip
    times: dict[str, float] = {}
    for name in STAGES:
        if name == profile:
            prof = cProfile.Profile()
            start = time.perf_counter()
            prof.runcall(steps[name])
            times[name] = time.perf_counter() - start
            pstats.Stats(prof).sort_stats("tottime").print_stats(25)
        else:
            start = time.perf_counter()
            steps[name]()
            times[name] = time.perf_counter() - start
    return {k: v / n * 1e6 for k, v in times.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lines", type=int, default=100_000)
    parser.add_argument("--profile", choices=STAGES)
    args = parser.parse_args()
    per_line = run(args.lines, args.profile)
    for name, us in per_line.items():
        print(f"{name:10s} {us:7.1f} µs/line")
    print(f"{'total':10s} {sum(per_line.values()):7.1f} µs/line")
    return 0


if __name__ == "__main__":
    sys.exit(main())
