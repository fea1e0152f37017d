"""The collector's Prometheus metrics (collector/metrics.py): a private registry, label and
histogram rendering, and the names the operations guide refers to.

The metrics are process-wide, so these tests look at differences, never absolute values.
(That counters end in `_total` is tested in tests/unit/collector/test_cli.py.)
"""

from __future__ import annotations

import re
from pathlib import Path

import prometheus_client
from prometheus_client.metrics import MetricWrapperBase
from prometheus_client.parser import text_string_to_metric_families

from collector import metrics

DOCS = Path(__file__).resolve().parents[3] / "docs"


def _module_metrics() -> dict[str, MetricWrapperBase]:
    return {k: v for k, v in vars(metrics).items() if isinstance(v, MetricWrapperBase)}


def _sample_names() -> set[str]:
    return {
        s.name
        for family in text_string_to_metric_families(metrics.render().decode())
        for s in family.samples
    }


def _value(name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


def test_every_metric_is_in_the_private_registry_only() -> None:
    """Each metric of the module is rendered by `render`, and none is in the process-wide
    default registry (two collectors in one process do not collide)."""
    text = metrics.render().decode()
    default = prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()
    defined = _module_metrics()
    assert len(defined) >= 14
    for metric in defined.values():
        (family,) = metric.describe()
        assert f"# TYPE {family.name}" in text
        assert family.name not in default
    assert "logship_collector_" not in default


def test_render_parses_as_prometheus_text() -> None:
    """`render` is valid text exposition with a HELP text for every family."""
    families = list(text_string_to_metric_families(metrics.render().decode()))
    assert families and all(f.documentation for f in families)
    assert {f.name for f in families} >= {
        "logship_collector_connections",
        "logship_collector_pool_slots",
    }


def test_labelled_counters_render_one_sample_per_label_value() -> None:
    """A labelled counter gets one sample per label value, counted separately."""
    name = "logship_collector_lines_dropped_total"
    before = _value(name, reason="binary"), _value(name, reason="empty")
    metrics.LINES_DROPPED.labels(reason="binary").inc(3)
    metrics.LINES_DROPPED.labels(reason="empty").inc()
    assert _value(name, reason="binary") == before[0] + 3
    assert _value(name, reason="empty") == before[1] + 1
    text = metrics.render().decode()
    assert f'{name}{{reason="binary"}}' in text and f'{name}{{reason="empty"}}' in text


def test_publish_histogram_counts_into_its_buckets() -> None:
    """An observation lands in every bucket at or above it, up to +Inf, and in the sum."""
    name = "logship_collector_publish_seconds"
    le = ("0.0025", "0.005", "30.0", "+Inf")
    before = {b: _value(f"{name}_bucket", le=b) for b in le}
    total = _value(f"{name}_sum")
    metrics.PUBLISH_SECONDS.observe(0.004)
    after = {b: _value(f"{name}_bucket", le=b) for b in le}
    assert after["0.0025"] == before["0.0025"]
    assert all(after[b] == before[b] + 1 for b in ("0.005", "30.0", "+Inf"))
    assert abs(_value(f"{name}_sum") - total - 0.004) < 1e-9


def test_gauges_go_up_and_down() -> None:
    """A gauge reports its current value (connections open come and go)."""
    name = "logship_collector_connections_open"
    start = _value(name)
    metrics.CONNECTIONS_OPEN.inc()
    metrics.CONNECTIONS_OPEN.inc()
    assert _value(name) == start + 2
    metrics.CONNECTIONS_OPEN.dec(2)
    assert _value(name) == start


def test_metrics_named_in_the_docs_exist() -> None:
    """Every `logship_collector_*` name the documentation mentions is exported."""
    named = {
        m
        for doc in DOCS.glob("*.md")
        for m in re.findall(r"logship_collector_\w+", doc.read_text())
    }
    assert named  # the operations guide refers to some
    assert named <= _sample_names()
