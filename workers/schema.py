"""Apply schema.sql (idempotent; concurrent appliers are serialised by an advisory lock)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import asyncpg

from workers.errors import SchemaNotFoundError

SCHEMA_ENV = "LOGSHIP_SCHEMA_FILE"


def schema_candidates() -> list[Path]:
    """Where schema.sql is looked for, in order."""
    out = []
    if os.environ.get(SCHEMA_ENV):
        out.append(Path(os.environ[SCHEMA_ENV]))
    out.append(Path(__file__).resolve().parents[1] / "schema.sql")  # source checkout
    out.append(Path(sys.prefix) / "share" / "logship" / "schema.sql")  # installed data file
    return out


def schema_path() -> Path:
    """The schema file to apply; `LOGSHIP_SCHEMA_FILE` wins when set."""
    candidates = schema_candidates()
    if os.environ.get(SCHEMA_ENV):
        if candidates[0].is_file():
            return candidates[0]
        raise SchemaNotFoundError(f"{SCHEMA_ENV}={candidates[0]}: no such file")
    for path in candidates:
        if path.is_file():
            return path
    raise SchemaNotFoundError(
        "schema.sql not found (looked in " + ", ".join(str(p) for p in candidates) + f"); "
        f"set {SCHEMA_ENV}"
    )


async def apply_schema(conn: asyncpg.Connection, path: Path | None = None) -> Path:
    """Run schema.sql on `conn`; returns the file applied."""
    path = path or schema_path()
    sql = path.read_text(encoding="utf-8")
    try:
        await conn.execute(sql)
    except BaseException:
        # The script takes a session advisory lock; never hand back a connection holding it.
        if not conn.is_closed():
            try:
                await conn.execute("SELECT pg_advisory_unlock_all()")
            except Exception:  # noqa: BLE001 - the original error matters more
                conn.terminate()
        raise
    return path
