"""Which files to tail: glob matching (with `**`), excludes, scans, and the watchdog shell.

`Matcher` is pure: it turns an input's `paths` and `exclude` globs into regular expressions
and says whether a path matches. Glob syntax: `*` and `?` match within one path component
(dot files too), `[...]` a character class, and a component that is exactly `**` matches any
number of directories, none included. An exclude without a `/` is matched against the file
name, one with a `/` against the whole path (a relative one against its end). Compressed
files (`.gz`, `.bz2`, `.xz`, `.zst`, ...) never match: rotated archives are not logs to tail.

`scan(matchers)` walks the base folder of each glob (only as deep as the glob can reach) and
returns the matching files: the agent runs it at start and then every `rescan_interval_s`,
as the fallback for what inotify cannot report (queue overflow, NFS, a base folder that was
created later). `Watcher` wraps a watchdog observer: it reports created, modified, moved and
deleted paths under the base folders; everything else (opened, closed, ...) is ignored.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from agent.tail import COMPRESSED_SUFFIXES

log = logging.getLogger("logship.agent.discovery")

_WILD = re.compile(r"[*?\[]")


def _component(part: str) -> str:
    """Regex for one path component of a glob."""
    out: list[str] = []
    i, n = 0, len(part)
    while i < n:
        c = part[i]
        if c == "*":
            out.append("[^/]*")
        elif c == "?":
            out.append("[^/]")
        elif c == "[":
            j = i + 1
            if j < n and part[j] in "!^":
                j += 1
            if j < n and part[j] == "]":
                j += 1
            while j < n and part[j] != "]":
                j += 1
            if j >= n:
                out.append(re.escape(c))
            else:
                body = part[i + 1 : j]
                if body[:1] in ("!", "^"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j
        else:
            out.append(re.escape(c))
        i += 1
    return "".join(out)


def translate(pattern: str) -> re.Pattern[str]:
    """A compiled regex matching the whole path for a glob (`**` = any number of folders)."""
    parts = pattern.split("/")
    out: list[str] = []
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part == "**":
            out.append(".*" if last else "(?:[^/]*/)*")
        else:
            out.append(_component(part) + ("" if last else "/"))
    return re.compile("".join(out) + r"\Z")


@dataclass(frozen=True)
class Root:
    """A folder to watch and scan for one glob: how deep (None = unbounded, for `**`)."""

    path: str
    depth: int | None

    @property
    def recursive(self) -> bool:
        return self.depth is None or self.depth > 1


def glob_root(pattern: str) -> Root:
    """The fixed folder a glob starts in, and how many components it reaches below it."""
    parts = pattern.split("/")
    fixed: list[str] = []
    for part in parts[:-1]:
        if _WILD.search(part) or part == "**":
            break
        fixed.append(part)
    rest = parts[len(fixed) :]
    base = "/".join(fixed) or ("/" if pattern.startswith("/") else ".")
    depth = None if "**" in rest else len(rest)
    return Root(base, depth)


def is_compressed(path: str) -> bool:
    return path.endswith(COMPRESSED_SUFFIXES)


class Matcher:
    """Include and exclude globs of one input (absolute paths; `~` expanded)."""

    def __init__(self, paths: Iterable[str], exclude: Iterable[str] = ()) -> None:
        self.patterns = [_absolute(p) for p in paths]
        self._include = [translate(p) for p in self.patterns]
        self._exclude_names: list[re.Pattern[str]] = []
        self._exclude_paths: list[re.Pattern[str]] = []
        for raw in exclude:
            pat = os.path.expanduser(raw)
            if "/" not in pat:
                self._exclude_names.append(re.compile(_component(pat) + r"\Z"))
            elif pat.startswith("/"):
                self._exclude_paths.append(translate(pat))
            else:
                self._exclude_paths.append(translate("/**/" + pat))
        self.roots = [glob_root(p) for p in self.patterns]

    def matches(self, path: str) -> bool:
        if is_compressed(path):
            return False
        if not any(r.match(path) for r in self._include):
            return False
        name = path.rsplit("/", 1)[-1]
        if any(r.match(name) for r in self._exclude_names):
            return False
        return not any(r.match(path) for r in self._exclude_paths)


def _absolute(pattern: str) -> str:
    pattern = os.path.expanduser(pattern)
    if not pattern.startswith("/"):
        pattern = os.path.join(os.getcwd(), pattern)
    return pattern


def merged_roots(matchers: Iterable[Matcher]) -> list[Root]:
    """The roots of several matchers without the ones another root already covers."""
    roots: dict[str, int | None] = {}
    for m in matchers:
        for r in m.roots:
            if r.path in roots:
                old = roots[r.path]
                roots[r.path] = None if old is None or r.depth is None else max(old, r.depth)
            else:
                roots[r.path] = r.depth
    out = []
    for path, depth in sorted(roots.items()):
        covered = False
        for other, odepth in roots.items():
            if other != path and odepth is None and path.startswith(other.rstrip("/") + "/"):
                covered = True
                break
        if not covered:
            out.append(Root(path, depth))
    return out


def walk(root: Root, limit: int | None = None) -> Iterable[str]:
    """Regular files under a root, no deeper than its depth (symlinked folders not followed)."""
    base = root.path.rstrip("/") or "/"
    stack: list[tuple[str, int]] = [(base, 1)]
    seen = 0
    while stack:
        folder, level = stack.pop()
        try:
            it = os.scandir(folder)
        except OSError:
            continue
        with it:
            for entry in it:
                seen += 1
                if limit is not None and seen > limit:
                    return
                try:
                    if entry.is_dir(follow_symlinks=False):
                        if root.depth is None or level < root.depth:
                            stack.append((entry.path, level + 1))
                    elif entry.is_file():
                        yield entry.path
                except OSError:
                    continue


def scan(matchers: list[Matcher], limit: int | None = None) -> dict[str, int]:
    """Every file matching one of the matchers: path -> index of the first matcher."""
    found: dict[str, int] = {}
    for root in merged_roots(matchers):
        for path in walk(root, limit):
            if path in found:
                continue
            for i, m in enumerate(matchers):
                if m.matches(path):
                    found[path] = i
                    break
    return found


class Watcher:
    """watchdog (inotify) observer for the roots; calls `notify(path)` from its own thread.

    A root that does not exist yet is skipped; `watch` is called again after each rescan, and
    picks it up once it exists.
    """

    KINDS = frozenset({"created", "modified", "moved", "deleted"})

    def __init__(self, notify: Callable[[str], None]) -> None:
        from watchdog.events import FileSystemEventHandler
        from watchdog.observers import Observer

        outer = self

        class _Handler(FileSystemEventHandler):  # type: ignore[misc]
            def on_any_event(self, event: object) -> None:
                outer._on_event(event)

        self._notify = notify
        self._handler = _Handler()
        self._observer = Observer()
        self._observer.daemon = True
        self._watches: dict[tuple[str, bool], Any] = {}  # -> watchdog's ObservedWatch
        self._lock = threading.Lock()
        self._started = False

    def _on_event(self, event: object) -> None:
        kind = getattr(event, "event_type", "")
        if kind not in self.KINDS:
            return
        src = getattr(event, "src_path", "")
        if isinstance(src, bytes):
            src = os.fsdecode(src)
        if src:
            self._notify(src)
        dest = getattr(event, "dest_path", "")
        if dest:
            self._notify(os.fsdecode(dest) if isinstance(dest, bytes) else dest)

    def watch(self, roots: Iterable[Root]) -> None:
        """Schedule watches on the roots that exist (idempotent)."""
        with self._lock:
            for root in roots:
                key = (root.path, root.recursive)
                if key in self._watches or not os.path.isdir(root.path):
                    continue
                try:
                    self._watches[key] = self._observer.schedule(
                        self._handler, root.path, recursive=root.recursive
                    )
                except OSError as exc:
                    log.warning("Cannot watch %s (%s); relying on rescans there.", root.path, exc)
            if not self._started:
                self._observer.start()
                self._started = True

    def prune(self) -> None:
        """Forget watches whose folder was removed, so it is watched again once recreated."""
        with self._lock:
            for key, watch in list(self._watches.items()):
                if not os.path.isdir(key[0]):
                    with contextlib.suppress(KeyError, OSError):
                        self._observer.unschedule(watch)
                    del self._watches[key]

    def stop(self) -> None:
        if self._started:
            self._observer.stop()
            self._observer.join(timeout=5)
            self._started = False
