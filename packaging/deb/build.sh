#!/usr/bin/env bash
# Build dist/logship-agent_<version>_all.deb from this checkout, offline (`make deb`).
#
# The agent's code goes to /usr/lib/logship-agent (package `agent/` and the few `logship/`
# modules it imports), run by /usr/bin/logship-agent on Debian's /usr/bin/python3 with Debian's
# python3-watchdog, python3-msgpack and python3-tenacity. The conffile /etc/logship/agent.toml
# is generated from agent.config.AgentConfig, so it always lists the real keys and defaults.
#
# Environment: PYTHON (default .venv/bin/python, else python3; >= 3.11 with msgpack) runs the
# generators; SOURCE_DATE_EPOCH
# (default: the last commit's time) fixes timestamps; DIST (default dist) is the output folder.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/packaging/deb"
# The generators import agent.config (which needs msgpack): the repository's venv has it.
if [ -z "${PYTHON:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PYTHON="$ROOT/.venv/bin/python"; else PYTHON=python3; fi
fi
DIST="${DIST:-$ROOT/dist}"
PKG=logship-agent
# The logship modules the agent needs: the wire format, the config loader and their errors.
LOGSHIP_MODULES=(__init__.py wire.py config.py errors.py)

cd "$ROOT"
for tool in dpkg-deb gzip "$PYTHON"; do
    command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (apt-get install dpkg)" >&2; exit 1; }
done
if ! "$PYTHON" -c 'import sys, tomllib, msgpack; assert sys.version_info >= (3, 11)' 2>/dev/null; then
    echo "build.sh: $PYTHON must be Python >= 3.11 with msgpack (run 'make venv', or set PYTHON)" >&2
    exit 1
fi
if [ ! -f agent/cli.py ] || [ ! -f agent/config.py ]; then
    echo "build.sh: agent/cli.py and agent/config.py are needed to build the package" >&2
    exit 1
fi

VERSION="$(sed -n 's/^__version__ = "\(.*\)"$/\1/p' logship/__init__.py)"
if [ -z "$VERSION" ]; then
    echo "build.sh: no __version__ in logship/__init__.py" >&2
    exit 1
fi
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH="$(git -C "$ROOT" log -1 --format=%ct 2>/dev/null || date +%s)"
fi
export SOURCE_DATE_EPOCH

shipped=(agent)
for m in "${LOGSHIP_MODULES[@]}"; do shipped+=("logship/$m"); done
"$PYTHON" "$HERE/check_agent_imports.py" "${shipped[@]}"

STAGE="$ROOT/build/deb/${PKG}_${VERSION}_all"
rm -rf "$STAGE"
umask 022
mkdir -p "$STAGE/DEBIAN" "$STAGE/usr/lib/$PKG/logship" "$STAGE/usr/bin" \
    "$STAGE/etc/logship" "$STAGE/lib/systemd/system" "$STAGE/usr/share/doc/$PKG" \
    "$STAGE/usr/share/man/man1"

# Code: every .py of the agent package (no caches, no tests), and the shared modules.
(cd "$ROOT" && find agent -name '*.py' -not -path '*/__pycache__/*' -print0) |
    while IFS= read -r -d '' f; do
        install -D -m 0644 "$ROOT/$f" "$STAGE/usr/lib/$PKG/$f"
    done
for m in "${LOGSHIP_MODULES[@]}"; do
    install -m 0644 "logship/$m" "$STAGE/usr/lib/$PKG/logship/$m"
done
install -m 0755 "$HERE/logship-agent" "$STAGE/usr/bin/logship-agent"

# Configuration: every key commented with its default. The state directory is set: the
# service runs as `logship`, not root, and may write only /var/lib/logship-agent.
"$PYTHON" "$HERE/gen_agent_toml.py" -o "$STAGE/etc/logship/agent.toml" \
    --set 'state_dir="/var/lib/logship-agent"'
chmod 0644 "$STAGE/etc/logship/agent.toml"

install -m 0644 "$HERE/logship-agent.service" "$STAGE/lib/systemd/system/logship-agent.service"

# Documentation as Debian policy wants it. The package is native (its version is Logship's own,
# without a Debian revision), so its changelog is changelog.gz, not changelog.Debian.gz.
install -m 0644 "$HERE/debian/copyright" "$STAGE/usr/share/doc/$PKG/copyright"
install -m 0644 "$HERE/debian/README.Debian" "$STAGE/usr/share/doc/$PKG/README.Debian"
DATE_RFC2822="$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
{
    printf '%s (%s) unstable; urgency=medium\n\n' "$PKG" "$VERSION"
    printf '  * Logship %s: see CHANGELOG.md in the source for what changed.\n\n' "$VERSION"
    printf ' -- Logship maintainers <maintainers@logship.example.org>  %s\n' "$DATE_RFC2822"
} | gzip -9n > "$STAGE/usr/share/doc/$PKG/changelog.gz"
gzip -9n < "$HERE/debian/logship-agent.1" > "$STAGE/usr/share/man/man1/logship-agent.1.gz"
chmod 0644 "$STAGE/usr/share/doc/$PKG/changelog.gz" "$STAGE/usr/share/man/man1/logship-agent.1.gz"

# Control files.
for script in postinst prerm postrm; do
    install -m 0755 "$HERE/debian/$script" "$STAGE/DEBIAN/$script"
done
echo "/etc/logship/agent.toml" > "$STAGE/DEBIAN/conffiles"
(cd "$STAGE" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z |
    xargs -0 md5sum) > "$STAGE/DEBIAN/md5sums"
INSTALLED_SIZE="$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)"
sed -e "s/@VERSION@/$VERSION/" -e "s/@INSTALLED_SIZE@/$INSTALLED_SIZE/" \
    "$HERE/debian/control.in" > "$STAGE/DEBIAN/control"
chmod 0644 "$STAGE/DEBIAN/control" "$STAGE/DEBIAN/conffiles" "$STAGE/DEBIAN/md5sums"

find "$STAGE" -type d -exec chmod 0755 {} +
find "$STAGE" -exec touch --no-dereference --date="@$SOURCE_DATE_EPOCH" {} +

mkdir -p "$DIST"
OUT="$DIST/${PKG}_${VERSION}_all.deb"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$OUT" >/dev/null
echo "$OUT"
