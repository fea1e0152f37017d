"""Integration tests for `send` over TLS (server certificate, client certificate) against the
fake collector, with throwaway certificates made by the `openssl` command."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import pytest

from agent.config import AgentConfig, load_config
from agent.send import SendFailed, send_files
from tests.integration.agent_fake_collector import FakeCollector

pytestmark = [pytest.mark.integration, pytest.mark.timeout(60)]


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    d = tmp_path_factory.mktemp("pki")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
             "-subj", "/CN=logship test CA", cwd=d)  # fmt: skip
    (d / "server.ext").write_text("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    for name in ("server", "client"):
        _openssl("req", *ec, "-keyout", f"{name}.key", "-out", f"{name}.csr",
                 "-subj", f"/CN={name}", cwd=d)  # fmt: skip
        extra = ["-extfile", "server.ext"] if name == "server" else []
        _openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                 "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", *extra, cwd=d)  # fmt: skip
    return d


def _server_context(pki: Path, require_client_cert: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(pki / "server.pem", pki / "server.key")
    if require_client_cert:
        ctx.load_verify_locations(pki / "ca.pem")
        ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _config(tmp_path: Path, collector: str, **overrides: object) -> AgentConfig:
    values: dict[str, object] = {
        "collector": collector,
        "state_dir": str(tmp_path / "state"),
        "agent_id": "tls-agent",
        "retry_max_attempts": 2,
        "retry_backoff_initial_s": 0.05,
    }
    values.update(overrides)
    return load_config(None, environ={}, dotenv=None, overrides=values)


def test_send_over_tls_with_client_certificate(tmp_path: Path, pki: Path) -> None:
    """With the collector's CA and a client certificate, every line arrives over TLS."""
    path = tmp_path / "app.log"
    lines = [b"secure line %d" % i for i in range(1200)]
    path.write_bytes(b"".join(x + b"\n" for x in lines))
    with FakeCollector(ssl_context=_server_context(pki, require_client_cert=True)) as fc:
        cfg = _config(
            tmp_path,
            fc.address,
            tls_ca_file=str(pki / "ca.pem"),
            tls_cert_file=str(pki / "client.pem"),
            tls_key_file=str(pki / "client.key"),
        )
        assert cfg.use_tls
        summary = asyncio.run(send_files([path], cfg))
    assert summary.complete and fc.lines_acked() == lines


def test_untrusted_collector_certificate_fails_without_retrying(tmp_path: Path, pki: Path) -> None:
    """A collector certificate that does not verify (wrong server name) fails at once with a
    message pointing at the TLS settings; it is not retried."""
    path = tmp_path / "app.log"
    path.write_bytes(b"x\n")
    with FakeCollector(ssl_context=_server_context(pki, require_client_cert=False)) as fc:
        cfg = _config(
            tmp_path,
            fc.address,
            tls_ca_file=str(pki / "ca.pem"),
            tls_server_name="not-the-collector.example.com",
        )
        with pytest.raises(SendFailed) as info:
            asyncio.run(send_files([path], cfg))
        assert fc.connections == 0  # no HELLO ever reached it
    assert isinstance(info.value.cause, ssl.SSLCertVerificationError)  # not wrapped by retries
    assert "TLS with collector" in str(info.value) and "--tls-ca" in str(info.value)
