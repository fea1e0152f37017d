"""Connecting to the collector (agent/connect.py): the client TLS context from the
configuration, the TLS connection, and the HELLO exchange.

The collector is an in-process `asyncio.start_server` on 127.0.0.1 answering with frames
built by `logship.wire`; the certificates are made once per module with `openssl`.
"""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest

from agent.config import AgentConfig
from agent.connect import handshake, make_ssl_context, open_connection
from agent.errors import AuthFailed, CollectorError, ConnectionClosed
from logship import wire
from logship.errors import ConfigError, ProtocolError
from logship.wire import ErrorCode, FrameDecoder, MsgType

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A throwaway CA, a server certificate for 127.0.0.1/localhost and a client certificate."""
    folder = tmp_path_factory.mktemp("certs")

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=folder, check=True, capture_output=True)

    key = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    openssl("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-days", "2",
            "-subj", "/CN=logship-test-ca")  # fmt: skip
    (folder / "server.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    (folder / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name in ("server", "client"):
        openssl(
            "req", *key, "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}"
        )
        openssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-CAcreateserial", "-out", f"{name}.pem", "-days", "2", "-extfile", f"{name}.ext")  # fmt: skip
    return {
        n: folder / n for n in ("ca.pem", "server.pem", "server.key", "client.pem", "client.key")
    }


def _common_name(cert: Any) -> str:
    """The CN of a certificate as `ssl` decodes it (subject: tuples of (name, value) pairs)."""
    return str(dict(pair for rdn in cert["subject"] for pair in rdn)["commonName"])


def _client_config(certs: dict[str, Path], server_name: str | None = None) -> AgentConfig:
    return AgentConfig(
        tls_ca_file=certs["ca.pem"],
        tls_cert_file=certs["client.pem"],
        tls_key_file=certs["client.key"],
        tls_server_name=server_name,
    )


# ----------------------------------------------------------------------------- TLS context


def test_no_tls_no_context() -> None:
    """Without tls (nor a CA or certificate file) there is no context: plain TCP."""
    assert make_ssl_context(AgentConfig()) is None


def test_tls_alone_verifies_against_the_system_cas() -> None:
    """tls = true gives a context that checks the collector's certificate and name."""
    ctx = make_ssl_context(AgentConfig(tls=True))
    assert ctx is not None
    assert ctx.verify_mode is ssl.CERT_REQUIRED and ctx.check_hostname


def test_a_ca_file_implies_tls_and_is_loaded(certs: dict[str, Path]) -> None:
    """tls_ca_file alone turns TLS on, and the context trusts that CA."""
    ctx = make_ssl_context(AgentConfig(tls_ca_file=certs["ca.pem"]))
    assert ctx is not None and ctx.verify_mode is ssl.CERT_REQUIRED
    assert "logship-test-ca" in [_common_name(ca) for ca in ctx.get_ca_certs()]


def test_unreadable_ca_file_is_a_config_error(tmp_path: Path) -> None:
    """A CA file that is missing or not PEM is a ConfigError naming the key and the file."""
    missing = tmp_path / "missing.pem"
    with pytest.raises(ConfigError, match=f"key 'tls_ca_file': cannot load {missing}"):
        make_ssl_context(AgentConfig(tls_ca_file=missing))
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    with pytest.raises(ConfigError, match="tls_ca_file"):
        make_ssl_context(AgentConfig(tls_ca_file=garbage))


def test_bad_client_certificate_is_a_config_error(certs: dict[str, Path], tmp_path: Path) -> None:
    """A client certificate that does not load, or a key that does not match it, is a
    ConfigError naming both keys."""
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("not a certificate\n")
    with pytest.raises(ConfigError, match="keys 'tls_cert_file'/'tls_key_file'"):
        make_ssl_context(AgentConfig(tls_cert_file=garbage, tls_key_file=certs["client.key"]))
    with pytest.raises(ConfigError, match="keys 'tls_cert_file'/'tls_key_file'"):
        make_ssl_context(
            AgentConfig(
                tls_ca_file=certs["ca.pem"],
                tls_cert_file=certs["client.pem"],
                tls_key_file=certs["server.key"],
            )
        )


# ----------------------------------------------------------------------------- collector


def _server_context(certs: dict[str, Path]) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(certs["server.pem"]), str(certs["server.key"]))
    ctx.load_verify_locations(cafile=str(certs["ca.pem"]))
    ctx.verify_mode = ssl.CERT_REQUIRED
    return ctx


def _collector_hello(version: int = wire.VERSION) -> bytes:
    body = {"version": version, "agent": "a1", "hostname": "collector-host", "window": 4}
    return wire.encode(MsgType.HELLO, {**body, "server": "test"})


async def _read_frame(reader: asyncio.StreamReader) -> tuple[MsgType, dict[str, Any]]:
    decoder = FrameDecoder()
    while True:
        frames = decoder.feed(await reader.read(65536))
        if frames:
            kind, payload = frames[0]
            return kind, wire.decode(kind, payload).body


