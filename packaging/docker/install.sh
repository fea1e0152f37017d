#!/bin/sh
# The install steps of the Docker image's builder stage, shared with CI (ci-install.sh) so that
# they cannot rot: make a virtual environment at PREFIX and install Logship's server side from
# the source folder SRC into it, with schema.sql where the workers look for it.
#
#   sh packaging/docker/install.sh /opt/logship /src
set -eu

PREFIX="$1"
SRC="$2"
PYTHON="${PYTHON:-python3}"

"$PYTHON" -m venv "$PREFIX"
"$PREFIX/bin/pip" install --no-cache-dir --disable-pip-version-check --no-compile \
    "${SRC}[server]"
# workers.schema finds <sys.prefix>/share/logship/schema.sql in an installed (non-editable) tree.
mkdir -p "$PREFIX/share/logship"
cp "$SRC/schema.sql" "$PREFIX/share/logship/schema.sql"
chmod 0644 "$PREFIX/share/logship/schema.sql"
