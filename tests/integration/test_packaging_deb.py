"""The agent's Debian package, built, linted, installed, run and purged for real.

Runs `packaging/deb/ci-test.sh` (see its header for every step). It needs root and Debian's
dpkg/apt, as CI has; it fails with a clear message, never skips, when they are missing.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "packaging" / "deb" / "ci-test.sh"

pytestmark = pytest.mark.integration


@pytest.mark.timeout(900)
def test_deb_builds_installs_ships_runs_and_purges() -> None:
    """The .deb has no lintian errors, installs with Debian's python3 libraries, its
    /usr/bin/logship-agent sends a file to a real collector and runs as the service user,
    and purging removes the user, configuration and state."""
    missing = [tool for tool in ("dpkg-deb", "dpkg", "apt-get") if shutil.which(tool) is None]
    assert not missing, f"{', '.join(missing)} not found: the .deb test needs Debian's dpkg and apt"
    assert os.geteuid() == 0, "the .deb test installs a package: run it as root (CI does)"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOGSHIP_")}
    env["LOGSHIP_PYTHON"] = sys.executable
    done = subprocess.run(
        ["bash", str(SCRIPT)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=840,
    )
    output = f"--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"
    assert done.returncode == 0, output
    assert "ci-test: ok" in done.stdout, output
    assert "lintian: no errors" in done.stdout, output


def _generate(tmp_path: Path) -> str:
    out = tmp_path / "agent.toml"
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "packaging" / "deb" / "gen_agent_toml.py"),
            "-o",
            str(out),
            "--set",
            'state_dir="/var/lib/logship-agent"',
        ],
        check=True,
        timeout=60,
    )
    return out.read_text()


def test_conffile_documents_every_key_of_the_run_config(tmp_path: Path) -> None:
    """The packaged agent.toml shows every key `logship-agent run` reads, commented with its
    default and doc; only state_dir is set; an [[inputs]] example is given."""
    from agent.inputs import InputConfig, RunConfig
    from logship.config import describe

    text = _generate(tmp_path)
    for key, _, doc in describe(RunConfig):
        assert f"# {key} = " in text or f"# Default: {key} = " in text, key
        assert f"# {doc}" in text, key
    for key, _, _ in describe(InputConfig):
        assert f"\n# {key} = " in text, key
    assert '\nstate_dir = "/var/lib/logship-agent"\n' in text
    assert "\n# [[inputs]]\n" in text


def test_conffile_loads_as_the_service_reads_it(tmp_path: Path) -> None:
    """The generated file, as shipped and with the [[inputs]] example uncommented, is accepted
    by the agent's own loader, with the state folder the unit allows it to write."""
    from agent.inputs import input_configs, load_run_config

    text = _generate(tmp_path)
    shipped = tmp_path / "shipped.toml"
    shipped.write_text(text)
    config = load_run_config(shipped, dotenv=None)
    assert config.state_path == Path("/var/lib/logship-agent")
    assert config.inputs == []
    head, _, example = text.partition("\n# [[inputs]]\n")
    lines = [ln[2:] if ln.startswith("# ") else ln for ln in example.splitlines()]
    with_inputs = tmp_path / "with-inputs.toml"
    with_inputs.write_text(head + "\n[[inputs]]\n" + "\n".join(lines) + "\n")
    config = load_run_config(with_inputs, dotenv=None)
    assert [i.paths for i in input_configs(config.inputs)] == [
        ["/var/log/syslog", "/var/log/nginx/*.log"]
    ]


def test_unit_file_has_the_hardening_the_package_promises() -> None:
    """logship-agent.service runs as logship (group adm), keeps state in its StateDirectory,
    is sandboxed, restarts on failure but not on a configuration error, reloads with SIGHUP."""
    unit = (ROOT / "packaging" / "deb" / "logship-agent.service").read_text()
    settings = {
        line.partition("=")[0]: line.partition("=")[2]
        for line in unit.splitlines()
        if "=" in line and not line.startswith("#")
    }
    expected = {
        "User": "logship",
        "SupplementaryGroups": "adm",
        "StateDirectory": "logship-agent",
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "ReadWritePaths": "/var/lib/logship-agent",
        "Restart": "on-failure",
        "RestartPreventExitStatus": "2",
        "ExecStart": "/usr/bin/logship-agent run --config /etc/logship/agent.toml",
        "ExecReload": "/bin/kill -HUP $MAINPID",
        "WantedBy": "multi-user.target",
    }
    for key, value in expected.items():
        assert settings.get(key) == value, key


def test_import_check_refuses_what_the_deb_cannot_satisfy(tmp_path: Path) -> None:
    """The build's import check passes the real agent, and fails (naming file and line) on an
    agent module importing a server-side dependency or an unshipped logship module."""
    check = ROOT / "packaging" / "deb" / "check_agent_imports.py"
    shipped = [
        str(ROOT / "logship" / m) for m in ("__init__.py", "wire.py", "config.py", "errors.py")
    ]
    real = subprocess.run(
        [sys.executable, str(check), str(ROOT / "agent"), *shipped],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert real.returncode == 0, real.stderr

    agent = tmp_path / "agent"
    agent.mkdir()
    (agent / "ok.py").write_text(
        "import json\nimport msgpack\nfrom logship import wire, __version__\n"
    )
    (agent / "bad.py").write_text("import os\nimport asyncpg\nfrom logship import records\n")
    bad = subprocess.run(
        [sys.executable, str(check), str(agent), *shipped],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 1
    assert "bad.py:2: imports asyncpg" in bad.stderr
    assert "bad.py:3: imports logship.records" in bad.stderr
    assert "ok.py" not in bad.stderr
