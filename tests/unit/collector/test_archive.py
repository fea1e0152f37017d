"""The archive of received lines never leaves storage_path."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from collector.archive import append_lines, archive_path, safe_component


@pytest.mark.parametrize(
    "source",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "..",
        ".",
        "",
        "/",
        "a/../../../../b",
        "..\\..\\windows\\system32",
        "C:\\logs\\app.log",
        "x\x00y/../..",
        "/" + "a" * 5000,
        "/".join([".."] * 200),
        "~/.ssh/authorized_keys",
        "/var/log/\u2603.log",
    ],
)
@pytest.mark.parametrize("agent", ["agent-1", "..", "../..", "/", "", "a/b"])
def test_paths_stay_inside_the_root(tmp_path: Path, agent: str, source: str) -> None:
    """Whatever the agent id and source path say, the archive file is inside the root."""
    root = tmp_path / "store"
    target = archive_path(root, agent, source)
    assert os.path.commonpath([root, target]) == str(root)
    assert len(target.relative_to(root).parts) >= 2  # agent folder + file


def test_a_normal_path_keeps_its_shape(tmp_path: Path) -> None:
    """/var/log/syslog from web-1 is archived as web-1/var/log/syslog."""
    assert archive_path(tmp_path, "web-1", "/var/log/syslog") == tmp_path / "web-1/var/log/syslog"


def test_safe_component() -> None:
    """Components keep safe characters only and are never '.', '..' or empty."""
    assert safe_component("..") == "__"
    assert safe_component(".") == "_"
    assert safe_component("a b*c") == "a_b_c"
    assert len(safe_component("x" * 1000)) <= 100
    assert safe_component("x" * 1000) != safe_component("x" * 999)


def test_append_writes_the_raw_lines(tmp_path: Path) -> None:
    """Lines are appended as raw bytes, one per line, batch after batch."""
    append_lines(tmp_path, "a", "../../etc/passwd", [b"one", b"\xff\x00two"])
    target = append_lines(tmp_path, "a", "../../etc/passwd", [b"three"])
    assert target == tmp_path / "a/etc/passwd"
    assert target.read_bytes() == b"one\n\xff\x00two\nthree\n"
    assert not (tmp_path.parent / "etc").exists()


def test_write_failure_raises_archive_error(tmp_path: Path) -> None:
    """A write that cannot happen raises ArchiveError (the pool counts it, never fatal)."""
    from collector.errors import ArchiveError

    (tmp_path / "a").write_text("a file where a folder should be")
    with pytest.raises(ArchiveError):
        append_lines(tmp_path, "a", "/x/y.log", [b"line"])
