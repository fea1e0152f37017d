"""Config loading shared by every role: defaults < TOML file < `.env` file < environment.

Each role declares one dataclass whose fields all have a default, a unit in their name and a
one-line doc in `field(metadata={"doc": ...})`. A field may name extra environment variables in
`metadata["env"]` (the seed keys `HOST`, `PORT`, `STORAGE_PATH`, `BROKER_URL`). Every field can
also be set as `LOGSHIP_<FIELD>` in the environment or the `.env` file.

Unknown keys in a TOML file are an error naming the key and the file. Standard library only:
the agent imports this module on Debian's python3.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

from logship.errors import ConfigError

T = TypeVar("T")
ENV_PREFIX = "LOGSHIP_"


def doc_field(default: Any, doc: str, *, env: tuple[str, ...] = (), **kw: Any) -> Any:
    """A dataclass field with its one-line doc and extra environment names."""
    if isinstance(default, (list, dict)):
        template = default

        def factory() -> Any:
            return type(template)(template)

        return dataclasses.field(default_factory=factory, metadata={"doc": doc, "env": env}, **kw)
    return dataclasses.field(default=default, metadata={"doc": doc, "env": env}, **kw)


def read_dotenv(path: Path) -> dict[str, str]:
    """Parse a `.env` file: KEY=VALUE lines, `#` comments, optional quotes and `export`."""
    out: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return out
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[7:].lstrip()
        key, sep, value = line.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{path}:{number}: expected KEY=VALUE, got {raw!r}")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        out[key.strip()] = value
    return out


def read_toml(path: Path, section: str | None = None) -> dict[str, Any]:
    """Read a TOML file (optionally one `[section]` of it). Errors name the file."""
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"{path}: config file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    if section is None:
        return data
    value = data.get(section, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: [{section}] must be a table")
    return value


def _base_type(tp: Any) -> tuple[Any, bool]:
    """(the non-None type, whether None is allowed)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
    return tp, False


def coerce(value: Any, tp: Any, where: str) -> Any:
    """Convert a TOML value or an environment string to the field's type."""
    base, nullable = _base_type(tp)
    if value is None or (nullable and isinstance(value, str) and value == ""):
        if nullable:
            return None
        raise ConfigError(f"{where}: a value is required")
    origin = typing.get_origin(base)
    try:
        if base is bool:
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
                return True
            if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true or false")
        if base is int:
            if isinstance(value, bool):
                raise ValueError("expected an integer")
            if isinstance(value, str):
                return int(value.replace("_", ""))
            if isinstance(value, int):
                return value
            raise ValueError("expected an integer")
        if base is float:
            if isinstance(value, bool):
                raise ValueError("expected a number")
            return float(value)
        if base is str:
            if not isinstance(value, str):
                raise ValueError("expected a string")
            return value
        if base is Path:
            if not isinstance(value, str):
                raise ValueError("expected a path string")
            return Path(value).expanduser()
        if origin is list:
            (item,) = typing.get_args(base)
            if isinstance(value, str) and value.lstrip().startswith("["):
                value = json.loads(value)  # a JSON array: items may contain commas
            elif isinstance(value, str):
                value = [v.strip() for v in value.split(",") if v.strip()]
            if not isinstance(value, list):
                raise ValueError("expected a list")
            return [coerce(v, item, where) for v in value]
        if origin is dict or base is dict:
            if not isinstance(value, dict):
                raise ValueError("expected a table")
            return dict(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{where}: {exc} (got {value!r})") from None
    return value


def load(
    cls: type[T],
    *,
    path: Path | None = None,
    section: str | None = None,
    environ: Mapping[str, str] | None = None,
    dotenv: Path | None = Path(".env"),
    overrides: Mapping[str, Any] | None = None,
    data: Mapping[str, Any] | None = None,
) -> T:
    """Build `cls` from defaults, a TOML file, `.env`, the environment and explicit overrides.

    `data` is an already-read table (used for nested tables such as `[[inputs]]`).
    """
    environ = os.environ if environ is None else environ
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {}
    source = str(path) if path else "config"

    table: Mapping[str, Any] = data if data is not None else {}
    if path is not None:
        table = read_toml(path, section)
    for key, value in table.items():
        if key not in fields:
            where = f"{source}: [{section}]" if section else source
            raise ConfigError(
                f"{where}: unknown key {key!r} (known keys: {', '.join(sorted(fields))})"
            )
        values[key] = coerce(value, hints[key], f"{source}: key {key!r}")

    env: dict[str, str] = {}
    if dotenv is not None:
        env.update(read_dotenv(dotenv))
    env.update(environ)
    for name, f in fields.items():
        for var in (*f.metadata.get("env", ()), ENV_PREFIX + name.upper()):
            if var in env:
                values[name] = coerce(env[var], hints[name], f"environment variable {var}")
    for name, value in (overrides or {}).items():
        if value is not None:
            if name not in fields:
                raise ConfigError(f"unknown setting {name!r}")
            values[name] = coerce(value, hints[name], f"option {name}")
    obj = cls(**values)
    check = getattr(obj, "validate", None)
    if callable(check):
        check()
    return obj


def describe(cls: type) -> list[tuple[str, Any, str]]:
    """(key, default, doc) for every field: the basis of docs and commented config files."""
    out = []
    for f in dataclasses.fields(cls):
        if f.default is not dataclasses.MISSING:
            default = f.default
        elif f.default_factory is not dataclasses.MISSING:
            default = f.default_factory()
        else:
            default = None
        out.append((f.name, default, f.metadata.get("doc", "")))
    return out


def require_positive(obj: Any, *names: str) -> None:
    """Raise ConfigError unless every named numeric field is > 0."""
    for name in names:
        if getattr(obj, name) <= 0:
            raise ConfigError(f"key {name!r} must be > 0 (got {getattr(obj, name)!r})")
