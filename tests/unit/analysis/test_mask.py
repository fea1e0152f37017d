"""Masking of variables in log messages."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from analysis import mask
from analysis.evaluate import LOGHUB_SYSTEMS, load_loghub
from analysis.mask import WILDCARD, mask_message, mask_token, mask_variables
from bench import loggen
from tests.conftest import LOGHUB


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


def _fuzz_texts(n: int, seed: int = 7) -> list[str]:
    """Texts mixing value-like fragments with random characters around the patterns' edges."""
    rng = random.Random(seed)
    chars = "aZfx_0912 .:-/\\@+=é\t\n,;[]()\"'<>ABCDEFJMNOSTWanoecuKBi"
    fragments = [
        "Jan", "Mon", "Thu", "Sept", "12:30:01", "1:02", "2024-01-02", "2024-01-02T03:04:05Z",
        "Fri, Jun 17 07:07:00 2005", "Jun  7 07:07:00", "10.0.0.1", "10.0.0.1:80", "::1",
        "fe80::1ff:fe23", "a:b:c", "0x1f", "deadbeef12", "abcdefab", "http://a.b/c", "a@b.com",
        ".x@y.org", "-a+b@c-d.e", "/var/log", "./run.sh", "../a/b", "C:\\x\\y", "/p4", "5 KB",
        "17.7GB", "-3.5e4", "+7", "ab:cd:ef:01:02:03", "12/Dec/2020:10:00:00 +0100",
        "1.2.3", "2005/06/17 07:07:00", "123e4567-e89b-12d3-a456-426614174000",
    ]  # fmt: skip
    out = []
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 12)):
            if rng.random() < 0.45:
                parts.append(rng.choice(fragments))
            else:
                parts.append("".join(rng.choice(chars) for _ in range(rng.randint(1, 8))))
        out.append(rng.choice(["", " ", " ", ".", "-", ":", "/", "="]).join(parts))
    return out


def test_fast_variable_pattern_masks_exactly_like_the_reference_patterns() -> None:
    """The speed-optimised regular expression gives the same result as the readable
    `_PATTERNS` on the LogHub samples, generated logs and generated edge cases."""
    reference = re.compile("|".join(f"(?:{p})" for p in mask._PATTERNS))
    texts = [line for line in loggen.lines(2000)] + _fuzz_texts(20_000)
    for system in LOGHUB_SYSTEMS:
        texts += load_loghub(Path(LOGHUB), system)[0]
    for text in texts:
        assert mask_variables(text) == reference.sub(WILDCARD, text), text
