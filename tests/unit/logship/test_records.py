"""Unit tests for logship.records: the cleaned batch and its accounting invariant."""

from __future__ import annotations

import msgpack
import pytest

from logship.errors import RecordError
from logship.records import CleanBatch, Event


def make_batch() -> CleanBatch:
    return CleanBatch(
        batch_id="b1",
        agent="a",
        hostname="h",
        path="/var/log/app.log",
        file_id="1:2:ff",
        first_offset=0,
        received_at=1_700_000_000.5,
        lines_received=5,
        events=[
            Event(offset=0, line_count=1, message="hello", level="info", ts=1.0),
            Event(offset=6, line_count=3, message="Traceback\n  x\nError", format="python"),
        ],
        drops={"blank": 1},
        fields={"service": "web"},
    )


def test_round_trip_through_msgpack() -> None:
    """A batch survives to_message → msgpack → from_message unchanged."""
    batch = make_batch()
    wire = msgpack.packb(batch.to_message(), use_bin_type=True)
    assert CleanBatch.from_message(msgpack.unpackb(wire, raw=False)) == batch


def test_accounting_mismatch_is_a_record_error() -> None:
    """lines_received must equal lines in events plus lines dropped."""
    msg = make_batch().to_message()
    msg["lines"] = 6
    with pytest.raises(RecordError, match="6 lines received"):
        CleanBatch.from_message(msg)


@pytest.mark.parametrize("mutate", [lambda m: m.pop("events"), lambda m: m.update(v=99)])
def test_malformed_records_raise_record_error(mutate) -> None:  # type: ignore[no-untyped-def]
    """Missing fields or an unknown record version are data errors, not crashes."""
    msg = make_batch().to_message()
    mutate(msg)
    with pytest.raises(RecordError):
        CleanBatch.from_message(msg)
