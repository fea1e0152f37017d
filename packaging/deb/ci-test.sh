#!/usr/bin/env bash
# CI test of the agent's Debian package, as root on a Debian 12 machine:
#
#   1. build dist/logship-agent_<version>_all.deb (packaging/deb/build.sh) and lint it
#      (lintian: no errors allowed);
#   2. apt-get install it (pulls Debian's python3-watchdog, python3-msgpack, python3-tenacity);
#      check the user, the conffile, the state folder; `systemd-analyze verify` the unit;
#   3. run the installed /usr/bin/logship-agent (Debian's /usr/bin/python3): --version,
#      check-config, `send` of a small file to a test collector, and a short `run` as the
#      service user that tails a file until its lines are acknowledged, then SIGTERM;
#   4. apt-get purge it and check that the user, config and state are gone.
#
# The test collector is the real one (`python -m collector`, filesystem broker in a temporary
# folder) run from the repository's virtual environment ($LOGSHIP_PYTHON, default .venv/bin/python).
# Prints "ci-test: ok" and exits 0 on success; any failure exits non-zero with a message.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
HERE="$ROOT/packaging/deb"
VENV_PY="${LOGSHIP_PYTHON:-$ROOT/.venv/bin/python}"
export DEBIAN_FRONTEND=noninteractive
WAIT_S="${LOGSHIP_CI_WAIT_S:-60}"

say() { echo "ci-test: $*"; }
fail() { echo "ci-test: FAILED: $*" >&2; exit 1; }

[ "$(id -u)" = 0 ] || fail "must run as root (it installs and purges a package)"
for tool in dpkg-deb apt-get dpkg; do
    command -v "$tool" >/dev/null || fail "$tool is missing: this test needs Debian's dpkg and apt"
