"""A tiny ACK-only collector for testing the packaged agent when the real one is not at hand.

It speaks the wire protocol (`logship.wire`): answers HELLO, ACKs every BATCH at once, answers
PING with PONG, and appends one line `<batch id> <lines>` per batch to `--record`. It stores
nothing: it is a test double for `packaging/deb/ci-test.sh`, not a product.

    python packaging/deb/ack_collector.py --port 9999 --record /tmp/batches.txt
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from logship import wire  # noqa: E402
from logship.errors import ProtocolError  # noqa: E402


async def session(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, record: Path) -> None:
    decoder = wire.FrameDecoder()
    try:
        while data := await reader.read(65536):
            for kind, payload in decoder.feed(data):
                body = wire.decode(kind, payload).body
                if kind is wire.MsgType.HELLO:
                    writer.write(wire.hello("ack-collector", "localhost", None, window=8))
                elif kind is wire.MsgType.BATCH:
                    lines = sum(entry.count(b"\n") + 1 for entry in body["lines"])
                    with record.open("a", encoding="utf-8") as fh:
                        fh.write(f"{body['id']} {lines}\n")
                    writer.write(wire.ack([body["id"]]))
                elif kind is wire.MsgType.PING:
                    writer.write(wire.pong(body.get("seq", 0)))
            await writer.drain()
    except ProtocolError as exc:
        writer.write(wire.error(exc.code, exc.message))
    except ConnectionError:
        pass
    finally:
        with contextlib.suppress(Exception):
            writer.close()
            await writer.wait_closed()


async def serve(host: str, port: int, record: Path) -> None:
    server = await asyncio.start_server(lambda r, w: session(r, w, record), host, port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"ack-collector listening on {host}:{port}", flush=True)
    async with server:
        await stop.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="ACK-only test collector")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, required=True, help="file to append batches to")
    args = parser.parse_args(argv)
    args.record.touch()
    asyncio.run(serve(args.host, args.port, args.record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
