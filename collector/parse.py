"""Parsing of cleaned entries into events: format, time, host, level, message. Pure.

`parse_event(text, received_at)` tries the formats in this order and takes the first that fits
the entry's first line: JSON lines, RFC 5424, RFC 3164 (with or without PRI; ISO timestamps
as rsyslog writes them too), nginx/Apache access logs, Python logging, Java logging (log4j,
logback, java.util.logging, and the Hadoop/Spark/HDFS/ZooKeeper layouts), logfmt, and
`generic` (a leading timestamp and a level word are still taken when present).

For a multiline entry the first line is parsed and the following lines are kept in the
message (a stack trace stays with its event); a Python traceback or Java stack trace in the
following lines decides between `generic` and those formats.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from collector.classify import (
    find_level_word,
    level_from_pri,
    level_from_status,
    normalize_level,
)
from collector.timestamps import leading_timestamp, match_kind, parse_timestamp

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1


@dataclass(slots=True)
class Parsed:
    format: str
    message: str
    ts: float | None = None
    host: str | None = None
    level: str | None = None
    fields: dict[str, Any] | None = None


# ----------------------------------------------------------------------------- helpers


def safe_str(s: str) -> str:
    """No NUL (PostgreSQL refuses it) and no lone surrogates (not encodable as UTF-8)."""
    if "\x00" in s:
        s = s.replace("\x00", "")
    if s.isascii():
        return s  # no surrogates possible; constant time in CPython
    try:
        s.encode("utf-8")
    except UnicodeEncodeError:
        s = s.encode("utf-8", "replace").decode("utf-8")
    return s


def sanitize(value: Any, depth: int = 0) -> Any:
    """Make a decoded JSON value storable in jsonb and packable by msgpack."""
    if isinstance(value, str):
        return safe_str(value)
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if INT64_MIN <= value <= INT64_MAX else str(value)
    if isinstance(value, float):
        return (
            value if value == value and value not in (float("inf"), float("-inf")) else str(value)
        )
    if depth > 32:
        return safe_str(json.dumps(value, default=str)[:1024])
    if isinstance(value, dict):
        return {safe_str(str(k)): sanitize(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [sanitize(v, depth + 1) for v in value]
    return safe_str(str(value))


def _split_first(text: str) -> tuple[str, str]:
    """(first line, the rest including its leading newline)."""
    i = text.find("\n")
    return (text, "") if i < 0 else (text[:i], text[i:])


# ----------------------------------------------------------------------------- JSON

_JSON_LEVEL = ("level", "severity", "lvl", "loglevel", "log_level", "levelname", "level_name")
_JSON_MSG = ("msg", "message", "log", "text", "event")
_JSON_TIME = ("time", "timestamp", "ts", "@timestamp", "datetime", "date", "t")
_JSON_HOST = ("host", "hostname", "host_name")


def _pick(obj: dict[str, Any], keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for key in keys:
        if key in obj:
            return key, obj[key]
    return None, None


def _from_fields(fmt: str, obj: dict[str, Any], line: str, received_at: float) -> Parsed:
    """Level, message, time and host lifted out of a JSON object or logfmt pairs; the other
    keys stay as fields. The whole line is the message when no message key holds a string."""
    rest = dict(obj)
    level = None
    key, value = _pick(obj, _JSON_LEVEL)
    if key is not None:
        level = normalize_level(value)
        if level is not None:
            rest.pop(key)
    message = line
    key, value = _pick(obj, _JSON_MSG)
    if key is not None and isinstance(value, str):
        message = value
        rest.pop(key)
    ts = None
    key, value = _pick(obj, _JSON_TIME)
    if key is not None:
        ts = parse_timestamp(value, received_at)
        if ts is not None:
            rest.pop(key)
    host = None
    key, value = _pick(obj, _JSON_HOST)
    if key is not None and isinstance(value, str) and value:
        host = value
        rest.pop(key)
    return Parsed(fmt, message, ts, host, level, rest or None)


def parse_json(text: str, received_at: float) -> Parsed | None:
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        obj = json.loads(stripped, parse_constant=str)
    except ValueError:
        return None
    if not isinstance(obj, dict):
        return None
    return _from_fields("json", sanitize(obj), stripped, received_at)


# ----------------------------------------------------------------------------- syslog

_RFC5424 = re.compile(r"<(\d{1,3})>([1-9]\d?) (\S+) (\S+) (\S+) (\S+) (\S+)(?: (.*))?$", re.S)
_SD_ELEMENT = re.compile(r'\[([^\s\]=]+)((?:\s+[^\s=\]]+="(?:[^"\\]|\\.)*")*)\s*\]')
_SD_PARAM = re.compile(r'([^\s=\]]+)="((?:[^"\\]|\\.)*)"')


def _nil(value: str) -> str | None:
    return None if value == "-" else value


def parse_rfc5424(line: str, received_at: float) -> Parsed | None:
    m = _RFC5424.match(line)
    if m is None:
        return None
    pri, _version, stamp, host, app, procid, msgid, rest = m.groups()
    level = level_from_pri(int(pri))
    if level is None:
        return None
    ts = None if stamp == "-" else parse_timestamp(stamp, received_at)
    rest = rest or ""
    sd: dict[str, dict[str, str]] = {}
    if rest.startswith("-"):
        rest = rest[1:]
    else:
        pos = 0
        while rest.startswith("[", pos):
            em = _SD_ELEMENT.match(rest, pos)
            if em is None:
                break
            sd[em.group(1)] = {
                k: v.replace('\\"', '"').replace("\\]", "]").replace("\\\\", "\\")
                for k, v in _SD_PARAM.findall(em.group(2))
            }
            pos = em.end()
        rest = rest[pos:]
    message = rest[1:] if rest.startswith(" ") else rest
    message = message.removeprefix("\ufeff")
    fields: dict[str, Any] = {
        k: v for k, v in (("app", _nil(app)), ("procid", _nil(procid)), ("msgid", _nil(msgid))) if v
    }
    if sd:
        fields["sd"] = sd
    return Parsed("rfc5424", message, ts, _nil(host), level, fields or None)


_PRI = re.compile(r"<(\d{1,3})>")
_HOST = re.compile(r" +([\w.:\-]+) +")
_TAG = re.compile(r"([^:\[\s]{1,64})(?:\[(\d+)\])?: ?")


def parse_rfc3164(line: str, received_at: float) -> Parsed | None:
    pos = 0
    level = None
    m = _PRI.match(line)
    if m is not None:
        level = level_from_pri(int(m.group(1)))
        if level is None:
            return None
        pos = m.end()
    found = match_kind("syslog", line, pos, received_at)
    if found is None:
        # rsyslog's RFC 3339 form: a `T` and a zone, so as not to take Python/Java lines
        if line[pos + 10 : pos + 11] != "T":
            return None
        found = match_kind("iso", line, pos, received_at)
        if found is None or not _has_zone(line[pos : found[1]]):
            return None
    ts, pos = found
    hm = _HOST.match(line, pos)
    if hm is None:
        if m is None:
            return None
        return Parsed("rfc3164", line[pos:].strip(), ts, None, level)
    host = hm.group(1)
    if normalize_level(host) is not None and m is None:
        return None  # `Dec 4 10:00:00 ERROR ...` is a generic line, not a host
    pos = hm.end()
    fields: dict[str, Any] | None = None
    tm = _TAG.match(line, pos)
    if tm is not None:
        fields = {"app": tm.group(1)}
        if tm.group(2):
            fields["pid"] = int(tm.group(2))
        pos = tm.end()
    message = line[pos:]
    if level is None:
        level = find_level_word(message, 3)
    return Parsed("rfc3164", message, ts, host, level, fields)


def _has_zone(stamp: str) -> bool:
    return stamp.endswith("Z") or bool(re.search(r"[+-]\d{2}:?\d{2}$", stamp))


# ----------------------------------------------------------------------------- access logs

_ACCESS = re.compile(
    r'(?P<remote>\S+) (?P<ident>\S+) (?P<user>\S+) \[(?P<time>[^\]]+)\] "(?P<request>(?:[^"\\]|\\.)*)" '
    r'(?P<status>\d{3}) (?P<bytes>\d+|-)(?: "(?P<referer>(?:[^"\\]|\\.)*)" "(?P<agent>(?:[^"\\]|\\.)*)")?'
)


def parse_access(line: str, received_at: float) -> Parsed | None:
    m = _ACCESS.match(line)
    if m is None:
        return None
    ts = parse_timestamp(m.group("time"), received_at)
    if ts is None:
        return None
    status = int(m.group("status"))
    fields: dict[str, Any] = {"remote_addr": m.group("remote"), "status": status}
    if m.group("user") != "-":
        fields["user"] = m.group("user")
    parts = m.group("request").split(" ")
    if len(parts) == 3:
        fields["method"], fields["path"], fields["protocol"] = parts
    else:
        fields["request"] = m.group("request")
    if m.group("bytes") != "-":
        fields["bytes"] = int(m.group("bytes"))
    for name in ("referer", "agent"):
        value = m.group(name)
        if value not in (None, "-"):
            fields["user_agent" if name == "agent" else name] = value
    return Parsed("access", line, ts, None, level_from_status(status), fields)


# ----------------------------------------------------------------------------- Python / Java

_PY_LEVELS = "DEBUG|INFO|WARNING|ERROR|CRITICAL"
_PY_BASIC = re.compile(r"(" + _PY_LEVELS + r"):([\w.\-]*):(.*)$", re.S)
_PY_DEFAULT = re.compile(r"\s*-\s+([\w.\-]+) - (" + _PY_LEVELS + r") - (.*)$", re.S)
_BRACKET = r"\[(?:[^\[\]]|\[[^\]]*\])*\]"
_JAVA = re.compile(
    r"\s*(?:-\s+)?(?:\d+\s+)?(?P<t1>" + _BRACKET + r"\s+)?"
    r"(?P<level>TRACE|DEBUG|INFO|WARN|WARNING|ERROR|FATAL|SEVERE|CONFIG|FINEST|FINER|FINE|CRITICAL)"
    r"\s+(?:-\s+)?(?P<t2>" + _BRACKET + r"\s+)?(?:-\s+)?"
    r"(?:(?P<logger>[\w$.]+(?:@\d+)?|\([\w$.]+\))(?::\s+|\s+-\s+|:$))?(?P<msg>.*)$",
    re.S,
)
_JAVA_CLASS = re.compile(r"(?:[\w$]+\.)*[A-Z][\w$]*(?:@\d+)?$")
_JAVA_ONLY_LEVELS = {"TRACE", "WARN", "FATAL", "SEVERE", "CONFIG", "FINE", "FINER", "FINEST"}


_UNSET: Any = object()


def parse_python_java(line: str, received_at: float, found: Any = _UNSET) -> Parsed | None:
    """Python or Java logging; `found` is `leading_timestamp(line)` when already known."""
    m = _PY_BASIC.match(line)
    if m is not None:  # logging.basicConfig(): LEVEL:name:message
        basic = {"logger": m.group(2)} if m.group(2) else None
        return Parsed("python", m.group(3), None, None, normalize_level(m.group(1)), basic)
    if found is _UNSET:
        found = leading_timestamp(line, received_at)
    if found is None:
        return None
    ts, pos, kind = found
    if kind == "jul":  # java.util.logging's first line: time, class, method
        return Parsed("java", line[pos:].strip(), ts, None, None, None)
    rest = line[pos:]
    m = _PY_DEFAULT.match(rest)
    if m is not None:  # "%(asctime)s - %(name)s - %(levelname)s - %(message)s"
        return Parsed(
            "python", m.group(3), ts, None, normalize_level(m.group(2)), {"logger": m.group(1)}
        )
    m = _JAVA.match(rest)
    if m is None:
        return None
    word, logger = m.group("level"), m.group("logger")
    thread = (m.group("t1") or m.group("t2") or "").strip()[1:-1]
    if not (logger or thread):
        return None
    javaish = (
        bool(thread)
        or kind in ("short", "compact", "time")
        or word in _JAVA_ONLY_LEVELS
        or (logger is not None and ("$" in logger or _JAVA_CLASS.match(logger) is not None))
    )
    fields: dict[str, Any] = {}
    if logger:
        fields["logger"] = logger.strip("()")
    if thread:
        fields["thread"] = thread
    fmt = "java" if javaish else "python"
    return Parsed(fmt, m.group("msg"), ts, None, normalize_level(word), fields or None)


# ----------------------------------------------------------------------------- logfmt

_LOGFMT_PAIR = re.compile(r'([A-Za-z_@][\w.\-/@]*)=("(?:[^"\\]|\\.)*"|[^\s"]*)')


def parse_logfmt(line: str, received_at: float) -> Parsed | None:
    pairs: dict[str, str] = {}
    pos = 0
    for m in _LOGFMT_PAIR.finditer(line):
        if line[pos : m.start()].strip():
            return None
        value = m.group(2)
        if value.startswith('"'):
            value = value[1:-1].replace('\\"', '"').replace("\\\\", "\\")
        pairs[m.group(1)] = value
        pos = m.end()
    if line[pos:].strip() or len(pairs) < 2:
        return None
    return _from_fields("logfmt", pairs, line, received_at)


# ----------------------------------------------------------------------------- generic

_LEADING_SEP = re.compile(r"^[\s:\-|]+")


_FLAG = re.compile(r"(?:-|[A-Z_]{1,16}) ")


def parse_generic(line: str, received_at: float, found: Any = _UNSET) -> Parsed:
    ts = None
    message = line
    if found is _UNSET:
        found = leading_timestamp(line, received_at)
    if found is None:  # one flag column before the time, as in BGL: "- 1117838570 ..."
        flag = _FLAG.match(line)
        if flag is not None:
            found = leading_timestamp(line[flag.end() :], received_at)
            if found is not None:
                found = (found[0], found[1] + flag.end(), found[2])
    if found is not None:
        ts, pos, _kind = found
        message = _LEADING_SEP.sub("", line[pos:])
    level = find_level_word(message)
    if level is not None:
        first, _, remainder = message.partition(" ")
        if normalize_level(first) == level and remainder.strip():
            message = _LEADING_SEP.sub("", remainder)
    return Parsed("generic", message or line, ts, None, level, None)


# ----------------------------------------------------------------------------- dispatch

_PY_TRACEBACK = "\nTraceback (most recent call last):"
_JAVA_TRACE = re.compile(r"\n(?:\tat |\s+at [\w$.]+\(|Caused by: )")


def parse_event(text: str, received_at: float) -> Parsed:
    """Parse one cleaned entry (see the module doc for the order of formats)."""
    head = text.lstrip()
    if head.startswith("{"):
        parsed = parse_json(text, received_at)
        if parsed is not None:
            return parsed
    line, more = _split_first(text)
    parsed = None
    if head.startswith("<"):
        parsed = parse_rfc5424(line, received_at) or parse_rfc3164(line, received_at)
    found: Any = _UNSET
    if parsed is None:
        parsed = parse_rfc3164(line, received_at) or parse_access(line, received_at)
    if parsed is None:
        found = leading_timestamp(line, received_at)
        parsed = parse_python_java(line, received_at, found) or parse_logfmt(line, received_at)
    if parsed is None:
        parsed = parse_generic(line, received_at, found)
    if more:
        parsed.message += more
        if _PY_TRACEBACK in more or text.startswith("Traceback (most recent call last):"):
            if parsed.format in ("generic", "java"):
                parsed.format = "python"
        elif _JAVA_TRACE.search(more) and parsed.format in ("generic", "python"):
            parsed.format = "java"
        if parsed.format == "java" and parsed.level is None:  # JUL: level on the second line
            second = more[1:].split("\n", 1)[0]
            word, sep, _ = second.partition(":")
            if sep and normalize_level(word) is not None and word.isupper():
                parsed.level = normalize_level(word)
    parsed.message = safe_str(parsed.message)
    if parsed.host is not None:
        parsed.host = safe_str(parsed.host)
    return parsed
