"""Glob matching, excludes, scans and the watchdog watcher (agent/discovery.py)."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from agent.discovery import Matcher, Root, Watcher, glob_root, merged_roots, scan, translate


def test_star_stays_within_one_folder() -> None:
    """`*` and `?` never cross a `/`; dot files match too."""
    rx = translate("/var/log/app/*.log")
    assert rx.match("/var/log/app/web.log")
    assert rx.match("/var/log/app/.hidden.log")
    assert not rx.match("/var/log/app/sub/web.log")
    assert not rx.match("/var/log/app/web.log.1")
    assert translate("/a/?.log").match("/a/x.log")


def test_double_star_matches_any_number_of_folders() -> None:
    """A `**` component matches zero or more folders."""
    rx = translate("/srv/**/*.log")
    assert rx.match("/srv/a.log")
    assert rx.match("/srv/x/a.log")
    assert rx.match("/srv/x/y/z/a.log")
    assert not rx.match("/srv/x/a.txt")
    assert translate("/srv/**").match("/srv/x/y")


def test_character_classes() -> None:
    """`[...]` and `[!...]` are character classes."""
    assert translate("/l/app[0-9].log").match("/l/app7.log")
    assert not translate("/l/app[!0-9].log").match("/l/app7.log")
    assert translate("/l/app[!0-9].log").match("/l/appx.log")


def test_glob_root_and_depth() -> None:
    """The fixed folder of a glob, and how deep it can reach (None with `**`)."""
    assert glob_root("/var/log/app/*.log") == Root("/var/log/app", 1)
    assert glob_root("/var/log/*/app.log") == Root("/var/log", 2)
    assert glob_root("/var/log/**/*.log") == Root("/var/log", None)
    assert glob_root("/var/log/syslog") == Root("/var/log", 1)


def test_merged_roots_drop_roots_inside_recursive_ones() -> None:
    """A root under another, unbounded root is not watched twice."""
    roots = merged_roots([Matcher(["/srv/**/*.log", "/srv/app/*.log", "/var/log/*.log"])])
    assert roots == [Root("/srv", None), Root("/var/log", 1)]


def test_excludes_by_name_and_by_path() -> None:
    """A bare exclude matches the file name; one with a `/` matches the path (or its end)."""
    m = Matcher(["/logs/**/*.log"], exclude=["*.debug.log", "/logs/private/**", "tmp/*.log"])
    assert m.matches("/logs/a/app.log")
    assert not m.matches("/logs/a/app.debug.log")
    assert not m.matches("/logs/private/x/app.log")
    assert not m.matches("/logs/a/tmp/app.log")


def test_compressed_files_never_match() -> None:
    """Rotated archives (.gz, .bz2, .xz, .zst) are ignored even when the glob matches them."""
    m = Matcher(["/logs/app.log*"])
    assert m.matches("/logs/app.log.1")
    for suffix in (".gz", ".bz2", ".xz", ".zst"):
        assert not m.matches("/logs/app.log.2" + suffix)


def test_relative_globs_are_made_absolute(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A relative glob is taken from the current folder."""
    monkeypatch.chdir(tmp_path)
    m = Matcher(["logs/*.log"])
    assert m.matches(str(tmp_path / "logs" / "a.log"))


def test_scan_finds_files_no_deeper_than_the_glob(tmp_path: Path) -> None:
    """scan() walks each base folder only as deep as the glob reaches."""
    (tmp_path / "a" / "b").mkdir(parents=True)
    for rel in ("x.log", "a/y.log", "a/b/z.log", "a/b/z.log.gz", "a/skip.txt"):
        (tmp_path / rel).write_text("l\n")
    shallow = scan([Matcher([f"{tmp_path}/*/*.log"])])
    assert sorted(shallow) == [f"{tmp_path}/a/y.log"]
    deep = scan([Matcher([f"{tmp_path}/**/*.log"])])
    assert sorted(deep) == sorted(f"{tmp_path}/{r}" for r in ("x.log", "a/y.log", "a/b/z.log"))


def test_scan_reports_the_first_matching_input(tmp_path: Path) -> None:
    """A file matched by two inputs belongs to the first one."""
    (tmp_path / "a.log").write_text("l\n")
    found = scan(
        [
            Matcher([f"{tmp_path}/*.txt"]),
            Matcher([f"{tmp_path}/*.log"]),
            Matcher([f"{tmp_path}/a.*"]),
        ]
    )
    assert found == {f"{tmp_path}/a.log": 1}


def test_watcher_reports_new_files_in_new_folders(tmp_path: Path) -> None:
    """The watchdog observer reports files created, written, moved and deleted under a root."""
    seen: list[str] = []
    got = threading.Event()

    def notify(path: str) -> None:
        seen.append(path)
        if path.endswith("late.log"):
            got.set()

    watcher = Watcher(notify)
    try:
        watcher.watch([Root(str(tmp_path), None)])
        (tmp_path / "new" / "deeper").mkdir(parents=True)
        time.sleep(0.2)  # let the observer add watches for the new folders
        (tmp_path / "new" / "deeper" / "late.log").write_text("x\n")
        assert got.wait(10), seen
    finally:
        watcher.stop()


def test_watcher_skips_missing_roots_until_they_exist(tmp_path: Path) -> None:
    """A root that does not exist yet is skipped, and watched once it exists."""
    watcher = Watcher(lambda p: None)
    try:
        missing = Root(str(tmp_path / "later"), 1)
        watcher.watch([missing])
        assert not watcher._watches
        (tmp_path / "later").mkdir()
        watcher.watch([missing])
        assert list(watcher._watches) == [(str(tmp_path / "later"), False)]
        (tmp_path / "later").rmdir()
        watcher.prune()
        assert not watcher._watches
    finally:
        watcher.stop()
