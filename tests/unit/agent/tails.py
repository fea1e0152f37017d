"""A `Tail` on a real file, for the unit tests of the agent's tailing modules."""

from __future__ import annotations

import os
from pathlib import Path

from agent.multiline import Joiner, make_rule
from agent.resume import Resume
from agent.tail import Limits, Tail


def open_tail(
    path: Path,
    *,
    offset: int = 0,
    rule: str = "",
    replay: list[int] | None = None,
    resume: Resume | None = None,
    now: float = 0.0,
    **limits: float,
) -> Tail:
    """Open `path` (it must exist) as the run loop does; `limits` are `Limits` fields."""
    fd = os.open(path, os.O_RDONLY)
    st = os.fstat(fd)
    return Tail(
        agent="test-agent",
        path=str(path),
        fd=fd,
        dev=st.st_dev,
        ino=st.st_ino,
        offset=resume.offset if resume else offset,
        joiner=Joiner(make_rule(rule), flush_timeout_s=1.0),
        max_line_bytes=1000,
        limits=Limits(**limits),  # type: ignore[arg-type]
        file_id=resume.file_id if resume else None,
        fp=resume.fp if resume else None,
        fp_len=resume.fp_len if resume else 0,
        replay=resume.replay if resume else replay,
        now=now,
    )
