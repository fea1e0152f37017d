"""Archive of received lines under `storage_path/<agent>/<source path made safe>`.

`archive_path` is pure: whatever the agent id and source path say (`../../etc/passwd`,
`/etc/passwd`, `C:\\x`, NUL bytes, very long names), the result is inside the storage root.
Each component is reduced to `[A-Za-z0-9._-]`, `.`/`..` and empty parts are dropped
(`/var/log/syslog` from `web-1` → `web-1/var/log/syslog`). `append_lines` writes one batch with a single `O_APPEND` write, so batches from
several pool processes do not interleave inside a batch.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from collector.errors import ArchiveError

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")
MAX_COMPONENT = 100
MAX_DEPTH = 16


def safe_component(part: str) -> str:
    """One path component reduced to safe characters; never empty, `.` or `..`."""
    cleaned = _UNSAFE.sub("_", part)
    if len(cleaned) > MAX_COMPONENT:
        digest = hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest()[:12]
        cleaned = cleaned[: MAX_COMPONENT - 13] + "-" + digest
    if cleaned.strip(".") == "":
        cleaned = cleaned.replace(".", "_") or "_"
    return cleaned


def archive_path(root: Path, agent: str, source_path: str) -> Path:
    """Where the lines of `source_path` from `agent` are archived; always inside `root`."""
    parts = [p for p in re.split(r"[/\\]+", source_path) if p not in ("", ".", "..")]
    parts = [safe_component(p) for p in parts][-MAX_DEPTH:] or ["_"]
    base = Path(os.path.abspath(root))
    target = Path(os.path.abspath(base.joinpath(safe_component(agent or "_"), *parts)))
    if os.path.commonpath([base, target]) != str(base):  # cannot happen; belt and braces
        raise ArchiveError(f"archive path for {source_path!r} escapes {base}")
    return target


def append_lines(root: Path, agent: str, source_path: str, lines: list[bytes]) -> Path:
    """Append the raw entries (one per line) to the source's archive file."""
    target = archive_path(root, agent, source_path)
    data = b"".join(entry + b"\n" for entry in lines)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(target, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o640)
        try:
            view = memoryview(data)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            os.close(fd)
    except OSError as exc:
        raise ArchiveError(f"cannot archive {len(lines)} lines to {target}: {exc}") from exc
    return target
