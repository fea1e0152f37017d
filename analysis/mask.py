"""Masking of variable parts of a log message: the first stage of template mining.

`mask_message(text)` replaces variables that regular expressions can recognise (URLs, e-mail
addresses, UUIDs, IP and MAC addresses, dates and times, hex numbers, file paths, numbers) by
`<*>`, then splits the message on whitespace into tokens. Inside each token, every piece between
punctuation that still contains a digit is a variable too (`uid=0` -> `uid=<*>`,
`blk_-1608999687919862906` -> `<*>`, `core.2275` -> `<*>`), so identifiers made of words and
numbers are caught without a rule for each kind. Pure functions, no state.
"""

from __future__ import annotations

import functools
import re

WILDCARD = "<*>"

_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*"
_TIME = r"\d{1,2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?"
_TZ = r"(?:\s?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})\b)?"

# Order matters: the first alternative that matches at a position wins.
_PATTERNS: list[str] = [
    # URLs and e-mail addresses.
    r"\b[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\"'<>]+",
    r"\b[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+\b",
    # UUIDs.
    r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b",
    # MAC addresses, IPv6 (full and compressed with at least two groups), IPv4 with port.
    r"\b[0-9a-fA-F]{2}(?::[0-9a-fA-F]{2}){5}\b",
    r"(?<![\w:.])(?=[0-9a-fA-F:]*\d)(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])",
    r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?\b",
    # Dates and times: ISO 8601, ctime ("Fri Jun 17 07:07:00 2005"), syslog, Apache, plain.
    r"\b\d{4}-\d{2}-\d{2}(?:[T ]" + _TIME + r")?" + _TZ,
    r"\b" + _DAY + r",?\s+" + _MONTH + r"\s+\d{1,2},?\s+" + _TIME + r"(?:\s+\d{4})?" + _TZ,
    r"\b" + _MONTH + r"\s+\d{1,2},?\s+(?:\d{4}\s+)?" + _TIME + _TZ,
    r"\b\d{1,2}/" + _MONTH + r"/\d{4}(?::" + _TIME + r")?(?:\s[+-]\d{4})?",
    r"\b\d{1,4}[/.]\d{1,2}[/.]\d{1,4}\b(?:\s" + _TIME + ")?",
    r"\b" + _TIME + r"\b",
    # Hexadecimal: 0x..., and long runs of hex digits with at least one digit.
    r"\b0[xX][0-9a-fA-F]+\b",
    r"\b(?=[0-9a-fA-F]*\d)[0-9a-fA-F]{8,}\b",
    # File paths with at least two parts ("/var/log/syslog", "C:\\Temp\\x", "./run.sh").
    r"(?<![\w/.])(?:[A-Za-z]:\\|\.{0,2}/)[\w.\-~+@$%]+(?:[/\\][\w.\-~+@$%]*)+",
    r"(?<![\w/.])/[\w.\-~+@$%]*\d[\w.\-~+@$%]*",
    # Data sizes: the number and its unit are one value ("5.2 KB", "17.7GB", "512 bytes").
    r"(?<![\w.])\d+(?:\.\d+)?(?:\s?(?:[KMGTPE]i?B|B|bytes?)|[KMGTPE])\b",
    # Numbers with an optional sign, decimals, exponent and unit-free.
    r"(?<![\w.])[-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])",
]
# The same alternatives rewritten for speed, exactly equivalent (a unit test compares both on
# LogHub and generated text). Python's `re` tries every alternative at every position; it skips
# an alternative at once when it starts with a literal or a character class, so each starts
# with its first character and checks the word boundary or lookbehind after it. `_START` rules
# out positions inside a word, where no pattern above can begin (`\b` before a word character,
# or a lookbehind excluding `\w`); only an e-mail address may start at `.`, `+` or `-` there.
# Given `_START`, `\b` before a word character always holds and is left out.
_START = r"(?:(?<!\w)|(?=[.+\-]))"
_DAY_FAST = r"[FMSTW](?:(?<=M)on|(?<=T)ue|(?<=W)ed|(?<=T)hu|(?<=F)ri|(?<=S)at|(?<=S)un)[a-z]*"
_MONTH_FAST = (
    r"[ADFJMNOS](?:(?<=J)an|(?<=F)eb|(?<=M)ar|(?<=A)pr|(?<=M)ay|(?<=J)un|(?<=J)ul|(?<=A)ug"
    r"|(?<=S)ep|(?<=O)ct|(?<=N)ov|(?<=D)ec)[a-z]*"
)
_TIME_FAST = r"\d\d?:\d{2}(?::\d{2}(?:[.,]\d+)?)?"  # _TIME with its first digit first
_HEX = "[0-9a-fA-F]"
_FAST_PATTERNS: list[str] = [
    r"[a-zA-Z][a-zA-Z0-9+.\-]*://[^\s\"'<>]+",
    r"[\w.+\-](?<![^\w][.+\-])(?<!^[.+\-])[\w.+\-]*@[\w\-]+(?:\.[\w\-]+)+\b",
    _HEX + _HEX + r"{7}-" + _HEX + r"{4}-" + _HEX + r"{4}-" + _HEX + r"{4}-" + _HEX + r"{12}\b",
    _HEX + _HEX + r"(?::[0-9a-fA-F]{2}){5}\b",
    r"[0-9a-fA-F:](?<![\w:.].)(?:(?<=\d)|(?=[0-9a-fA-F:]*\d))(?:(?<=:)|(?<!:)[0-9a-fA-F]{0,3}:)"
    r"(?:[0-9a-fA-F]{0,4}:){1,6}[0-9a-fA-F]{0,4}(?![\w:])",
    r"\d(?<![\w.]\d)\d{0,2}\.(?:\d{1,3}\.){2}\d{1,3}(?::\d{1,5})?\b",
    r"\d\d{3}-\d{2}-\d{2}(?:[T ]" + _TIME + r")?" + _TZ,
    _DAY_FAST + r",?\s+" + _MONTH + r"\s+\d{1,2},?\s+" + _TIME + r"(?:\s+\d{4})?" + _TZ,
    _MONTH_FAST + r"\s+\d{1,2},?\s+(?:\d{4}\s+)?" + _TIME + _TZ,
    r"\d\d?/" + _MONTH + r"/\d{4}(?::" + _TIME + r")?(?:\s[+-]\d{4})?",
    r"\d\d{0,3}[/.]\d{1,2}[/.]\d{1,4}\b(?:\s" + _TIME + ")?",
    _TIME_FAST + r"\b",
    r"0[xX][0-9a-fA-F]+\b",
    _HEX + r"(?:(?<=\d)|(?=[0-9a-fA-F]*\d))[0-9a-fA-F]{7,}\b",
    r"[A-Za-z./](?<![\w/.].)(?:(?<=[A-Za-z]):\\|(?<=\.)\.?/|(?<=/))"
    r"[\w.\-~+@$%]+(?:[/\\][\w.\-~+@$%]*)+",
    r"/(?<![\w/.]/)[\w.\-~+@$%]*\d[\w.\-~+@$%]*",
    r"\d(?<![\w.]\d)\d*(?:\.\d+)?(?:\s?(?:[KMGTPE]i?B|B|bytes?)|[KMGTPE])\b",
    r"[-+](?<![\w.][-+])\d+(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])",
    r"\d(?<![\w.]\d)\d*(?:\.\d+)?(?:[eE][-+]?\d+)?(?![\w])",
]
_VARIABLES = re.compile(_START + "(?:" + "|".join(_FAST_PATTERNS) + ")")
# Pieces of a token: runs of word-ish characters between punctuation.
_PIECE = re.compile(r"(?:[^\s=:,;()\[\]{}<>\"'|.]|\.(?!\.))+")
# An empty value: `()`, `[]`, `""`, or `key=` at the end of a token.
_EMPTY = re.compile(r"^(?:\(\)|\[\]|\{\}|<>|\"\"|'')$|(?<=\w=)$")
_DIGIT = re.compile(r"\d")
# A name with one short digit run inside letters (`jk2_init`, `log4j`, `Slf4jLogger`, `k8s`):
# part of the program's vocabulary, not a value.
_NAME_WITH_DIGIT = re.compile(r"[A-Za-z_]*[A-Za-z]\d{1,2}[A-Za-z_]*[A-Za-z]")
_MARK = "\x00"  # stands for a masked variable while tokens are split; never in input text


