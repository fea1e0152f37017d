"""The agent's metrics, in the Prometheus text format, served by the standard library.

Every metric name is defined here. Counters end in `_total`. The agent must not depend on
`prometheus_client` (it runs on Debian's python3 with only watchdog, msgpack and tenacity), so
`render()` writes the exposition format itself and `serve()` uses `http.server` on a local
port (`metrics_port`, 0 = off, the default). `/metrics` gives the metrics, `/health` "ok".

The run loop owns the values: once a second `publish` sets them from its tails, its shipped
totals and its client, and replaces the per-file lag table with a fresh dict (one
assignment), so the HTTP thread never sees a table being changed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from agent.client import Client
    from agent.tail import Counters, Tail

# name -> (type, help)
COUNTERS = {
    "logship_agent_lines_read_total": "Lines read from files.",
    "logship_agent_bytes_read_total": "Bytes read from files.",
    "logship_agent_lines_shipped_total": "Lines in batches the collector acknowledged.",
    "logship_agent_bytes_shipped_total": "Line bytes in batches the collector acknowledged.",
    "logship_agent_batches_shipped_total": "Batches the collector acknowledged.",
    "logship_agent_rotations_total": "Files rotated away (renamed or deleted) while tailed.",
    "logship_agent_truncations_total": "Files truncated in place (copytruncate, truncation).",
    "logship_agent_truncated_bytes_lost_total": "Bytes that may be lost to truncations.",
    "logship_agent_reconnects_total": "Connections to the collector opened after the first.",
}
GAUGES = {
    "logship_agent_batches_in_flight": "Batches sent and not yet acknowledged.",
    "logship_agent_files_open": "Files being tailed.",
    "logship_agent_files_inactive": "Files closed while quiet (opened again when they change).",
    "logship_agent_connected": "1 while connected to the collector.",
}
LAG = ("logship_agent_file_lag_bytes", "File size minus the acknowledged offset, per file.")


@dataclass
class Metrics:
    counters: dict[str, float] = field(default_factory=lambda: dict.fromkeys(COUNTERS, 0))
    gauges: dict[str, float] = field(default_factory=lambda: dict.fromkeys(GAUGES, 0))
    lag: dict[str, int] = field(default_factory=dict)  # path -> bytes

    def inc(self, name: str, value: float = 1) -> None:
        self.counters[name] += value

    def set(self, name: str, value: float) -> None:
        self.gauges[name] = value

    def render(self) -> str:
        out: list[str] = []
        for name, help_text in COUNTERS.items():
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} counter"]
            out.append(f"{name} {_num(self.counters[name])}")
        for name, help_text in GAUGES.items():
            out += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
            out.append(f"{name} {_num(self.gauges[name])}")
        name, help_text = LAG
        out += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge"]
        for path, lag in sorted(self.lag.items()):
            out.append(f'{name}{{path="{_label(path)}"}} {lag}')
        return "\n".join(out) + "\n"


def publish(
    metrics: Metrics,
    tails: Sequence[Tail],
    retired: Counters,
    client: Client | None,
    *,
    lines_shipped: int,
    bytes_shipped: int,
    batches_shipped: int,
    files_inactive: int = 0,
) -> None:
    """Set the metrics of `run`: the open `tails` plus the `retired` counters of closed ones."""
    m = metrics
    r = retired
    c = m.counters
    c["logship_agent_lines_read_total"] = r.lines_read + sum(t.counters.lines_read for t in tails)
    c["logship_agent_bytes_read_total"] = r.bytes_read + sum(t.counters.bytes_read for t in tails)
    c["logship_agent_rotations_total"] = r.rotations + sum(t.counters.rotations for t in tails)
    c["logship_agent_truncations_total"] = r.truncations + sum(
        t.counters.truncations for t in tails
    )
    c["logship_agent_truncated_bytes_lost_total"] = r.bytes_lost + sum(
        t.counters.bytes_lost for t in tails
    )
    c["logship_agent_lines_shipped_total"] = lines_shipped
    c["logship_agent_bytes_shipped_total"] = bytes_shipped
    c["logship_agent_batches_shipped_total"] = batches_shipped
    if client is not None:
        c["logship_agent_reconnects_total"] = client.stats.reconnects
        m.set("logship_agent_batches_in_flight", client.in_flight)
        m.set("logship_agent_connected", 1 if client.connected else 0)
    m.set("logship_agent_files_open", len(tails))
    m.set("logship_agent_files_inactive", files_inactive)
    m.lag = {t.path: t.lag_bytes() for t in tails}


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def serve(metrics: Metrics, host: str, port: int) -> ThreadingHTTPServer:
    """Serve `/metrics` and `/health` from a daemon thread; `.shutdown()` stops it."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            if self.path.split("?", 1)[0] == "/metrics":
                body = metrics.render().encode("utf-8")
                ctype = "text/plain; version=0.0.4; charset=utf-8"
            elif self.path.split("?", 1)[0] in ("/healthz", "/health"):
                body, ctype = b"ok\n", "text/plain; charset=utf-8"
            else:
                self.send_error(404)
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # noqa: A002
            return None

    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="metrics", daemon=True).start()
    return server
