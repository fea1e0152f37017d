"""The pure parts of `logship dead-letters`: reading a payload back, summarising a batch."""

from __future__ import annotations

import msgpack
import pytest

from workers.dead_letters import DeadLetterError, ReplayResult, decode_payload, summary


def test_payload_round_trips_with_lone_surrogates() -> None:
    """A message kept with surrogatepass (the data error itself) reads back as it was."""
    message = {"id": "b-1", "events": [[0, 1, "bad \ud800"]]}
    payload = msgpack.packb(message, use_bin_type=True, unicode_errors="surrogatepass")
    assert decode_payload(payload) == message


@pytest.mark.parametrize(
    ("payload", "says"),
    [
        (b"\xc1 not msgpack", "not msgpack"),
        (msgpack.packb([1, 2]), "a list, not a batch map"),
        (b"", "not msgpack"),
    ],
)
def test_unreadable_payloads_are_a_clear_error(payload: bytes, says: str) -> None:
    """A payload kept as text (repr) or anything but a map is refused with a reason."""
    with pytest.raises(DeadLetterError, match=says):
        decode_payload(payload)


def test_summary_shows_origin_and_first_events() -> None:
    """The summary names the batch, its source and at most three events."""
    message = {
        "id": "b-2",
        "agent": "a",
        "hostname": "web1",
        "path": "/var/log/x.log",
        "lines": 5,
        "events": [[i, 1, f"m{i}"] for i in range(5)],
    }
    s = summary(message)
    assert (s["batch_id"], s["hostname"], s["path"], s["lines_received"]) == (
        "b-2",
        "web1",
        "/var/log/x.log",
        5,
    )
    assert s["events"] == 5 and len(s["first_events"]) == 3
    assert summary({"events": "oops"})["events"] == 0


def test_replay_result_json_names_each_letter() -> None:
    """The JSON form lists stored, duplicate and failed letters by id."""
    r = ReplayResult(stored=[1], duplicates=[2], failed={3: "ValueError: x"})
    assert r.to_json() == {"stored": [1], "duplicates": [2], "failed": {"3": "ValueError: x"}}
