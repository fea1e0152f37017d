"""Unit tests of the pure part of retention: parsing --keep and choosing partitions."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from logship.retention import (
    RetentionError,
    cutoff_day,
    parse_keep,
    partition_day,
    partitions_to_drop,
    retention_main,
)


def names(first: date, days: int) -> list[str]:
    return [f"log_events_{(first + timedelta(days=i)):%Y%m%d}" for i in range(days)]


def test_parse_keep_accepts_days_weeks_and_bare_numbers() -> None:
    """`30d` is 30 days, `4w` is 28 days, a bare `7` is 7 days; case and spaces are ignored."""
    assert parse_keep("30d") == 30
    assert parse_keep("4w") == 28
    assert parse_keep("7") == 7
    assert parse_keep(" 2D ") == 2


@pytest.mark.parametrize("text", ["0d", "", "30x", "-1d", "1.5d", "d", "30 days"])
def test_parse_keep_rejects_zero_and_garbage(text: str) -> None:
    """Keeping less than one day, or anything that is not N, Nd or Nw, is a usage error."""
    with pytest.raises(RetentionError, match="--keep"):
        parse_keep(text)


def test_partition_day_reads_only_day_partitions() -> None:
    """Only `log_events_YYYYMMDD` with a real date names a day; other tables are not partitions."""
    assert partition_day("log_events_20261129") == date(2026, 11, 29)
    assert partition_day("log_events") is None
    assert partition_day("log_events_20261399") is None
    assert partition_day("log_events_20261129_ts_idx") is None
    assert partition_day("ingest_batches") is None


def test_keep_30_days_drops_only_days_wholly_older_than_the_cutoff() -> None:
    """With --keep 30d on 2026-11-29 the cutoff is 2026-10-30: earlier days go, it stays."""
    today = date(2026, 11, 29)
    assert cutoff_day(today, 30) == date(2026, 10, 30)
    all_days = names(date(2026, 10, 1), 60)  # 2026-10-01 .. 2026-11-29 and future days
    dropped = partitions_to_drop(all_days, today, 30)
    assert dropped[0] == "log_events_20261001"
    assert dropped[-1] == "log_events_20261029"
    assert len(dropped) == 29
    assert "log_events_20261030" not in dropped


def test_today_and_future_partitions_are_never_dropped() -> None:
    """Even with --keep 1d, today's and pre-created future partitions are kept."""
    today = date(2026, 11, 29)
    candidates = ["log_events_20261127", "log_events_20261128", "log_events_20261129"]
    candidates.append("log_events_20261130")
    assert partitions_to_drop(candidates, today, 1) == ["log_events_20261127"]


def test_other_tables_are_ignored_and_result_is_sorted() -> None:
    """Tables that are not day partitions are never chosen; the choice comes back sorted."""
    today = date(2026, 11, 29)
    found = ["log_events_20200102", "ingest_batches", "log_events", "log_events_20200101"]
    assert partitions_to_drop(found, today, 30) == ["log_events_20200101", "log_events_20200102"]


def test_partitions_to_drop_refuses_zero_days() -> None:
    """Asking the pure function to keep 0 days is refused rather than dropping everything."""
    with pytest.raises(RetentionError):
        partitions_to_drop(["log_events_20200101"], date(2026, 11, 29), 0)


def test_bad_keep_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """`logship retention --keep 0d` is a usage error: exit 2 with a message, no database used."""
    assert retention_main(["--keep", "0d", "--database-url", "postgresql://nowhere/db"]) == 2
    assert "--keep" in capsys.readouterr().err
