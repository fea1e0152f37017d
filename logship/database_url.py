"""Which PostgreSQL the operator commands (`report`, `status`, `retention`, `dead-letters`) use.

In order: `--database-url`; `LOGSHIP_DATABASE_URL` or `DATABASE_URL` (the environment, then
`.env`); the role's configured value (a TOML file), when it is not the default; the embedded
database of a `logship up` started from this folder (it writes `<data dir>/database_url`, the
data dir being `$LOGSHIP_DATA_DIR` or `./data`); else the default URL. So after `make run`,
`logship report` in the same folder reads the embedded database with nothing to set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from logship.config import read_dotenv

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/logship"
DATABASE_ENV = ("LOGSHIP_DATABASE_URL", "DATABASE_URL")
EMBEDDED_URL_FILE = "database_url"  # written by `logship up` in its data dir


def database_url(
    explicit: str | None = None,
    *,
    configured: str | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> str:
    """The URL to use (see the module doc)."""
    if explicit:
        return explicit
    base = Path.cwd() if cwd is None else cwd
    env = dict(read_dotenv(base / ".env"))
    env.update(os.environ if environ is None else environ)
    for name in DATABASE_ENV:
        if env.get(name):
            return env[name]
    if configured and configured != DEFAULT_DATABASE_URL:
        return configured
    embedded = base / env.get("LOGSHIP_DATA_DIR", "data") / EMBEDDED_URL_FILE
    try:
        url = embedded.read_text().strip()
    except OSError:
        url = ""
    return url or DEFAULT_DATABASE_URL


def redact(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = (parts.username or "") + ":***"
    return urlunsplit((parts.scheme, f"{user}@{netloc[-1]}", parts.path, parts.query, ""))