done
[ -x "$VENV_PY" ] || fail "no Python at $VENV_PY for the test collector (make venv)"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/logship-deb-ci.XXXXXX")"
chmod 0755 "$WORK"
COLLECTOR_PID=""
AGENT_PID=""
cleanup() {
    local rc=$?
    for pid in $AGENT_PID $COLLECTOR_PID; do
        kill "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if dpkg-query -W -f='${Status}' logship-agent 2>/dev/null | grep -q 'installed'; then
        apt-get purge -y -qq logship-agent >/dev/null 2>&1 || true
    fi
    if [ "$rc" != 0 ] && [ -f "$WORK/collector.log" ]; then
        echo "--- collector log" >&2; tail -n 40 "$WORK/collector.log" >&2
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# Apt lists are needed to resolve the Depends (and to install lintian).
if ! apt-cache show python3-watchdog >/dev/null 2>&1; then
    say "apt-get update"
    apt-get update -qq
fi
if ! command -v lintian >/dev/null; then
    say "installing lintian"
    apt-get install -y -qq --no-install-recommends lintian >/dev/null
fi

# ----------------------------------------------------------------------------- 1. build, lint
DEB="$(bash "$HERE/build.sh" | tail -n 1)"
[ -f "$DEB" ] || fail "build.sh did not produce a package"
VERSION="$(dpkg-deb -f "$DEB" Version)"
say "built $DEB ($VERSION)"
lintian_rc=0
lintian --fail-on error "$DEB" > "$WORK/lintian.txt" 2>&1 || lintian_rc=$?
cat "$WORK/lintian.txt"
if [ "$lintian_rc" != 0 ] || grep -q '^E:' "$WORK/lintian.txt"; then
    fail "lintian reported errors (exit $lintian_rc)"
fi
say "lintian: no errors"

# ----------------------------------------------------------------------------- 2. install
if dpkg-query -W -f='${Status}' logship-agent 2>/dev/null | grep -q 'installed'; then
    apt-get purge -y -qq logship-agent >/dev/null
fi
apt-get install -y -qq "$DEB" >/dev/null || fail "apt-get install $DEB failed"
dpkg-query -W -f='${Status}\n' logship-agent | grep -q '^install ok installed$' ||
    fail "logship-agent is not installed after apt-get install"
for dep in python3-watchdog python3-msgpack python3-tenacity; do
    dpkg-query -W -f='${Status}\n' "$dep" | grep -q 'ok installed' || fail "$dep not installed"
done
id logship >/dev/null 2>&1 || fail "postinst did not create the logship user"
id -nG logship | tr ' ' '\n' | grep -qx adm || fail "user logship is not in group adm"
[ -f /etc/logship/agent.toml ] || fail "conffile /etc/logship/agent.toml missing"
[ "$(stat -c %U /var/lib/logship-agent)" = logship ] ||
    fail "/var/lib/logship-agent is not owned by logship"
say "installed: user logship (groups: $(id -nG logship)), /etc/logship/agent.toml"

if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify /lib/systemd/system/logship-agent.service > "$WORK/verify.txt" 2>&1 ||
        { cat "$WORK/verify.txt" >&2; fail "systemd-analyze verify found problems in the unit"; }
    if [ -s "$WORK/verify.txt" ]; then
        cat "$WORK/verify.txt" >&2
        fail "systemd-analyze verify printed warnings for the unit"
    fi
    say "systemd-analyze verify: clean"
else
    say "systemd-analyze not installed: unit not verified"
fi

# ----------------------------------------------------------------------------- 3. run it
# The installed agent runs on Debian's python3, with nothing from the repository's environment.
agent() {
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$WORK" LANG=C.UTF-8 \
        LOGSHIP_COLLECTOR="127.0.0.1:$PORT" "$@"
}
PORT="$("$VENV_PY" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

got="$(agent /usr/bin/logship-agent --version)" || fail "logship-agent --version failed"
echo "$got" | grep -qF "$VERSION" || fail "--version printed '$got', not version $VERSION"
say "installed agent: $got"
(cd "$WORK" && agent /usr/bin/logship-agent check-config --config /etc/logship/agent.toml) \
    >/dev/null || fail "check-config rejects the packaged /etc/logship/agent.toml"
say "check-config accepts the packaged configuration"

# Test collector: the real one, with a filesystem broker under $WORK. What it received is
# counted as the files it wrote (broker messages, archive). Before the collector package
# exists in this tree, an ACK-only stand-in (ack_collector.py) records each batch instead.
mkdir -p "$WORK/broker" "$WORK/received"
if [ -f "$ROOT/collector/__main__.py" ]; then
    (cd "$WORK" && exec env BROKER_URL=filesystem:// LOGSHIP_BROKER_DIR="$WORK/broker" \
        STORAGE_PATH="$WORK/received" HOST=127.0.0.1 LOGSHIP_METRICS_PORT=0 \
        PYTHONPATH="$ROOT" "$VENV_PY" -m collector --port "$PORT") > "$WORK/collector.log" 2>&1 &
else
    say "collector/__main__.py not found: using the ACK-only stand-in collector"
    "$VENV_PY" "$HERE/ack_collector.py" --port "$PORT" --record "$WORK/received/batches.txt" \
        > "$WORK/collector.log" 2>&1 &
fi
COLLECTOR_PID=$!
for _ in $(seq 1 "$((WAIT_S * 10))"); do
    if (: > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
    kill -0 "$COLLECTOR_PID" 2>/dev/null || fail "the test collector exited (see its log)"
    sleep 0.1
done
(: > "/dev/tcp/127.0.0.1/$PORT") 2>/dev/null || fail "the test collector is not listening"
say "test collector on 127.0.0.1:$PORT"

queued() {
    local files batches
    files="$(find "$WORK/broker" "$WORK/received" -type f -size +0 | wc -l)"
    batches=0
    [ -f "$WORK/received/batches.txt" ] && batches="$(wc -l < "$WORK/received/batches.txt")"
    echo $((files + batches))
}

# send: a small file, once, as root; exit 0 means every line was acknowledged.
for i in $(seq 1 50); do echo "Nov 29 12:00:$((i % 60)) web-1 app[42]: send test line $i"; done \
    > "$WORK/send.log"
before="$(queued)"
(cd "$WORK" && agent LOGSHIP_STATE_DIR="$WORK/send-state" /usr/bin/logship-agent send \
    "$WORK/send.log") || fail "logship-agent send exited $?"
[ "$(queued)" -gt "$before" ] || fail "send exited 0 but nothing reached the collector's broker"
say "send: 50 lines acknowledged"

# run: as the service user, with the packaged configuration plus one [[inputs]] table tailing
# a file in $WORK, until its lines are acknowledged; then SIGTERM must stop it with exit 0.
agent /usr/bin/logship-agent run --help >/dev/null 2>&1 ||
    fail "the installed agent has no working 'run' subcommand"
mkdir -p "$WORK/tail"
for i in $(seq 1 20); do echo "Nov 29 12:01:$i web-1 app[42]: run test line $i"; done \
    > "$WORK/tail/app.log"
{
    cat /etc/logship/agent.toml
    printf '\n[[inputs]]\npaths = ["%s/tail/*.log"]\n' "$WORK"
} > "$WORK/run.toml"
chown -R logship:logship "$WORK/tail"
chmod 0644 "$WORK/run.toml"
before="$(queued)"
(cd "$WORK" && exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
    LOGSHIP_COLLECTOR="127.0.0.1:$PORT" \
    setpriv --reuid=logship --regid=logship --init-groups -- /usr/bin/logship-agent run --config "$WORK/run.toml") \
    > "$WORK/run.log" 2>&1 &
AGENT_PID=$!
for _ in $(seq 1 "$((WAIT_S * 10))"); do
    [ "$(queued)" -gt "$before" ] && break
    kill -0 "$AGENT_PID" 2>/dev/null || { cat "$WORK/run.log" >&2; fail "run exited early"; }
    sleep 0.1
done
[ "$(queued)" -gt "$before" ] || { cat "$WORK/run.log" >&2; fail "run shipped nothing"; }
# The checkpoint follows the ACK (at most checkpoint_interval_s later).
for _ in $(seq 1 "$((WAIT_S * 10))"); do
    [ -n "$(find /var/lib/logship-agent -type f -user logship)" ] && break
    sleep 0.1
done
kill -TERM "$AGENT_PID"
rc=0
wait "$AGENT_PID" || rc=$?
AGENT_PID=""
[ "$rc" = 0 ] || { cat "$WORK/run.log" >&2; fail "run exited $rc after SIGTERM, not 0"; }
[ -n "$(find /var/lib/logship-agent -type f -user logship)" ] ||
    { cat "$WORK/run.log" >&2; fail "run wrote no checkpoint in /var/lib/logship-agent"; }
say "run: tailed a file as user logship, checkpoint written, exit 0 on SIGTERM"
(cd "$WORK" && agent /usr/bin/logship-agent checkpoints --config "$WORK/run.toml") \
    > "$WORK/checkpoints.txt" 2>&1 ||
    { cat "$WORK/checkpoints.txt" >&2; fail "logship-agent checkpoints failed"; }
grep -q "shipped .*$WORK/tail/app.log" "$WORK/checkpoints.txt" ||
    { cat "$WORK/checkpoints.txt" >&2; fail "checkpoints does not show the tailed file shipped"; }
say "checkpoints: the tailed file is shown as shipped"
# What README.Debian tells an operator to do after adding [[inputs]] to the packaged file.
(cd "$WORK" && agent /usr/bin/logship-agent check-config --config "$WORK/run.toml") \
    > "$WORK/check.log" 2>&1 ||
    { cat "$WORK/check.log" >&2; fail "check-config rejects the packaged file with [[inputs]] added"; }
say "check-config accepts the packaged configuration with [[inputs]]"

# ----------------------------------------------------------------------------- 4. purge
apt-get purge -y -qq logship-agent >/dev/null || fail "apt-get purge failed"
! id logship >/dev/null 2>&1 || fail "purge left the logship user"
[ ! -e /etc/logship/agent.toml ] || fail "purge left /etc/logship/agent.toml"
[ ! -e /var/lib/logship-agent ] || fail "purge left /var/lib/logship-agent"
[ ! -e /usr/bin/logship-agent ] || fail "purge left /usr/bin/logship-agent"
[ ! -e /usr/lib/logship-agent ] || fail "purge left /usr/lib/logship-agent"
say "purged: user, configuration and state removed"
say "ok"
