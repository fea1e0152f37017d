"""Deterministic generator of mixed, realistic log lines for benchmarks and tests.

Formats: RFC 3164 syslog, RFC 5424 syslog, nginx access, JSON lines, Python logging, logfmt,
Java (log4j) and plain text, in fixed proportions, from a seeded RNG so runs are comparable.
"""

from __future__ import annotations

import json
import random
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

HOSTS = ["web-1", "web-2", "db-1", "cache-3", "batch-7"]
PATHS = ["/", "/api/v1/users", "/api/v1/orders/{}", "/static/app.{}.js", "/login", "/health"]
AGENTS = [
    "curl/8.5.0",
    "Mozilla/5.0 (X11; Linux x86_64)",
    "kube-probe/1.29",
    "python-requests/2.32",
]
LEVELS = ["DEBUG", "INFO", "INFO", "INFO", "WARNING", "ERROR"]
WORDS = [
    "session",
    "user",
    "order",
    "cache",
    "request",
    "worker",
    "queue",
    "job",
    "file",
    "token",
    "shard",
    "replica",
]


def lines(n: int, seed: int = 42) -> Iterator[str]:
    rng = random.Random(seed)
    t = datetime(2026, 11, 29, 8, 0, 0, tzinfo=UTC)
    for i in range(n):
        t += timedelta(milliseconds=rng.randint(1, 40))
        kind = i % 8
        host = rng.choice(HOSTS)
        word = rng.choice(WORDS)
        num = rng.randint(1, 99999)
        if kind == 0:
            yield (
                f"{t:%b %d %H:%M:%S} {host} sshd[{num % 30000}]: Accepted publickey for "
                f"{word} from 10.0.{num % 255}.{num % 199} port {num % 60000 + 1024} ssh2"
            )
        elif kind == 1:
            yield (
                f"<{rng.choice([11, 13, 14, 30, 134])}>1 {t.isoformat()} {host} app {num} "
                f"ID{num % 50} - {word} {num} processed in {rng.random() * 90:.2f} ms"
            )
        elif kind == 2:
            path = rng.choice(PATHS).format(num)
            status = rng.choice([200, 200, 200, 201, 304, 404, 500, 502])
            yield (
                f'10.1.{num % 255}.{num % 97} - - [{t:%d/%b/%Y:%H:%M:%S +0000}] "GET {path} '
                f'HTTP/1.1" {status} {num % 20000} "-" "{rng.choice(AGENTS)}"'
            )
        elif kind == 3:
            yield json.dumps(
                {
                    "time": t.isoformat(),
                    "level": rng.choice(LEVELS).lower(),
                    "msg": f"{word} {num} updated",
                    "user_id": num,
                    "duration_ms": round(rng.random() * 100, 2),
                }
            )
        elif kind == 4:
            yield (
                f"{t:%Y-%m-%d %H:%M:%S},{t.microsecond // 1000:03d} {rng.choice(LEVELS)} "
                f"app.{word}: {word} {num} took {rng.randint(1, 900)} ms"
            )
        elif kind == 5:
            yield (
                f'ts={t.isoformat()} level={rng.choice(LEVELS).lower()} msg="{word} done" '
                f"id={num} elapsed={rng.random():.3f}s"
            )
        elif kind == 6:
            yield (
                f"{t:%Y-%m-%d %H:%M:%S}.{t.microsecond // 1000:03d} [main-{num % 8}] "
                f"{rng.choice(['INFO', 'WARN', 'ERROR'])} com.example.{word.title()}Service - "
                f"{word} {num} finished"
            )
        else:
            yield f"{word} {num} on {host}: state changed to {rng.choice(WORDS)}"


def write(path: Path, n: int, seed: int = 42) -> int:
    """Write n lines to path; return its size in bytes."""
    with path.open("w", encoding="utf-8") as fh:
        for line in lines(n, seed):
            fh.write(line)
            fh.write("\n")
    return path.stat().st_size


if __name__ == "__main__":
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    print(write(Path(sys.argv[1]), count))
