"""Grouping accuracy as LogPAI defines it."""

from __future__ import annotations

import pytest

from analysis.evaluate import grouping_accuracy


def test_identical_grouping_scores_one() -> None:
    """Same partition under different labels is fully correct."""
    assert grouping_accuracy([1, 1, 2, 3], ["a", "a", "b", "c"]) == 1.0


def test_merged_groups_count_all_their_messages_wrong() -> None:
    """Two true groups predicted as one: every message of both is wrong."""
    assert grouping_accuracy([1, 1, 1, 2], ["a", "a", "b", "c"]) == 0.25


def test_split_group_counts_its_messages_wrong() -> None:
    """A true group split in two is wrong for all its messages."""
    assert grouping_accuracy([1, 2, 3, 3], ["a", "a", "b", "b"]) == 0.5


def test_length_mismatch_is_an_error() -> None:
    """Predictions and labels must pair up."""
    with pytest.raises(ValueError):
        grouping_accuracy([1], [])
    assert grouping_accuracy([], []) == 1.0
