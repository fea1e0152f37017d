"""Every Prometheus metric the collector exports, in one place. Counters end in `_total`.

Metrics live in the collector's main process only; pool processes report per-batch counts
back and the server adds them here. `registry` is private to the collector so that several
collectors in one test process do not collide.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

registry = CollectorRegistry(auto_describe=True)

CONNECTIONS = Counter(
    "logship_collector_connections_total", "Agent connections accepted", registry=registry
)
CONNECTIONS_OPEN = Gauge(
    "logship_collector_connections_open", "Agent connections open now", registry=registry
)
PROTOCOL_ERRORS = Counter(
    "logship_collector_protocol_errors_total",
    "ERROR frames sent to agents, by error code name",
    ["code"],
    registry=registry,
)
BATCHES_RECEIVED = Counter(
    "logship_collector_batches_received_total", "BATCH frames received", registry=registry
)
LINES_RECEIVED = Counter(
    "logship_collector_lines_received_total",
    "Physical lines received (a multiline event counts each of its lines)",
    registry=registry,
)
LINES_DROPPED = Counter(
    "logship_collector_lines_dropped_total",
    "Lines dropped while cleaning, by reason",
    ["reason"],
    registry=registry,
)
LINES_TRUNCATED = Counter(
    "logship_collector_lines_truncated_total",
    "Lines kept but cut to max_line_bytes",
    registry=registry,
)
EVENTS_PUBLISHED = Counter(
    "logship_collector_events_published_total", "Events published to the broker", registry=registry
)
BATCHES_PUBLISHED = Counter(
    "logship_collector_batches_published_total",
    "Cleaned batches confirmed by the broker (and ACKed)",
    registry=registry,
)
BATCHES_FAILED = Counter(
    "logship_collector_batches_failed_total",
    "Batches answered with ERROR instead of ACK, by reason",
    ["reason"],
    registry=registry,
)
PUBLISH_SECONDS = Histogram(
    "logship_collector_publish_seconds",
    "Time to publish one cleaned batch, broker confirmation included",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=registry,
)
ARCHIVE_ERRORS = Counter(
    "logship_collector_archive_errors_total",
    "Batches that could not be archived under storage_path (disk full, ...)",
    registry=registry,
)
POOL_RESTARTS = Counter(
    "logship_collector_pool_restarts_total",
    "Times the pre-filter pool was recreated after a process died",
    registry=registry,
)
POOL_QUEUE_DEPTH = Gauge(
    "logship_collector_pool_queue_depth",
    "Shared-memory slots in use: batches waiting for or inside the pre-filter pool",
    registry=registry,
)
SLOTS_TOTAL = Gauge(
    "logship_collector_pool_slots", "Shared-memory slots configured", registry=registry
)


def render() -> bytes:
    """The metrics in the Prometheus text format."""
    return generate_latest(registry)
