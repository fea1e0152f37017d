"""Severity classification: level words, syslog PRI, HTTP status classes. Pure.

Every function returns one of `logship.records.LEVELS` or None.
"""

from __future__ import annotations

import re

from logship.records import LEVELS

# syslog severities 0..7 (RFC 5424 §6.2.1)
_SYSLOG = ("emergency", "alert", "critical", "error", "warning", "notice", "info", "debug")

# Level words in their common spellings (lower-cased). Java (log4j, logback, JUL), Python,
# syslog keywords, Go/Rust loggers, bunyan/pino names.
LEVEL_WORDS: dict[str, str] = {
    "trace": "debug",
    "debug": "debug",
    "dbg": "debug",
    "fine": "debug",
    "finer": "debug",
    "finest": "debug",
    "verbose": "debug",
    "config": "debug",
    "info": "info",
    "inf": "info",
    "information": "info",
    "informational": "info",
    "notice": "notice",
    "note": "notice",
    "warn": "warning",
    "warning": "warning",
    "wrn": "warning",
    "error": "error",
    "err": "error",
    "eror": "error",
    "severe": "error",
    "failure": "error",
    "crit": "critical",
    "critical": "critical",
    "fatal": "critical",
    "ftl": "critical",
    "alert": "alert",
    "emerg": "emergency",
    "emergency": "emergency",
    "panic": "emergency",
}
# Single-letter levels (glog, Android logcat, zerolog console): only where the format says so.
LETTER_LEVELS = {"D": "debug", "I": "info", "W": "warning", "E": "error", "F": "critical"}

# pino / bunyan numeric levels
_NUMERIC = ((60, "critical"), (50, "error"), (40, "warning"), (30, "info"), (20, "debug"))

_STRIP = "[]()<>:|-=*#@\"'"


def normalize_level(word: object) -> str | None:
    """A level word (any case, bracketed or not), or a pino/bunyan number → a level."""
    if isinstance(word, bool):
        return None
    if isinstance(word, int | float):
        if 0 <= word <= 7 and float(word).is_integer():
            return _SYSLOG[int(word)]
        for threshold, level in _NUMERIC:
            if word >= threshold:
                return level
        return "debug" if word >= 10 else None
    if not isinstance(word, str):
        return None
    key = word.strip().strip(_STRIP).lower()
    if key in LEVELS:
        return key
    return LEVEL_WORDS.get(key)


def level_from_pri(pri: int) -> str | None:
    """Syslog PRI (facility * 8 + severity) → level; None when out of range."""
    if not 0 <= pri <= 191:
        return None
    return _SYSLOG[pri % 8]


def level_from_status(status: int) -> str | None:
    """HTTP status class → level: 5xx error, 4xx warning, 1xx-3xx info."""
    if 500 <= status <= 599:
        return "error"
    if 400 <= status <= 499:
        return "warning"
    if 100 <= status <= 399:
        return "info"
    return None


_TOKEN = re.compile(r"\S+")
_BRACKETED = re.compile(r"^[\[(<](\w+)[\])>]:?$")


def find_level_word(text: str, max_tokens: int = 8) -> str | None:
    """A level named in the first few tokens of a line, where it is clearly a level.

    Accepted: an UPPER-CASE level word (`ERROR`, `WARN`), a bracketed one in any case
    (`[error]`, `<warn>`), or one followed by a colon (`error:`, `Warning:`). A bare
    lower-case word (`error`) is message text and is not taken.
    """
    for n, match in enumerate(_TOKEN.finditer(text)):
        if n >= max_tokens:
            break
        token = match.group()
        bare = token.rstrip(":,")
        if bare.isupper() and bare.isalpha():
            level = LEVEL_WORDS.get(bare.lower())
            if level:
                return level
        m = _BRACKETED.match(token)
        if m:
            level = LEVEL_WORDS.get(m.group(1).lower())
            if level:
                return level
        if token.endswith(":") and token[:-1].isalpha():
            level = LEVEL_WORDS.get(token[:-1].lower())
            if level:
                return level
    return None
