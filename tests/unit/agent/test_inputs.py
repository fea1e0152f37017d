"""The `run` configuration: [[inputs]] tables and run-only keys (agent/inputs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from agent.inputs import InputConfig, RunConfig, input_configs, load_run_config
from logship.config import describe
from logship.errors import ConfigError


def _load(tmp_path: Path, text: str) -> RunConfig:
    path = tmp_path / "agent.toml"
    path.write_text(text)
    return load_run_config(path, dotenv=None)


def test_inputs_tables_are_loaded(tmp_path: Path) -> None:
    """[[inputs]] tables with every key load into InputConfig objects."""
    cfg = _load(
        tmp_path,
        """
collector = "logs.example.com:9999"
rescan_interval_s = 5
[[inputs]]
paths = ["/var/log/app/**/*.log"]
exclude = ["*.debug.log"]
fields = { service = "web", tags = ["prod", "eu"] }
start_at = "end"
multiline = "python"
max_line_bytes = 4096
encoding = "latin-1"
[[inputs]]
paths = ["/var/log/syslog"]
""",
    )
    first, second = input_configs(cfg.inputs)
    assert first.paths == ["/var/log/app/**/*.log"] and first.start_at == "end"
    assert first.fields == {"service": "web", "tags": ["prod", "eu"]}
    assert first.transcode == "latin-1" and second.transcode is None
    assert second.start_at == "beginning" and second.multiline == ""
    assert cfg.rescan_interval_s == 5.0 and cfg.address == ("logs.example.com", 9999)


def test_unknown_input_key_names_the_table_and_key(tmp_path: Path) -> None:
    """An unknown key inside [[inputs]] is an error naming the file, the table and the key."""
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, '[[inputs]]\npaths = ["/x/*.log"]\npath = "oops"\n')
    text = str(err.value)
    assert "agent.toml" in text and "[[inputs]] #1" in text and "'path'" in text


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('paths = ["/x"]\nstart_at = "middle"', "start_at"),
        ('paths = ["/x"]\nmultiline = "(["', "not a valid regex"),
        ('paths = ["/x"]\nencoding = "utf-16"', "not ASCII-compatible"),
        ('paths = ["/x"]\nencoding = "klingon"', "unknown encoding"),
        ("paths = []", "at least one glob"),
        ('paths = ["/x"]\nfields = { when = 1979-05-27 }', "fields.when"),
    ],
)
def test_bad_input_values_are_refused(tmp_path: Path, body: str, message: str) -> None:
    """Bad values in an input are refused with a message naming the key."""
    with pytest.raises(ConfigError, match=message):
        _load(tmp_path, f"[[inputs]]\n{body}\n")


def test_run_keys_are_checked(tmp_path: Path) -> None:
    """Run-only keys are validated like the others."""
    with pytest.raises(ConfigError, match="metrics_port"):
        _load(tmp_path, "metrics_port = 70000\n")
    with pytest.raises(ConfigError, match="rescan_interval_s"):
        _load(tmp_path, "rescan_interval_s = 0\n")


def test_every_key_has_a_doc_and_a_default() -> None:
    """Each InputConfig and RunConfig key has a one-line doc (the config reference)."""
    for cls in (InputConfig, RunConfig):
        for key, _default, doc in describe(cls):
            assert doc and "\n" not in doc, key
