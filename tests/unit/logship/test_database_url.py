"""Which PostgreSQL the operator commands use (logship/database_url.py)."""

from __future__ import annotations

from pathlib import Path

from logship.database_url import DEFAULT_DATABASE_URL, database_url, redact


def test_the_flag_wins_then_the_environment(tmp_path: Path) -> None:
    """--database-url wins; else LOGSHIP_DATABASE_URL, then DATABASE_URL."""
    env = {"DATABASE_URL": "postgresql://b/db", "LOGSHIP_DATABASE_URL": "postgresql://a/db"}
    assert database_url("postgresql://flag/db", environ=env, cwd=tmp_path) == "postgresql://flag/db"
    assert database_url(environ=env, cwd=tmp_path) == "postgresql://a/db"
    only_b = {"DATABASE_URL": "postgresql://b/db"}
    assert database_url(environ=only_b, cwd=tmp_path) == "postgresql://b/db"


def test_dotenv_is_read_below_the_environment(tmp_path: Path) -> None:
    """A `.env` in the folder counts, but the environment overrides it."""
    (tmp_path / ".env").write_text("LOGSHIP_DATABASE_URL=postgresql://dotenv/db\n")
    assert database_url(environ={}, cwd=tmp_path) == "postgresql://dotenv/db"
    env = {"LOGSHIP_DATABASE_URL": "postgresql://env/db"}
    assert database_url(environ=env, cwd=tmp_path) == "postgresql://env/db"


def test_a_configured_value_then_the_embedded_database_then_the_default(tmp_path: Path) -> None:
    """A role's configured (non-default) URL comes next; then the database a `logship up` in
    this folder wrote to data/database_url (or $LOGSHIP_DATA_DIR); else the default."""
    assert database_url(environ={}, cwd=tmp_path) == DEFAULT_DATABASE_URL
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "database_url").write_text("postgresql://embedded/db\n")
    assert database_url(environ={}, cwd=tmp_path) == "postgresql://embedded/db"
    assert database_url(environ={}, cwd=tmp_path, configured=DEFAULT_DATABASE_URL) == (
        "postgresql://embedded/db"
    )
    configured = "postgresql://toml/db"
    assert database_url(environ={}, cwd=tmp_path, configured=configured) == configured
    other = {"LOGSHIP_DATA_DIR": "elsewhere"}
    assert database_url(environ=other, cwd=tmp_path) == DEFAULT_DATABASE_URL


def test_redact_hides_the_password() -> None:
    """Messages never show a database password."""
    assert redact("postgresql://u:secret@h:5432/db") == "postgresql://u:***@h:5432/db"
    assert redact("postgresql://u@h/db") == "postgresql://u@h/db"
