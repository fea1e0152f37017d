"""Unit tests for agent.checkpoint: atomic versioned store, corruption, expiry, contiguous ACKs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from agent.checkpoint import FILENAME, AckTracker, CheckpointStore


def test_round_trip_versioned_format(tmp_path: Path) -> None:
    """Saved offsets are read back; the file is `{"version": 1, "files": {...}}`."""
    store = CheckpointStore(tmp_path / "state", clock=lambda: 1000.0)
    assert store.get("1:2:aa") == 0 and not store.dirty
    store.set("1:2:aa", "/var/log/a.log", 42, head_bytes=1024)
    assert store.dirty
    store.save()
    doc = json.loads((tmp_path / "state" / FILENAME).read_text())
    assert doc == {
        "version": 1,
        "files": {
            "1:2:aa": {
                "path": "/var/log/a.log",
                "offset": 42,
                "updated": 1000.0,
                "head_bytes": 1024,
            }
        },
    }
    again = CheckpointStore(tmp_path / "state")
    assert again.get("1:2:aa") == 42 and again.entry("1:2:aa")["head_bytes"] == 1024
    assert not list((tmp_path / "state").glob("*.tmp-*"))  # no temporary file left behind


@pytest.mark.parametrize(
    "content",
    [
        b"\x00" * 4096,  # the classic: a file full of NUL bytes after a power cut
        b'{"version": 1, "files": {"a": {"path": "x", "off',  # torn write
        b'{"version": 99, "files": {}}',  # from a future agent
        b'{"version": 1, "files": {"a": {"path": "x", "offset": -5, "updated": 1}}}',
        b"[1, 2, 3]",
        b"\xff\xfe not utf-8",
    ],
)
def test_corrupt_file_is_moved_aside_and_the_agent_starts_fresh(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    """A corrupt checkpoint file is quarantined with a warning, never a crash: the store
    starts empty and the next save writes a good file."""
    (tmp_path / FILENAME).write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="logship.agent.checkpoint"):
        store = CheckpointStore(tmp_path, clock=lambda: 1234.0)
    assert len(store) == 0
    assert store.quarantined == tmp_path / f"{FILENAME}.corrupt-1234"
    assert store.quarantined.read_bytes() == content
    assert "corrupt" in caplog.text and "starting fresh" in caplog.text
    store.set("k", "/p", 7)
    store.save()
    assert CheckpointStore(tmp_path).get("k") == 7


def test_expire_drops_entries_not_updated_for_long(tmp_path: Path) -> None:
    """`expire(older_than_s)` forgets files not updated (or touched) for that long."""
    now = [0.0]
    store = CheckpointStore(tmp_path, clock=lambda: now[0])
    store.set("old", "/a", 1)
    now[0] = 50.0
    store.set("new", "/b", 2)
    store.set("kept", "/c", 3)
    now[0] = 100.0
    store.touch("kept")
    assert store.expire(60.0) == ["old"]
    store.save()
    assert sorted(k for k, _ in CheckpointStore(tmp_path).items()) == ["kept", "new"]


def test_rekey_moves_an_entry(tmp_path: Path) -> None:
    """`rekey` moves a short file's checkpoint to its grown identity."""
    store = CheckpointStore(tmp_path)
    store.set("1:2:short", "/a", 10, head_bytes=10)
    store.rekey("1:2:short", "1:2:long", head_bytes=1024)
    store.save()
    reloaded = CheckpointStore(tmp_path)
    assert "1:2:short" not in reloaded and reloaded.entry("1:2:long")["head_bytes"] == 1024


def test_two_processes_sharing_a_state_dir_keep_each_others_entries(tmp_path: Path) -> None:
    """Saving merges with what another process saved meanwhile (two `send` runs at once)."""
    a = CheckpointStore(tmp_path)
    b = CheckpointStore(tmp_path)
    a.set("file-a", "/a", 100)
    a.save()
    b.set("file-b", "/b", 200)
    b.save()
    a.set("file-a", "/a", 150)
    a.save()
    final = CheckpointStore(tmp_path)
    assert (final.get("file-a"), final.get("file-b")) == (150, 200)


def test_save_if_due_throttles_writes(tmp_path: Path) -> None:
    """`save_if_due` writes only when something changed and the interval has passed."""
    store = CheckpointStore(tmp_path)
    assert not store.save_if_due(0.0)  # nothing changed
    store.set("k", "/p", 1)
    assert store.save_if_due(0.0)
    store.set("k", "/p", 2)
    assert not store.save_if_due(3600.0)
    assert CheckpointStore(tmp_path).get("k") == 1


def test_offset_moves_only_over_contiguous_acks() -> None:
    """An ACK for batch 3 before batch 2 does not move the offset past batch 2; once batch
    2 is ACKed the offset jumps to the end of batch 3."""
    tracker = AckTracker(100)
    for start, end in [(100, 200), (200, 300), (300, 400)]:
        tracker.sent(start, end)
    assert tracker.acked(100, 200) == 200
    assert tracker.acked(300, 400) is None
    assert tracker.committed == 200
    assert tracker.acked(200, 300) == 400
    assert tracker.committed == 400 and len(tracker) == 0


def test_unknown_or_repeated_ack_changes_nothing() -> None:
    """An ACK for a batch not outstanding (a duplicate) is ignored."""
    tracker = AckTracker(0)
    tracker.sent(0, 10)
    assert tracker.acked(0, 10) == 10
    assert tracker.acked(0, 10) is None and tracker.committed == 10


def test_batches_must_be_registered_contiguously() -> None:
    """A batch that does not start where the previous one ended is a bug, refused."""
    tracker = AckTracker(0)
    tracker.sent(0, 10)
    with pytest.raises(ValueError):
        tracker.sent(11, 20)
