"""Connecting to the collector: the TLS context, the connection and the HELLO exchange.

The first steps of every connection `agent.client.Client` opens. `make_ssl_context` builds the
client TLS context from the configuration (CA file, optional client certificate), so a bad
file is a `ConfigError` before anything is sent. `open_connection` opens TCP, with TLS when
there is a context (checking the collector's name, or `tls_server_name`). `handshake` sends
the agent's HELLO (with the token) and reads the collector's: an ERROR frame raises the
matching `agent.errors.CollectorError` (AuthFailed for a refused token), another frame or
another protocol version a `ProtocolError`.
"""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

from agent.config import AgentConfig
from agent.errors import ConnectionClosed, collector_error
from logship import wire
from logship.errors import ConfigError, ProtocolError
from logship.wire import ErrorCode, FrameDecoder, MsgType


def make_ssl_context(config: AgentConfig) -> ssl.SSLContext | None:
    """The client TLS context for `config`, or None without TLS. Raises ConfigError."""
    if not config.use_tls:
        return None
    try:
        ctx = ssl.create_default_context(
            cafile=str(config.tls_ca_file) if config.tls_ca_file else None
        )
    except (OSError, ssl.SSLError) as exc:
        raise ConfigError(f"key 'tls_ca_file': cannot load {config.tls_ca_file}: {exc}") from None
    if config.tls_cert_file is not None:
        try:
            ctx.load_cert_chain(str(config.tls_cert_file), str(config.tls_key_file))
        except (OSError, ssl.SSLError) as exc:
            raise ConfigError(
                f"keys 'tls_cert_file'/'tls_key_file': cannot load "
                f"{config.tls_cert_file} / {config.tls_key_file}: {exc}"
            ) from None
    return ctx


async def open_connection(
    host: str, port: int, ssl_context: ssl.SSLContext | None, config: AgentConfig
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A TCP connection to the collector, with TLS when there is a context."""
    return await asyncio.open_connection(
        host,
        port,
        ssl=ssl_context,
        server_hostname=(config.tls_server_name or host) if ssl_context else None,
    )


async def handshake(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    decoder: FrameDecoder,
    hello: bytes,
) -> tuple[dict[str, Any], list[tuple[MsgType, bytes]]]:
    """Send our HELLO frame, read the collector's: (its body, the frames that came after it)."""
    writer.write(hello)
    await writer.drain()
    while True:
        data = await reader.read(65536)
        if not data:
            raise ConnectionClosed("collector closed the connection during HELLO")
        frames = decoder.feed(data)
        if not frames:
            continue
        kind, payload = frames[0]
        msg = wire.decode(kind, payload)
        if kind is MsgType.ERROR:
            raise collector_error(msg.body["code"], msg.body["message"], msg.body.get("ids"))
        if kind is not MsgType.HELLO:
            raise ProtocolError(ErrorCode.UNEXPECTED, f"expected HELLO, got {kind.name}")
        if msg.body["version"] != wire.VERSION:
            raise ProtocolError(
                ErrorCode.BAD_VERSION,
                f"collector speaks protocol version {msg.body['version']}",
            )
        return msg.body, frames[1:]
