"""Log output for the server roles: short sentences with `key=value` fields, or JSON lines.

`LOGSHIP_LOG_FORMAT=json` switches every role that calls `configure` to one JSON object per
line (`time`, `level`, `logger`, `message`, and each `key=value` field of the message).
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from datetime import UTC, datetime

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_FIELD = re.compile(r"(\w+)=(\S+)")


class JsonFormatter(logging.Formatter):
    """One JSON object per record; `key=value` pairs in the message become fields."""

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        data: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": message,
        }
        for key, value in _FIELD.findall(message):
            data.setdefault(key, value)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def wants_json(environ: dict[str, str] | None = None) -> bool:
    env = os.environ if environ is None else environ
    return env.get("LOGSHIP_LOG_FORMAT", "text").strip().lower() == "json"


def formatter() -> logging.Formatter:
    return JsonFormatter() if wants_json() else logging.Formatter(TEXT_FORMAT)


def configure(level: int | str = logging.INFO) -> None:
    """Send the root logger to stderr in the format LOGSHIP_LOG_FORMAT asks for."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter())
    root.addHandler(handler)
    root.setLevel(level if isinstance(level, int) else level.upper())
