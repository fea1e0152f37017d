"""Grouping accuracy of the template miner on the LogHub 2k samples, one default configuration.

    .venv/bin/python bench/accuracy.py [--data ../shared/data/loghub] [--json]

Prints GA, template counts, time and throughput per system, then the mean GA. Ids are taken
after all messages of a system were added (`resolve`), as `logship mine` prints them.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Run as a script, bench/ would come first on sys.path and its modules could shadow the
# standard library's (bench/copy.py): put the project root there instead.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict, dataclass  # noqa: E402

from analysis.evaluate import LOGHUB_SYSTEMS, grouping_accuracy, load_loghub  # noqa: E402
from analysis.templates import TemplateMiner  # noqa: E402

DEFAULT_DATA = Path(
    os.environ.get("LOGSHIP_LOGHUB_DIR") or ROOT.parent / "shared" / "data" / "loghub"
)


@dataclass
class Result:
    system: str
    ga: float
    templates: int
    truth_templates: int
    messages: int
    seconds: float

    @property
    def messages_per_s(self) -> float:
        return self.messages / self.seconds if self.seconds else 0.0


def run(data: Path) -> list[Result]:
    """Mine each system with a fresh default miner and score it."""
    results: list[Result] = []
    for system in LOGHUB_SYSTEMS:
        messages, truth = load_loghub(data, system)
        miner = TemplateMiner()
        start = time.perf_counter()
        ids = [miner.add(m) for m in messages]
        ids = [miner.resolve(i) for i in ids]
        elapsed = time.perf_counter() - start
        results.append(
            Result(
                system,
                grouping_accuracy(ids, truth),
                len(set(ids)),
                len(set(truth)),
                len(messages),
                elapsed,
            )
        )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="LogHub 2k folder")
    parser.add_argument("--json", action="store_true", help="print JSON instead of a table")
    args = parser.parse_args(argv)
    results = run(args.data)
    mean = sum(r.ga for r in results) / len(results)
    rate = sum(r.messages for r in results) / sum(r.seconds for r in results)
    if args.json:
        systems = [{**asdict(r), "messages_per_s": r.messages_per_s} for r in results]
        print(json.dumps({"systems": systems, "mean_ga": mean, "messages_per_s": rate}))
        return 0
    print(f"{'system':<10} {'GA':>6} {'templates':>9} {'truth':>6} {'time_s':>7} {'msg/s':>8}")
    for r in results:
        print(
            f"{r.system:<10} {r.ga:>6.3f} {r.templates:>9} {r.truth_templates:>6} "
            f"{r.seconds:>7.3f} {r.messages_per_s:>8.0f}"
        )
    print(f"{'mean':<10} {mean:>6.3f}   overall {rate:,.0f} messages/s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
