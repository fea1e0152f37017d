"""Run a command with one folder on a small, or full, file system of its own.

`on_small_disk` wraps a command so that `folder` is a tmpfs of `size_bytes`, mounted in a mount
namespace of the command's own (`unshare`: as root, or in a user namespace otherwise), so
nothing outside sees it and nothing needs unmounting. With `full=True` the tmpfs is filled
before the command starts: every write into the folder then fails with ENOSPC, a real full
disk for the program under test.
"""

from __future__ import annotations

import os
from pathlib import Path


def on_small_disk(
    folder: Path, size_bytes: int, argv: list[str], *, full: bool = False
) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    userns = [] if os.geteuid() == 0 else ["--map-root-user"]
    fill = ' && (cat /dev/zero > "$0/.fill" 2>/dev/null || true)' if full else ""
    script = f'mount -t tmpfs -o size={size_bytes} tmpfs "$0"{fill} && exec "$@"'
    return ["unshare", "--mount", *userns, "sh", "-c", script, str(folder), *argv]
