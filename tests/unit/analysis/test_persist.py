"""Saving and loading the miner state: atomic, versioned JSON, corrupt files rejected."""

from __future__ import annotations

from pathlib import Path

import pytest

from analysis.errors import StateError
from analysis.persist import load_miner, save_miner
from analysis.templates import TemplateMiner


def test_save_then_load_gives_the_same_templates(tmp_path: Path) -> None:
    """A saved miner loads with the same templates and ids; no temporary file is left."""
    miner = TemplateMiner()
    miner.add("disk sda1 is full")
    miner.add("fan 2 stopped")
    path = tmp_path / "templates.json"
    save_miner(miner, path)
    assert load_miner(path).templates() == miner.templates()
    assert [p.name for p in tmp_path.iterdir()] == ["templates.json"]


@pytest.mark.parametrize("content", [b"\x00\x00\x00", b"{not json", b'{"version": 7}', b"[]"])
def test_corrupt_state_raises_state_error_naming_the_file(tmp_path: Path, content: bytes) -> None:
    """NUL bytes, broken JSON or a foreign version raise StateError with the path."""
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    with pytest.raises(StateError, match="bad.json"):
        load_miner(path)


def test_missing_state_raises_state_error(tmp_path: Path) -> None:
    """A missing file is a StateError too."""
    with pytest.raises(StateError):
        load_miner(tmp_path / "none.json")
