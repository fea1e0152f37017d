"""`logship-agent checkpoints`: shipped, behind, rotated and gone files, read only."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from agent.checkpoint import FILENAME, CheckpointStore, read_entries
from agent.checkpoints import file_states, render
from agent.cli import main
from agent.identity import identify


def _checkpoint(store: CheckpointStore, path: Path, offset: int) -> str:
    with path.open("rb") as fh:
        key = identify(fh).key
    store.set(key, str(path), offset)
    return key


def test_each_file_is_shipped_behind_rotated_or_gone(tmp_path: Path) -> None:
    """The acknowledged offset is compared with the same file at its path now."""
    store = CheckpointStore(tmp_path / "state")
    logs = {name: tmp_path / name for name in ("done.log", "behind.log", "rot.log", "gone.log")}
    for p in logs.values():
        p.write_text("x" * 100)
    _checkpoint(store, logs["done.log"], 100)
    _checkpoint(store, logs["behind.log"], 40)
    _checkpoint(store, logs["rot.log"], 100)
    _checkpoint(store, logs["gone.log"], 100)
    store.save()
    os.rename(logs["rot.log"], tmp_path / "rot.log.1")
    logs["rot.log"].write_text("new")
    logs["gone.log"].unlink()
    states = {s.path: s for s in file_states(read_entries(tmp_path / "state"))}
    assert states[str(logs["done.log"])].state == "shipped"
    behind = states[str(logs["behind.log"])]
    assert (behind.state, behind.behind, behind.size) == ("behind", 60, 100)
    assert states[str(logs["rot.log"])].state == "rotated"
    assert states[str(logs["gone.log"])].state == "gone"
    first = file_states(read_entries(tmp_path / "state"))[0]
    assert first.path == str(logs["behind.log"])  # most behind first
    text = render(list(states.values()), now=first.updated + 7200)
    assert "behind.log" in text and "2h" in text


def test_cli_prints_json_and_never_moves_a_corrupt_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--json lists the files; a corrupt checkpoint file is reported (exit 1) and left as is."""
    state = tmp_path / "state"
    log = tmp_path / "a.log"
    log.write_text("line\n")
    store = CheckpointStore(state)
    _checkpoint(store, log, 5)
    store.save()
    assert main(["checkpoints", "--state-dir", str(state), "--json"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)
    assert (entry["path"], entry["state"], entry["behind"]) == (str(log), "shipped", 0)
    (state / FILENAME).write_bytes(b"\x00\x00 not json")
    assert main(["checkpoints", "--state-dir", str(state)]) == 1
    assert "corrupt" in capsys.readouterr().err
    assert (state / FILENAME).read_bytes() == b"\x00\x00 not json"


def test_no_checkpoints_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An agent that has shipped nothing has nothing to show."""
    assert main(["checkpoints", "--state-dir", str(tmp_path / "empty")]) == 0
    assert "not shipped anything yet" in capsys.readouterr().out
