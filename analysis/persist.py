"""Saving and loading the template miner's state: versioned JSON, written tmp -> fsync -> rename.

Never pickle: the file is plain JSON that `TemplateMiner.from_dict` checks field by field. A
corrupt or foreign file raises `StateError` naming the file; nothing is half-loaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from analysis.errors import StateError
from analysis.templates import TemplateMiner


def save_miner(miner: TemplateMiner, path: Path) -> None:
    """Write the miner's state atomically (a reader sees the old file or the new one)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    data = json.dumps(miner.to_dict(), separators=(",", ":")).encode("utf-8")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def load_miner(path: Path) -> TemplateMiner:
    """Read a state written by `save_miner`. StateError if it is unreadable or not such a state."""
    try:
        raw = Path(path).read_bytes()
        data = json.loads(raw.decode("utf-8"))
        return TemplateMiner.from_dict(data)
    except OSError as exc:
        raise StateError(f"{path}: cannot read template state: {exc.strerror or exc}") from None
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as exc:
        raise StateError(f"{path}: not a template state file: {exc}") from None
