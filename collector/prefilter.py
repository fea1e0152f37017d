"""The pre-filter: one received BATCH body → one cleaned, parsed, classified batch. Pure.

`process_batch` runs in the pool processes; it is a plain function so that it is tested
without any process, socket or broker.
"""

from __future__ import annotations

import functools
import re
from typing import Any, Protocol

from collector.clean import DROP_FILTERED, clean_entry, compile_filter, count_lines
from collector.parse import parse_event, safe_str, sanitize
from logship.records import CleanBatch, Event


class _Limits(Protocol):
    max_line_bytes: int  # and optionally drop_patterns: list[str]


@functools.lru_cache(maxsize=8)
def _filter(patterns: tuple[str, ...]) -> re.Pattern[str] | None:
    return compile_filter(list(patterns))


def process_batch(
    body: dict[str, Any], agent: str, hostname: str, received_at: float, cfg: _Limits
) -> CleanBatch:
    """Clean, parse and classify every entry of a validated BATCH body.

    Each entry becomes one event or is counted under a drop reason, so `CleanBatch.check()`
    holds. An entry's offset is taken from `offsets` when the agent sent them, otherwise it is
    estimated from the first offset and the entry lengths (one `\\n` terminator each).
    """
    lines: list[bytes] = body["lines"]
    offsets: list[int] | None = body.get("offsets")
    if offsets is not None and len(offsets) != len(lines):
        offsets = None
    first = int(body["offset"])
    fields = body.get("fields")
    # Lines the agent cut (`truncated`, in the entries `cut`) count once: the collector adds
    # only the entries it cuts that the agent did not (without `cut`, each of its own cuts).
    cut = set(body["cut"]) if body.get("cut") is not None else None
    batch = CleanBatch(  # strings PostgreSQL must accept: no NUL
        batch_id=safe_str(body["id"]),
        agent=safe_str(agent),
        hostname=safe_str(hostname),
        path=safe_str(body["path"]),
        file_id=safe_str(body["file"]),
        first_offset=first,
        received_at=received_at,
        lines_received=0,
        truncated=int(body.get("truncated", 0) or 0),
        fields=sanitize(fields) if fields else None,
    )
    drops = batch.drops
    events = batch.events
    position = first
    max_line_bytes = cfg.max_line_bytes
    drop = _filter(tuple(getattr(cfg, "drop_patterns", ())))
    for i, entry in enumerate(lines):
        n = count_lines(entry)
        batch.lines_received += n
        offset = offsets[i] if offsets is not None else position
        position += len(entry) + 1
        cleaned = clean_entry(entry, max_line_bytes)
        if cleaned.text is None:
            reason = cleaned.drop or "dropped"
            drops[reason] = drops.get(reason, 0) + n
            continue
        if drop is not None and drop.search(cleaned.text):
            drops[DROP_FILTERED] = drops.get(DROP_FILTERED, 0) + n
            continue
        if cleaned.truncated and (cut is None or i not in cut):
            batch.truncated += 1
        p = parse_event(cleaned.text, received_at)
        events.append(
            Event(
                offset=offset,
                line_count=n,
                message=p.message,
                format=p.format,
                ts=p.ts,
                host=p.host,
                level=p.level,
                fields=p.fields,
            )
        )
    return batch
