"""Check, before packaging, that the agent imports only what the .deb ships or depends on.

Allowed: the standard library, `watchdog`, `msgpack`, `tenacity` (Debian's python3-* packages
in Depends), the `agent` package itself and the `logship` modules listed on the command line.
Prints each offending import with its file and line, and exits 1 if there is any.

    python3 packaging/deb/check_agent_imports.py agent logship/__init__.py logship/wire.py ...
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

THIRD_PARTY = {"watchdog", "msgpack", "tenacity"}


def imports(path: Path, logship_dir: Path | None = None) -> Iterator[tuple[int, str]]:
    """(line, dotted module) for every absolute import in a file.

    `from logship import X` counts as importing the module `logship.X` when X is a module of
    `logship_dir`, else as importing `logship` (X is a name defined in its `__init__`).
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module
            if node.module == "logship" and logship_dir is not None:
                for alias in node.names:
                    name = alias.name
                    if (logship_dir / f"{name}.py").is_file() or (logship_dir / name).is_dir():
                        yield node.lineno, f"logship.{name}"


def problems(
    files: Sequence[Path], shipped_logship: set[str], logship_dir: Path | None = None
) -> list[str]:
    """Every import in `files` the package could not satisfy."""
    out = []
    for path in files:
        for line, module in imports(path, logship_dir):
            top = module.split(".")[0]
            if top in sys.stdlib_module_names or top in THIRD_PARTY or top == "agent":
                continue
            if top == "logship":
                parts = module.split(".")
                if len(parts) == 1 or parts[1] in shipped_logship:
                    continue
            out.append(f"{path}:{line}: imports {module}, which the .deb does not ship")
    return out


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args:
        print(__doc__, file=sys.stderr)
        return 2
    files: list[Path] = []
    shipped: set[str] = set()
    logship_dir: Path | None = None
    for arg in args:
        path = Path(arg)
        if path.is_dir():
            files.extend(sorted(path.rglob("*.py")))
        else:
            files.append(path)
            if path.parent.name == "logship":
                shipped.add(path.stem)
                logship_dir = path.parent
    found = problems(files, shipped, logship_dir)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