def mask_variables(text: str) -> str:
    """Replace what the regular expressions recognise as variables by `<*>`."""
    return _VARIABLES.sub(WILDCARD, text)


def _mask_piece(match: re.Match[str]) -> str:
    piece = match.group(0)
    if _MARK in piece:
        return _MARK
    if _DIGIT.search(piece) and not _NAME_WITH_DIGIT.fullmatch(piece):
        return _MARK
    return piece


_PLAIN = re.compile(r"[^\d=()\[\]{}<>\"'\x00]*")


@functools.lru_cache(maxsize=65536)
def mask_token(token: str) -> str:
    """Mask the digit-bearing pieces of one token; `<*>` runs inside a token collapse to one."""
    if _PLAIN.fullmatch(token):
        return token  # no digit, no brackets, no `=`: nothing to mask (most words)
    token = _EMPTY.sub(lambda m: m.group(0)[:1] + _MARK + m.group(0)[1:], token, count=1)
    token = token.replace(WILDCARD, _MARK)
    token = _PIECE.sub(_mask_piece, token)
    while _MARK + _MARK in token:
        token = token.replace(_MARK + _MARK, _MARK)
    return token.replace(_MARK, WILDCARD)


def mask_message(text: str) -> list[str]:
    """Tokens of a message with every recognisable variable shown as `<*>`.

    Consecutive tokens that are only `<*>` collapse into one, so a variable that spans several
    words (a list of block ids, a date with spaces) gives the same template whatever its length.
    """
    text = text.replace(_MARK, " ")
    out: list[str] = []
    for raw in mask_variables(text).split():
        token = mask_token(raw)
        if token == WILDCARD and out and out[-1] == WILDCARD:
            continue
        out.append(token)
    return out


def is_variable(token: str) -> bool:
    """True for a token that is only a variable (`<*>`)."""
    return token == WILDCARD