async def _with_collector(
    handler: Handler,
    client: Callable[[int], Awaitable[Any]],
    ssl_context: ssl.SSLContext | None = None,
) -> Any:
    server = await asyncio.start_server(handler, "127.0.0.1", 0, ssl=ssl_context)
    port = server.sockets[0].getsockname()[1]
    try:
        return await client(port)
    finally:
        server.close()
        await server.wait_closed()


def _exchange(*answer: bytes, received: list[Any] | None = None) -> Any:
    """Run `handshake` against a collector that reads the HELLO, then writes `answer` (one
    write per part) and closes."""

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        kind, body = await _read_frame(reader)
        if received is not None:
            received.append((kind, body))
        for part in answer:
            writer.write(part)
            await writer.drain()
        writer.close()

    async def client(port: int) -> Any:
        reader, writer = await open_connection("127.0.0.1", port, None, AgentConfig())
        try:
            return await handshake(reader, writer, FrameDecoder(), wire.hello("a1", "h1", "tok"))
        finally:
            writer.close()

    return asyncio.run(_with_collector(handler, client))


def test_handshake_returns_the_collector_hello_and_what_followed() -> None:
    """The collector gets our HELLO (with the token); we get its body and the frames that
    came in the same read."""
    received: list[Any] = []
    body, rest = _exchange(_collector_hello() + wire.ack(["b1"]), received=received)
    assert received == [(MsgType.HELLO, {"version": 1, "agent": "a1", "hostname": "h1",
                                         "token": "tok"})]  # fmt: skip
    assert body["window"] == 4 and body["hostname"] == "collector-host"
    assert rest == [(MsgType.ACK, wire.ack(["b1"])[wire.HEADER_SIZE :])]


def test_handshake_waits_for_a_hello_split_across_reads() -> None:
    """A HELLO frame that arrives in pieces is read whole."""
    frame = _collector_hello()
    body, rest = _exchange(frame[:3], frame[3:10], frame[10:])
    assert body["server"] == "test" and rest == []


def test_refused_token_is_auth_failed() -> None:
    """ERROR AUTH_FAILED in answer to HELLO raises AuthFailed (never retried)."""
    with pytest.raises(AuthFailed, match="AUTH_FAILED: token missing"):
        _exchange(wire.error(ErrorCode.AUTH_FAILED, "token missing or not accepted"))


def test_other_error_frames_raise_collector_error() -> None:
    """Another ERROR frame raises a CollectorError carrying its code."""
    with pytest.raises(CollectorError) as info:
        _exchange(wire.error(ErrorCode.SHUTTING_DOWN, "bye"))
    assert info.value.code == ErrorCode.SHUTTING_DOWN and not isinstance(info.value, AuthFailed)


def test_a_frame_other_than_hello_is_a_protocol_error() -> None:
    """A PONG (or anything but HELLO or ERROR) first is ProtocolError UNEXPECTED."""
    with pytest.raises(ProtocolError, match="expected HELLO, got PONG") as info:
        _exchange(wire.pong(1))
    assert info.value.code == ErrorCode.UNEXPECTED


def test_another_protocol_version_is_a_protocol_error() -> None:
    """A collector HELLO with another version is ProtocolError BAD_VERSION."""
    with pytest.raises(ProtocolError, match="protocol version 2") as info:
        _exchange(_collector_hello(version=2))
    assert info.value.code == ErrorCode.BAD_VERSION


def test_collector_closing_during_hello_is_connection_closed() -> None:
    """A collector that closes without answering raises ConnectionClosed (retried)."""
    with pytest.raises(ConnectionClosed, match="during HELLO"):
        _exchange()


# ----------------------------------------------------------------------------- over TLS


def _tls_hello(certs: dict[str, Path], config: AgentConfig) -> tuple[dict[str, Any], str]:
    """HELLO over TLS to a collector that asks for a client certificate: (its HELLO body,
    the common name of the client certificate it saw)."""
    seen: list[str] = []

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            peer = writer.get_extra_info("peercert")
            seen.append(_common_name(peer))
            await _read_frame(reader)
            writer.write(_collector_hello())
            await writer.drain()
        finally:
            writer.close()

    async def client(port: int) -> dict[str, Any]:
        ctx = make_ssl_context(config)
        reader, writer = await open_connection("127.0.0.1", port, ctx, config)
        try:
            body, _ = await handshake(reader, writer, FrameDecoder(), wire.hello("a", "h", None))
            return body
        finally:
            writer.close()

    body = asyncio.run(_with_collector(handler, client, _server_context(certs)))
    return body, seen[0]


def test_hello_over_tls_with_a_client_certificate(certs: dict[str, Path]) -> None:
    """With the CA and a client certificate, the collector's name (its IP) is checked and it
    sees our certificate."""
    body, client_cn = _tls_hello(certs, _client_config(certs))
    assert body["version"] == wire.VERSION and client_cn == "client"


def test_tls_server_name_is_the_name_checked(certs: dict[str, Path]) -> None:
    """tls_server_name replaces the host as the name the certificate must carry."""
    body, _ = _tls_hello(certs, _client_config(certs, "localhost"))
    assert body["version"] == wire.VERSION
    with pytest.raises(ssl.SSLCertVerificationError, match="wrong.example"):
        _tls_hello(certs, _client_config(certs, "wrong.example"))
