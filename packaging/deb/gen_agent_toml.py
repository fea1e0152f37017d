"""Write the agent's default config file (the .deb conffile) from the agent's config dataclass.

Every key appears commented out with its one-line doc and its default, so the file documents
itself and never drifts from the code: it is generated at package build time from
`logship.config.describe`. The class is `agent.inputs.RunConfig` (what `logship-agent run`
reads: `agent.config.AgentConfig` plus the `[[inputs]]` tables and the run-only keys), or
`AgentConfig` where there is no `run`. The `[[inputs]]` tables get a commented example built
from `agent.inputs.InputConfig`. `--set KEY=VALUE` writes a key uncommented (the package uses it for
settings whose default differs under systemd, such as the state directory).

The script checks its own output: the file must parse as TOML, uncommenting every key must
load back into exactly the defaults, and uncommenting the example tables must load too.

    python3 packaging/deb/gen_agent_toml.py -o build/agent.toml --set state_dir=/var/lib/logship-agent
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import sys
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

HEADER = """\
# Logship agent configuration ({version}).
#
# Every key is shown commented out with its default; uncomment a line to change it.
# Any key can also be set in the environment as LOGSHIP_<KEY> (upper case), for example in
# /etc/default/logship-agent, which the systemd unit reads. Unknown keys are an error.
# Check the file with:  logship-agent check-config --config /etc/logship/agent.toml
# After a change:       systemctl reload logship-agent   (or restart)
"""


def toml_value(value: Any) -> str:
    """A TOML literal for a config default (str, Path, bool, int, float, None, list, dict)."""
    if value is None:
        return '""'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, PurePath):
        return toml_value(str(value))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        items = ", ".join(f"{toml_key(str(k))} = {toml_value(v)}" for k, v in value.items())
        return "{" + (" " + items + " " if items else "") + "}"
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return toml_value(dataclasses.asdict(value))
    raise TypeError(f"no TOML form for {value!r}")


# Keys whose default would make a useless example: shown with this value instead.
EXAMPLE_VALUES = {"paths": '["/var/log/syslog", "/var/log/nginx/*.log"]'}
TABLES_MARK = "# ----------------------------------------------------------------- tables"
Entries = Sequence[tuple[str, Any, str]]


def toml_key(key: str) -> str:
    bare = key and all(c.isalnum() or c in "-_" for c in key) and key.isascii()
    return key if bare else json.dumps(key)


def render(
    entries: Entries,
    *,
    version: str,
    section: str | None = None,
    settings: dict[str, str] | None = None,
    tables: Mapping[str, Entries] | None = None,
) -> str:
    """The commented config file text for (key, default, doc) entries.

    `tables` maps a key holding an array of tables (like `inputs`) to the entries of one
    table: they are shown as a commented `[[key]]` example after every plain key.
    """
    settings = settings or {}
    unknown = set(settings) - {key for key, _, _ in entries}
    if unknown:
        raise ValueError(f"--set names unknown key(s): {', '.join(sorted(unknown))}")
    out = [HEADER.format(version=version).rstrip("\n")]
    if section:
        out += ["", f"[{section}]"]
    for key, default, doc in entries:
        out.append("")
        for line in (doc or "(no description)").splitlines():
            out.append(f"# {line}".rstrip())
        literal = toml_value(default)
        if default is None:
            literal += "  # unset"
        if key in settings:
            out.append(f"# Default: {key} = {literal}")
            out.append(f"{toml_key(key)} = {settings[key]}")
        else:
            out.append(f"# {toml_key(key)} = {literal}")
    docs = {key: doc for key, _, doc in entries}
    for name, table in (tables or {}).items():
        out += ["", TABLES_MARK, f"## {docs.get(name, '')}".rstrip()]
        out.append("## Uncomment the example, and repeat the table for each group of files:")
        out.append(f"# [[{name}]]")
        for key, default, doc in table:
            literal = EXAMPLE_VALUES.get(key) or toml_value(default)
            out.append(f"# # {doc}".rstrip())
            out.append(f"# {toml_key(key)} = {literal}")
    return "\n".join(out) + "\n"


def uncomment_all(text: str, keys: Sequence[str]) -> str:
    """The file with every `# key = default` line made active (for the self-check)."""
    lines = []
    prefixes = tuple(f"# {toml_key(k)} = " for k in keys)
    in_tables = False
    for line in text.splitlines():
        in_tables = in_tables or line == TABLES_MARK
        lines.append(line[2:] if line.startswith(prefixes) and not in_tables else line)
    return "\n".join(lines) + "\n"


def uncomment_tables(text: str) -> str:
    """The file with the example tables made active (for the self-check)."""
    head, mark, tail = text.partition(TABLES_MARK)
    if not mark:
        return text
    lines = [
        line[2:] if line.startswith("# ") and not line.startswith("##") else line
        for line in tail.splitlines()
    ]
    return head + "\n".join(lines) + "\n"


def self_check(text: str, cls: type, section: str | None, keys: Sequence[str]) -> None:
    """Parse the file, and load the all-uncommented version back through the real loader.

    `keys` are the commented keys: each must read back as its default.
    """
    import tempfile

    from logship.config import load

    tomllib.loads(text)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "agent.toml"
        path.write_text(uncomment_tables(text), encoding="utf-8")
        load(cls, path=path, section=section, environ={}, dotenv=None)
        path.write_text(uncomment_all(text, keys), encoding="utf-8")
        loaded: Any = load(cls, path=path, section=section, environ={}, dotenv=None)
    defaults = cls()
    for key in keys:
        got, want = getattr(loaded, key), getattr(defaults, key)
        if isinstance(want, Path):
            want = want.expanduser()  # the loader expands `~` in paths
        if got != want and not (isinstance(want, float) and math.isnan(want)):
            raise SystemExit(f"gen_agent_toml: key {key!r} reads back as {got!r}, not {want!r}")


DEFAULT_CLASSES = ("agent.inputs:RunConfig", "agent.config:AgentConfig")
TABLE_CLASSES: dict[str, str] = {"inputs": "agent.inputs:InputConfig"}


def config_class(spec: str | None) -> type:
    """The dataclass named `module:Name`; without a name, the first of DEFAULT_CLASSES found."""
    import importlib

    for item in [spec] if spec else DEFAULT_CLASSES:
        module, _, name = item.partition(":")
        try:
            found = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            if spec:
                raise
            continue
        if not (isinstance(found, type) and dataclasses.is_dataclass(found)):
            raise SystemExit(f"gen_agent_toml: {item} is not a dataclass")
        return found
    raise SystemExit(f"gen_agent_toml: none of {', '.join(DEFAULT_CLASSES)} can be imported")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", type=Path, help="file to write (default: stdout)")
    parser.add_argument("--section", default=None, help="write the keys under this [section]")
    parser.add_argument(
        "--class",
        dest="cls",
        default=None,
        metavar="MODULE:NAME",
        help="config dataclass (default: agent.inputs:RunConfig, else agent.config:AgentConfig)",
    )
    parser.add_argument(
        "--set",
        dest="settings",
        action="append",
        default=[],
        metavar="KEY=TOML",
        help="write KEY uncommented with this TOML value (repeatable)",
    )
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from logship import __version__
    from logship.config import describe

    settings: dict[str, str] = {}
    for item in args.settings:
        key, sep, value = item.partition("=")
        if not sep:
            parser.error(f"--set wants KEY=VALUE, got {item!r}")
        settings[key.strip()] = value.strip()
    cls = config_class(args.cls)
    entries = describe(cls)
    keys = {key for key, _, _ in entries}
    tables = {
        name: describe(config_class(spec)) for name, spec in TABLE_CLASSES.items() if name in keys
    }
    text = render(
        entries, version=__version__, section=args.section, settings=settings, tables=tables
    )
    commented = [key for key, _, _ in entries if key not in settings]
    self_check(text, cls, args.section, commented)
    if args.output is None:
        sys.stdout.write(text)
    else:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
