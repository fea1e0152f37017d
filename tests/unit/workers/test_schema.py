"""Finding schema.sql (workers/schema.py): `LOGSHIP_SCHEMA_FILE` first, then the source
checkout, then the installed data file; a clear SchemaNotFoundError otherwise. No database."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from workers import schema
from workers.errors import SchemaNotFoundError, WorkerError

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(autouse=True)
def no_schema_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """The caller's LOGSHIP_SCHEMA_FILE does not leak in."""
    monkeypatch.delenv(schema.SCHEMA_ENV, raising=False)


def test_candidates_in_order(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The environment variable comes first, then the checkout's and the installed file."""
    checkout = ROOT / "schema.sql"
    installed = Path(sys.prefix) / "share" / "logship" / "schema.sql"
    assert schema.schema_candidates() == [checkout, installed]
    monkeypatch.setenv(schema.SCHEMA_ENV, str(tmp_path / "mine.sql"))
    assert schema.schema_candidates() == [tmp_path / "mine.sql", checkout, installed]


def test_source_checkout_schema_is_found() -> None:
    """In a source checkout, the schema.sql beside the packages is the one applied."""
    path = schema.schema_path()
    assert path == ROOT / "schema.sql"
    assert "CREATE" in path.read_text(encoding="utf-8").upper()


def test_environment_variable_wins(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """LOGSHIP_SCHEMA_FILE naming a file is used even though the checkout has one."""
    mine = tmp_path / "mine.sql"
    mine.write_text("SELECT 1;\n")
    monkeypatch.setenv(schema.SCHEMA_ENV, str(mine))
    assert schema.schema_path() == mine


def test_environment_variable_naming_no_file_is_an_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """LOGSHIP_SCHEMA_FILE naming a missing file fails (no fallback to another schema)."""
    missing = tmp_path / "missing.sql"
    monkeypatch.setenv(schema.SCHEMA_ENV, str(missing))
    with pytest.raises(SchemaNotFoundError) as info:
        schema.schema_path()
    assert str(info.value) == f"LOGSHIP_SCHEMA_FILE={missing}: no such file"


def test_not_found_anywhere_lists_the_places_and_the_remedy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Without any schema file the error names every place looked in and the variable to set."""
    monkeypatch.setattr(schema, "__file__", str(tmp_path / "site" / "workers" / "schema.py"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    with pytest.raises(SchemaNotFoundError) as info:
        schema.schema_path()
    assert str(info.value) == (
        f"schema.sql not found (looked in {tmp_path}/site/schema.sql, "
        f"{tmp_path}/prefix/share/logship/schema.sql); set LOGSHIP_SCHEMA_FILE"
    )
    assert isinstance(info.value, WorkerError)


def test_installed_data_file_is_the_fallback(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Outside a checkout, the data file installed under <prefix>/share/logship is used."""
    installed = tmp_path / "prefix" / "share" / "logship" / "schema.sql"
    installed.parent.mkdir(parents=True)
    installed.write_text("SELECT 1;\n")
    monkeypatch.setattr(schema, "__file__", str(tmp_path / "site" / "workers" / "schema.py"))
    monkeypatch.setattr(sys, "prefix", str(tmp_path / "prefix"))
    assert schema.schema_path() == installed
