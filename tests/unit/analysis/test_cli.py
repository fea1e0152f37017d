"""`logship mine`: one id per line, templates, saved state."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest

from analysis.cli import mine_main

LINES = [
    "session closed for user alice",
    "Received block blk_1 of size 10",
    "session closed for user bob",
    "session closed for user carol",
    "Received block blk_2 of size 20",
]


def test_prints_one_final_id_per_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Ids come in input order; merged clusters print the id they were merged into."""
    src = tmp_path / "m.txt"
    src.write_text("\n".join(LINES) + "\n")
    assert mine_main([str(src)]) == 0
    ids = capsys.readouterr().out.split()
    assert len(ids) == len(LINES)
    assert ids[0] == ids[2] == ids[3] != ids[1] == ids[4]


def test_templates_and_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--templates prints id, count and template; --json gives one object per line."""
    src = tmp_path / "m.txt"
    src.write_text("\n".join(LINES))
    assert mine_main([str(src), "--templates"]) == 0
    rows = [line.split("\t") for line in capsys.readouterr().out.splitlines()]
    assert {(r[1], r[2]) for r in rows} == {
        ("3", "session closed for user <*>"),
        ("2", "Received block <*> of size <*>"),
    }
    assert mine_main([str(src), "--templates", "--json"]) == 0
    objs = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {o["template"] for o in objs} == {r[2] for r in rows}


def test_reads_stdin_and_keeps_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`-` reads standard input; --state continues from the saved templates."""
    state = tmp_path / "state.json"
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO("\n".join(LINES).encode())))
    assert mine_main(["-", "--state", str(state)]) == 0
    first = capsys.readouterr().out.split()
    monkeypatch.setattr(
        sys, "stdin", io.TextIOWrapper(io.BytesIO(b"session closed for user zed\n"))
    )
    assert mine_main(["-", "--state", str(state)]) == 0
    assert capsys.readouterr().out.split() == [first[0]]


def test_unreadable_input_and_corrupt_state_fail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing file or a corrupt state exits 1 with a message; the state is left alone."""
    assert mine_main([str(tmp_path / "missing.txt")]) == 1
    bad = tmp_path / "state.json"
    bad.write_bytes(b"\x00\x00")
    src = tmp_path / "m.txt"
    src.write_text("x\n")
    assert mine_main([str(src), "--state", str(bad)]) == 1
    assert bad.read_bytes() == b"\x00\x00"
    assert "state" in capsys.readouterr().err
