"""Unit tests for logship.config: precedence, coercion and unknown-key errors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from logship.config import describe, doc_field, load, read_dotenv
from logship.errors import ConfigError


@dataclass
class Sample:
    host: str = doc_field("0.0.0.0", "Address to listen on.", env=("HOST",))
    port: int = doc_field(8888, "TCP port.", env=("PORT",))
    flush_interval_s: float = doc_field(1.0, "Seconds between flushes.")
    tags: list[str] = doc_field([], "Tags added to events.")
    verbose: bool = doc_field(False, "Log more.")
    ca_file: Path | None = doc_field(None, "CA bundle.")


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    """With no file and an empty environment every key has its default."""
    cfg = load(Sample, environ={}, dotenv=tmp_path / "none.env")
    assert cfg == Sample()


def test_precedence_file_then_dotenv_then_environment(tmp_path: Path) -> None:
    """TOML < .env < environment < explicit overrides; seed names like PORT work."""
    toml = tmp_path / "c.toml"
    toml.write_text('[collector]\nhost = "1.2.3.4"\nport = 1\ntags = ["a"]\n')
    dotenv = tmp_path / ".env"
    dotenv.write_text("PORT=2\nexport LOGSHIP_VERBOSE='yes'\n# comment\n")
    cfg = load(Sample, path=toml, section="collector", environ={"HOST": "h"}, dotenv=dotenv)
    assert (cfg.host, cfg.port, cfg.tags, cfg.verbose) == ("h", 2, ["a"], True)
    cfg = load(
        Sample,
        path=toml,
        section="collector",
        environ={"LOGSHIP_PORT": "3"},
        dotenv=dotenv,
        overrides={"port": 4, "flush_interval_s": None},
    )
    assert cfg.port == 4 and cfg.flush_interval_s == 1.0


def test_unknown_key_names_key_and_file(tmp_path: Path) -> None:
    """A misspelt key is an error that names the key and the file."""
    toml = tmp_path / "agent.toml"
    toml.write_text("prot = 5\n")
    with pytest.raises(ConfigError, match=r"agent\.toml.*'prot'"):
        load(Sample, path=toml, environ={}, dotenv=None)


@pytest.mark.parametrize(
    ("env", "message"),
    [({"PORT": "eighty"}, "PORT"), ({"LOGSHIP_VERBOSE": "maybe"}, "LOGSHIP_VERBOSE")],
)
def test_bad_values_name_their_source(env: dict[str, str], message: str) -> None:
    """A value of the wrong type is an error naming where it came from."""
    with pytest.raises(ConfigError, match=message):
        load(Sample, environ=env, dotenv=None)


def test_invalid_toml_and_missing_file(tmp_path: Path) -> None:
    """Broken TOML and a missing file are ConfigErrors naming the file."""
    bad = tmp_path / "bad.toml"
    bad.write_text("port = = 1")
    with pytest.raises(ConfigError, match="bad.toml"):
        load(Sample, path=bad, environ={}, dotenv=None)
    with pytest.raises(ConfigError, match="not found"):
        load(Sample, path=tmp_path / "nope.toml", environ={}, dotenv=None)


def test_lists_and_optional_paths_from_environment() -> None:
    """Comma lists (or JSON arrays) become lists; an empty optional path is None."""
    cfg = load(Sample, environ={"LOGSHIP_TAGS": "a, b", "LOGSHIP_CA_FILE": ""}, dotenv=None)
    assert cfg.tags == ["a", "b"] and cfg.ca_file is None
    as_json = load(Sample, environ={"LOGSHIP_TAGS": '["x{1,2}", "y"]'}, dotenv=None)
    assert as_json.tags == ["x{1,2}", "y"]  # a JSON array keeps commas inside items


def test_dotenv_rejects_lines_without_equals(tmp_path: Path) -> None:
    """A .env line that is not KEY=VALUE is an error with file and line number."""
    f = tmp_path / ".env"
    f.write_text("GOOD=1\nBAD LINE\n")
    with pytest.raises(ConfigError, match=r"\.env:2"):
        read_dotenv(f)


def test_describe_lists_every_key_with_doc() -> None:
    """describe() gives (key, default, doc) for documentation and commented config files."""
    rows = describe(Sample)
    assert rows[0] == ("host", "0.0.0.0", "Address to listen on.")
    assert all(doc for _, _, doc in rows)
