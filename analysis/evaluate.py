"""Grouping accuracy (GA) of a template miner against labelled messages (LogPAI definition).

A message counts as correct when the set of messages its predicted group holds equals the set
its ground-truth group holds; GA = correct messages / all messages. Also reads the LogHub 2k
samples (`<System>/<System>_2k.log_structured_corrected.csv`: `Content`, `EventTemplate`).
"""

from __future__ import annotations

import csv
from collections import defaultdict
from collections.abc import Hashable, Sequence
from pathlib import Path

LOGHUB_SYSTEMS = ("HDFS", "Hadoop", "Spark", "Zookeeper", "BGL", "Apache", "OpenSSH", "Linux")


def grouping_accuracy(predicted: Sequence[Hashable], truth: Sequence[Hashable]) -> float:
    """GA of `predicted` group labels against `truth` labels (same length, same order)."""
    if len(predicted) != len(truth):
        raise ValueError(f"{len(predicted)} predictions for {len(truth)} labelled messages")
    if not truth:
        return 1.0
    by_pred: dict[Hashable, set[int]] = defaultdict(set)
    by_truth: dict[Hashable, set[int]] = defaultdict(set)
    for i, (p, t) in enumerate(zip(predicted, truth, strict=True)):
        by_pred[p].add(i)
        by_truth[t].add(i)
    correct = 0
    for members in by_truth.values():
        first = next(iter(members))
        if by_pred[predicted[first]] == members:
            correct += len(members)
    return correct / len(truth)


def load_loghub(root: Path, system: str) -> tuple[list[str], list[str]]:
    """(messages, ground-truth templates) of one LogHub 2k system under `root`."""
    path = Path(root) / system / f"{system}_2k.log_structured_corrected.csv"
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [r["Content"] for r in rows], [r["EventTemplate"] for r in rows]
