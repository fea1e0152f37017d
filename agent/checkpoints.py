"""`logship-agent checkpoints`: what the agent has shipped from each file, and what is left.

Reads the checkpoint file of the state folder, never changing it (a corrupt one is reported,
not moved), and looks at each file now: the offset the collector acknowledged, the file's size
and the bytes behind. A path that now names another file (rotated away, or replaced) or nothing
is shown as such. Works whether the agent is running or not.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from agent.checkpoint import CorruptCheckpoint, read_entries
from agent.cli import EXIT_FAILED, EXIT_OK, Subcommand, add_common_options, config_from_args, fail
from agent.resume import Resume


@dataclass(frozen=True)
class FileState:
    path: str
    file_id: str
    offset: int  # acknowledged by the collector
    size: int | None  # of the same file now (None: not at its path any more)
    behind: int | None  # bytes not acknowledged yet
    state: str  # "shipped", "behind", "rotated" (the path names another file) or "gone"
    updated: float  # when the entry last changed (seconds since the epoch)


def file_states(
    entries: dict[str, dict[str, Any]],
    stat: Callable[[str], os.stat_result] = os.stat,
) -> list[FileState]:
    """One state per checkpoint entry, most behind first, then by path."""
    out = []
    for key, entry in entries.items():
        try:
            r = Resume.from_entry(key, entry)  # the same reading of an entry as at start-up
        except (ValueError, KeyError, TypeError):
            continue
        try:
            st = stat(r.path)
        except OSError:
            st = None
        size = behind = None
        if st is None:
            state = "gone"
        elif (st.st_dev, st.st_ino) != (r.dev, r.ino):
            state = "rotated"
        else:
            size = st.st_size
            behind = max(0, size - r.offset)
            state = "behind" if behind else "shipped"
        out.append(FileState(r.path, key, r.offset, size, behind, state, r.updated))
    out.sort(key=lambda s: (-(s.behind or 0), s.path))
    return out


def render(states: list[FileState], now: float) -> str:
    if not states:
        return "No checkpoints: this agent has not shipped anything yet."
    lines = [f"{'behind':>12} {'acked':>14} {'size':>14}  {'state':<8} {'age':>7}  path"]
    for s in states:
        size = f"{s.size:,}" if s.size is not None else "-"
        behind = f"{s.behind:,}" if s.behind is not None else "-"
        age = _age(now - s.updated)
        lines.append(f"{behind:>12} {s.offset:>14,} {size:>14}  {s.state:<8} {age:>7}  {s.path}")
    return "\n".join(lines)


def _age(seconds: float) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit}"
    return f"{max(0, seconds):.0f}s"


def _configure(parser: argparse.ArgumentParser) -> None:
    add_common_options(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")


def _checkpoints(args: argparse.Namespace) -> int:
    config = config_from_args(args)
    try:
        states = file_states(read_entries(config.state_path))
    except CorruptCheckpoint as exc:
        return fail(f"the checkpoint file in {config.state_path} is corrupt: {exc}")
    except OSError as exc:
        return fail(f"cannot read the checkpoints in {config.state_path}: {exc}", EXIT_FAILED)
    if args.json:
        print(json.dumps([asdict(s) for s in states], indent=2))
    else:
        print(render(states, time.time()))
    return EXIT_OK


SUBCOMMAND = Subcommand(
    name="checkpoints",
    help="show what has been shipped from each file and how far behind it is",
    description=(
        "Read the checkpoints of the state folder (without changing them) and show, for each "
        "file, the offset the collector acknowledged, its size now and the bytes behind.\n\n"
        "examples:\n  logship-agent checkpoints --config /etc/logship/agent.toml\n"
        "  logship-agent checkpoints --state-dir ./state --json"
    ),
    configure=_configure,
    handler=_checkpoints,
)
