"""Masking of variables in log messages."""

from __future__ import annotations

import pytest

from analysis.mask import WILDCARD, mask_message, mask_token, mask_variables


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("connect to 10.1.2.3:8080 ok", "connect to <*> ok"),
        ("addr fe80::1ff:fe23:4567:890a up", "addr <*> up"),
        ("mac 00:1a:2b:3c:4d:5e seen", "mac <*> seen"),
        ("id 123e4567-e89b-12d3-a456-426614174000 done", "id <*> done"),
        ("see https://example.com/a?b=1 now", "see <*> now"),
        ("mail bob.smith@example.org sent", "mail <*> sent"),
        ("at 2024-05-01T10:20:30.123Z end", "at <*> end"),
        ("at Fri Jun 17 07:07:00 2005 end", "at <*> end"),
        ("at Jun 17 07:07:00 end", "at <*> end"),
        ("at 17/Jun/2005:07:07:00 +0200 end", "at <*> end"),
        ("reg 0x1f3a and deadbeef42 set", "reg <*> and <*> set"),
        ("open /var/log/syslog failed", "open <*> failed"),
        ("size 5.2 KB, free 17.7GB", "size <*>, free <*>"),
        ("took -12.5e3 ms", "took <*> ms"),
    ],
)
def test_mask_variables_replaces_recognised_values(text: str, expected: str) -> None:
    """Each kind of variable the regular expressions know becomes one `<*>`."""
    assert mask_variables(text) == expected


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("uid=0", "uid=<*>"),
        ("LOGIN(uid=0)", "LOGIN(uid=<*>)"),
        ("blk_-1608999687919862906", WILDCARD),
        ("core.2275", WILDCARD),
        ("instruction......0", "instruction.....<*>"),
        ("rhost=", "rhost=<*>"),
        ("()", "(<*>)"),
        ("plain", "plain"),
        ("a.b-c", "a.b-c"),
    ],
)
def test_mask_token_masks_digit_pieces_and_empty_values(token: str, expected: str) -> None:
    """Pieces of a token that contain a digit, and empty values, become `<*>`."""
    assert mask_token(token) == expected


def test_mask_message_collapses_adjacent_variables() -> None:
    """A variable spanning several tokens (a list of ids) gives one `<*>` whatever its length."""
    one = mask_message("ask 10.0.0.1:50010 to delete blk_1")
    three = mask_message("ask 10.0.0.1:50010 to delete blk_1 blk_2 blk_3")
    assert one == three == ["ask", WILDCARD, "to", "delete", WILDCARD]


def test_mask_message_keeps_words_and_ignores_nul() -> None:
    """Words stay as they are; a NUL byte in the input is treated as whitespace."""
    assert mask_message("session closed\x00for user root") == [
        "session",
        "closed",
        "for",
        "user",
        "root",
    ]
    assert mask_message("") == []


def test_names_with_a_digit_inside_stay_words() -> None:
    """`jk2_init()`, `log4j` and `Slf4jLogger` are vocabulary; `sda1` and `test9` are values."""
    assert mask_message("jk2_init() Found child 6725") == ["jk2_init()", "Found", "child", WILDCARD]
    assert mask_message("log4j Slf4jLogger started") == ["log4j", "Slf4jLogger", "started"]
    assert mask_message("disk sda1 user test9") == ["disk", WILDCARD, "user", WILDCARD]
