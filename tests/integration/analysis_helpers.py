"""Helpers of the analysis integration tests: store synthetic events with chosen times."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from analysis.template_store import TemplateStore
from logship.records import Event

BASE = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # aligned to every window length used
COLUMNS = [
    "received_at",
    "ts",
    "host",
    "path",
    "level",
    "format",
    "message",
    "template_id",
    "agent",
    "file_id",
    "byte_offset",
    "batch_id",
]


@dataclass
class Line:
    at: datetime
    message: str
    level: str = "info"
    host: str = "web1"
    path: str = "/var/log/app.log"


async def store_lines(conn: asyncpg.Connection, store: TemplateStore, lines: list[Line]) -> None:
    """Assign templates and COPY the lines into log_events (one batch per call)."""
    for day in sorted({ln.at.date() for ln in lines}):
        await conn.execute("SELECT logship_ensure_partition($1::date)", day)
    evs = [Event(offset=i, line_count=1, message=ln.message) for i, ln in enumerate(lines)]
    await store.assign(conn, evs)
    records = [
        (
            ln.at,
            ln.at,
            ln.host,
            ln.path,
            ln.level,
            "generic",
            ln.message,
            ev.template_id,
            "agent-1",
            "1:2:abc",
            ev.offset,
            f"batch-{ln.at.timestamp():.0f}",
        )
        for ln, ev in zip(lines, evs, strict=True)
    ]
    await conn.copy_records_to_table("log_events", records=records, columns=COLUMNS)


def steady(
    windows: int,
    window_s: int,
    *,
    host: str = "web1",
    path: str = "/var/log/app.log",
    start: datetime = BASE,
    per_window: int = 20,
) -> list[Line]:
    """A steady stream: in each window a few kinds of info lines and one warning, varying a bit."""
    out: list[Line] = []
    for w in range(windows):
        t0 = start + timedelta(seconds=w * window_s)
        n = per_window + (w % 3) - 1
        for i in range(n):
            at = t0 + timedelta(seconds=(i * window_s) / (n + 1))
            if i % 2:
                msg = f"GET /api/items/{i * 7 + w} 200 in {i + 3} ms"
            else:
                msg = f"user session {1000 + i} refreshed token"
            out.append(Line(at, msg, "info", host, path))
        out.append(
            Line(t0 + timedelta(seconds=1), f"slow query took {w + 900} ms", "warning", host, path)
        )
    return out


async def store_batch_accounting(
    conn: asyncpg.Connection, batch_id: str, at: datetime, host: str, drops: dict[str, int]
) -> None:
    """An ingest_batches row with its ingest_drops, as the workers write them."""
    dropped = sum(drops.values())
    await conn.execute(
        "INSERT INTO ingest_batches (batch_id, agent, host, path, file_id, first_offset,"
        " lines_received, events_stored, lines_dropped, received_at)"
        " VALUES ($1, 'agent-1', $2, '/var/log/app.log', '1:2:abc', 0, $3, 100, $4, $5)",
        batch_id,
        host,
        100 + dropped,
        dropped,
        at,
    )
    for reason, lines in drops.items():
        await conn.execute(
            "INSERT INTO ingest_drops (batch_id, reason, lines) VALUES ($1, $2, $3)",
            batch_id,
            reason,
            lines,
        )


def decode_png(data: bytes) -> tuple[int, int, list[bytes]]:
    """(width, height, rows of RGB bytes) of an 8-bit RGB or RGBA, non-interlaced PNG."""
    import struct
    import zlib

    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, width, height, channels = 8, b"", 0, 0, 3
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, color, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and color in (2, 6) and interlace == 0, (depth, color, interlace)
            channels = 3 if color == 2 else 4
        elif kind == b"IDAT":
            idat += body
        elif kind == b"IEND":
            break
    raw = zlib.decompress(idat)
    stride = width * channels
    rows: list[bytes] = []
    prev = bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        ftype = raw[start]
        line = bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):
            a = line[i - channels] if i >= channels else 0
            b = prev[i]
            c = prev[i - channels] if i >= channels else 0
            if ftype == 1:
                line[i] = (line[i] + a) & 0xFF
            elif ftype == 2:
                line[i] = (line[i] + b) & 0xFF
            elif ftype == 3:
                line[i] = (line[i] + (a + b) // 2) & 0xFF
            elif ftype == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 0xFF
        prev = line
        if channels == 4:
            rgb = bytes(v for j in range(0, stride, 4) for v in line[j : j + 3])
        else:
            rgb = bytes(line)
        rows.append(rgb)
    return width, height, rows


def count_color(rows: list[bytes], rgb: tuple[int, int, int], tolerance: int = 12) -> int:
    """Pixels within `tolerance` of `rgb` on every channel."""
    r0, g0, b0 = rgb
    n = 0
    for row in rows:
        for j in range(0, len(row), 3):
            if (
                abs(row[j] - r0) <= tolerance
                and abs(row[j + 1] - g0) <= tolerance
                and abs(row[j + 2] - b0) <= tolerance
            ):
                n += 1
    return n
