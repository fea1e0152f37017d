#!/usr/bin/env bash
# Run the Docker image's builder-stage install in a throwaway virtual environment, then smoke
# test the result the way the runtime stage uses it. There is no Docker engine in CI: this keeps
# the Dockerfile's install steps (packaging/docker/install.sh) and its COPY list from rotting.
#
#   bash packaging/docker/ci-install.sh            # prints "ci-install: ok" on success
#   bash packaging/docker/ci-install.sh DIR        # the same, keeping the venv in DIR
#
# The source tree handed to install.sh holds only what the builder stage COPYs, so a package
# missing from the Dockerfile fails here. Needs network access to PyPI (pip install).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/logship-ci-install.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
SRC="$WORK/src"
PREFIX="$(realpath -m "${1:-$WORK/venv}")"
if [ -e "$PREFIX" ]; then
    echo "ci-install: $PREFIX exists already" >&2
    exit 1
fi
mkdir -p "$SRC"

# The builder stage's COPY sources (lines between "FROM ... AS builder" and the next FROM,
# excluding COPY --from): the same files, at the same places.
awk '
    /^FROM / { in_builder = ($0 ~ / AS builder$/) ; next }
    in_builder && /^COPY / && $0 !~ /--from=/ { for (i = 2; i < NF; i++) print $i }
' "$ROOT/Dockerfile" > "$WORK/copies"
if [ ! -s "$WORK/copies" ]; then
    echo "ci-install: no COPY lines found in the builder stage of the Dockerfile" >&2
    exit 1
fi
while read -r item; do
    if [ ! -e "$ROOT/$item" ]; then
        echo "ci-install: the Dockerfile copies $item, which does not exist" >&2
        exit 1
    fi
    mkdir -p "$SRC/$(dirname "$item")"
    cp -R "$ROOT/$item" "$SRC/$item"
done < "$WORK/copies"
find "$SRC" -name __pycache__ -prune -exec rm -rf {} +

PYTHON="${PYTHON:-python3}" sh "$ROOT/packaging/docker/install.sh" "$PREFIX" "$SRC"

# Smoke test from outside any source tree, as the runtime stage runs it.
cd "$WORK"
export PATH="$PREFIX/bin:$PATH"
unset LOGSHIP_SCHEMA_FILE PYTHONPATH
"$PREFIX/bin/logship" --version
for cmd in logship-collector logship-worker; do
    "$PREFIX/bin/$cmd" --version
done
# The image's ENTRYPOINT ["logship"] with each role as the command.
for role in collector worker up retention; do
    "$PREFIX/bin/logship" "$role" --help >/dev/null ||
        { echo "ci-install: 'logship $role --help' failed" >&2; exit 1; }
done
"$PREFIX/bin/python" - "$PREFIX" <<'PY'
import sys
from pathlib import Path

import collector.cli  # noqa: F401  - the `collector` role
import workers  # noqa: F401  - `celery -A workers worker`
import workers.cli  # noqa: F401  - the `worker` role
from workers.schema import schema_path

prefix = Path(sys.argv[1]).resolve()
assert Path(workers.__file__).resolve().is_relative_to(prefix), workers.__file__
found = schema_path().resolve()
assert found == prefix / "share" / "logship" / "schema.sql", found
PY
echo "ci-install: ok"
