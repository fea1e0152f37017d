"""The collector over TLS: server certificate, and client certificates when configured."""

from __future__ import annotations

import ssl
import uuid
from pathlib import Path

import pytest

from logship import wire
from logship.wire import MsgType
from tests.integration.collector_harness import (
    Agent,
    CollectorProcess,
    batch_id,
    consume,
    delete_queue,
    make_certs,
)

pytestmark = pytest.mark.integration


def client_context(certs: dict[str, Path], with_cert: bool) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=str(certs["ca.pem"]))
    if with_cert:
        ctx.load_cert_chain(str(certs["client.pem"]), str(certs["client.key"]))
    return ctx


def test_tls_with_client_certificates(tmp_path: Path, broker_url: str, broker_dir: Path) -> None:
    """With a server certificate and a client CA, an agent with a certificate signed by that
    CA ships a batch over TLS; one without a certificate, or speaking plain TCP, is refused."""
    certs = make_certs(tmp_path / "certs")
    queue = f"logship-test-{uuid.uuid4().hex[:10]}"
    proc = CollectorProcess(
        tmp_path / "c",
        broker_url,
        broker_dir,
        queue,
        "--tls-cert",
        str(certs["server.pem"]),
        "--tls-key",
        str(certs["server.key"]),
        "--tls-client-ca",
        str(certs["ca.pem"]),
    ).start()
    try:
        with Agent(proc.port, tls=client_context(certs, with_cert=True)) as agent:
            agent.hello("agent-tls")
            bid = batch_id("tls")
            agent.send(wire.batch(bid, "/var/log/tls.log", "1:1:ab", 0, [b"over tls"]))
            assert agent.expect(MsgType.ACK) == {"ids": [bid]}
        assert [r["id"] for r in consume(broker_url, broker_dir, queue, 1)] == [bid]

        try:  # TLS 1.3 reports a missing client certificate after the handshake
            nocert = Agent(proc.port, tls=client_context(certs, with_cert=False))
            nocert.send(wire.hello("agent-nocert", "h", None))
            answer = nocert.recv()
            nocert.close()
        except (ssl.SSLError, ConnectionError):
            answer = None
        assert answer is None

        with Agent(proc.port) as plain:  # plain TCP to a TLS port: no protocol answer
            plain.send(wire.hello("agent-plain", "h", None))
            assert plain.recv() is None
    finally:
        code = proc.stop()
        delete_queue(broker_url, broker_dir, queue)
    assert code == 0, proc.log()


def test_tls_server_certificate_is_verified(
    tmp_path: Path, broker_url: str, broker_dir: Path
) -> None:
    """Without client verification any TLS agent is served, and an agent that does not trust
    the server's CA refuses the connection."""
    certs = make_certs(tmp_path / "certs")
    proc = CollectorProcess(
        tmp_path / "c",
        broker_url,
        broker_dir,
        "unused",
        "--tls-cert",
        str(certs["server.pem"]),
        "--tls-key",
        str(certs["server.key"]),
    ).start()
    try:
        with Agent(proc.port, tls=client_context(certs, with_cert=False)) as agent:
            assert agent.hello("agent-tls")["agent"] == "agent-tls"
        with pytest.raises(ssl.SSLCertVerificationError):
            Agent(proc.port, tls=ssl.create_default_context())
    finally:
        assert proc.stop() == 0, proc.log()
