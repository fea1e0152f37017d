"""What `logship-agent run` tails: `[[inputs]]` tables and the run-only settings.

    [[inputs]]
    paths = ["/var/log/app/**/*.log"]
    exclude = ["*.debug.log"]
    fields = { service = "web", tags = ["prod", "eu"] }
    start_at = "beginning"        # or "end": where to start in a file first seen at start-up
    multiline = "python"          # "java", a first-line regex, or "" (one line per event)
    max_line_bytes = 0            # 0 = the agent's max_line_bytes
    encoding = "utf-8"

Each table is checked like the rest of the config: unknown keys are an error naming the table
and the key. The keys only `run` uses (`inputs`, `rescan_interval_s`, `rotate_wait_s`,
`linger_renamed_s`, `metrics_port`, `metrics_host`) are in `AgentConfig`, so one agent.toml
serves every command.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from agent.config import AgentConfig, config_path_from_env
from agent.multiline import make_rule
from logship import config as cfgmod
from logship.config import doc_field
from logship.errors import ConfigError

START_AT = ("beginning", "end")


@dataclass
class InputConfig:
    paths: list[str] = doc_field([], "globs of files to tail (`**` matches any folders)")
    exclude: list[str] = doc_field(
        [], "globs of files not to tail (a bare name matches the file name, else the path)"
    )
    fields: dict[str, Any] = doc_field(
        {}, 'fields added to every event, e.g. { service = "web", tags = ["prod"] }'
    )
    start_at: str = doc_field(
        "beginning", "where to start in a file first seen at start-up: beginning | end"
    )
    multiline: str = doc_field(
        "", "multiline rule: python | java | a first-line regex (empty = one line per event)"
    )
    multiline_max_lines: int = doc_field(1000, "most lines joined into one multiline event")
    multiline_flush_s: float = doc_field(
        1.0, "a pending multiline event is shipped after this long without a new line"
    )
    max_line_bytes: int = doc_field(0, "longer lines are cut (0 = the agent's max_line_bytes)")
    encoding: str = doc_field(
        "utf-8", "the files' encoding (ASCII-compatible); lines are shipped as UTF-8"
    )

    def validate(self) -> None:
        if not self.paths:
            raise ConfigError("key 'paths' must name at least one glob")
        if self.start_at not in START_AT:
            raise ConfigError(f"key 'start_at' must be beginning or end (got {self.start_at!r})")
        make_rule(self.multiline)
        cfgmod.require_positive(self, "multiline_max_lines", "multiline_flush_s")
        if self.max_line_bytes < 0:
            raise ConfigError(f"key 'max_line_bytes' must be >= 0 (got {self.max_line_bytes})")
        try:
            codecs.lookup(self.encoding)
        except LookupError:
            raise ConfigError(f"key 'encoding': unknown encoding {self.encoding!r}") from None
        if "\n".encode(self.encoding, "ignore") != b"\n":
            raise ConfigError(
                f"key 'encoding': {self.encoding!r} is not ASCII-compatible (lines are split "
                "on the newline byte); convert such files to UTF-8 first"
            )
        _check_fields(self.fields)

    @property
    def transcode(self) -> str | None:
        """The encoding to convert from, or None when lines are shipped as they are."""
        name = codecs.lookup(self.encoding).name
        return None if name in ("utf-8", "ascii") else self.encoding


def _check_fields(value: Any, where: str = "fields") -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _check_fields(v, f"{where}.{k}")
    elif isinstance(value, list):
        for v in value:
            _check_fields(v, where)
    elif not isinstance(value, (str, int, float, bool)):
        raise ConfigError(
            f"key {where!r}: only strings, numbers, booleans, lists and tables (got {value!r})"
        )


RunConfig = AgentConfig  # `run` uses the agent's config; its keys are in AgentConfig


def input_configs(tables: list[dict[str, Any]]) -> list[InputConfig]:
    """The `[[inputs]]` tables, each loaded and checked. Raises ConfigError."""
    out = []
    for i, table in enumerate(tables, 1):
        try:
            out.append(cfgmod.load(InputConfig, data=table, environ={}, dotenv=None))
        except ConfigError as exc:
            raise ConfigError(f"[[inputs]] #{i}: {exc}") from None
    return out


def load_run_config(
    path: Path | None = None,
    *,
    overrides: dict[str, Any] | None = None,
    dotenv: Path | None = Path(".env"),
) -> RunConfig:
    """Load and check the `run` configuration. Errors name the file and the key."""
    path = path or config_path_from_env()
    try:
        return cfgmod.load(RunConfig, path=path, overrides=overrides, dotenv=dotenv)
    except ConfigError as exc:
        text = str(exc)
        if path is not None and str(path) not in text:
            raise ConfigError(f"{path}: {text}") from None
        raise
