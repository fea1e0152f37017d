"""Parsing and classification of entries: a labelled sample per format, and LogHub files."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import msgpack
import pytest

from collector.parse import parse_event, sanitize
from logship.records import FORMATS, LEVELS
from tests.conftest import LOGHUB

RECEIVED = datetime(2026, 11, 29, 12, 0, tzinfo=UTC).timestamp()


def utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()  # type: ignore[misc]


# (line, format, level, host, ts, message)
SAMPLES = [
    # RFC 5424 (the RFC's own examples)
    (
        "<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - \ufeff'su root' failed for lonvick on /dev/pts/8",
        "rfc5424",
        "critical",
        "mymachine.example.com",
        utc(2003, 10, 11, 22, 14, 15) + 0.003,
        "'su root' failed for lonvick on /dev/pts/8",
    ),
    (
        '<165>1 2003-08-24T05:14:15.000003-07:00 192.0.2.1 myproc 8710 - [exampleSDID@32473 iut="3" eventSource="Application"] An application event',
        "rfc5424",
        "notice",
        "192.0.2.1",
        utc(2003, 8, 24, 12, 14, 15) + 0.000003,
        "An application event",
    ),
    ("<13>1 - - - - - -", "rfc5424", "notice", None, None, ""),
    # RFC 3164, with and without PRI, and rsyslog's RFC 3339 variant
    (
        "<34>Oct 11 22:14:15 mymachine su: 'su root' failed for lonvick on /dev/pts/8",
        "rfc3164",
        "critical",
        "mymachine",
        utc(2026, 10, 11, 22, 14, 15),
        "'su root' failed for lonvick on /dev/pts/8",
    ),
    (
        "Jun 14 15:16:01 combo sshd(pam_unix)[19939]: authentication failure; logname= uid=0",
        "rfc3164",
        None,
        "combo",
        utc(2026, 6, 14, 15, 16, 1),
        "authentication failure; logname= uid=0",
    ),
    (
        "Dec 10 06:55:46 LabSZ sshd[24200]: error: Received disconnect from 1.2.3.4",
        "rfc3164",
        "error",
        "LabSZ",
        utc(2025, 12, 10, 6, 55, 46),
        "error: Received disconnect from 1.2.3.4",
    ),
    (
        "2026-11-29T10:00:00.5+01:00 web-1 nginx[12]: started",
        "rfc3164",
        None,
        "web-1",
        utc(2026, 11, 29, 9, 0, 0) + 0.5,
        "started",
    ),
    # access logs
    (
        '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326 "http://www.example.com/start.html" "Mozilla/4.08"',
        "access",
        "info",
        None,
        utc(2000, 10, 10, 20, 55, 36),
        None,
    ),
    (
        '10.0.0.1 - - [29/Nov/2026:10:00:00 +0000] "POST /api HTTP/1.1" 503 0',
        "access",
        "error",
        None,
        utc(2026, 11, 29, 10, 0, 0),
        None,
    ),
    (
        '10.0.0.1 - - [29/Nov/2026:10:00:00 +0000] "GET /x HTTP/1.1" 404 -',
        "access",
        "warning",
        None,
        utc(2026, 11, 29, 10, 0, 0),
        None,
    ),
    # JSON lines
    (
        '{"level":"error","msg":"boom","time":"2026-11-29T10:00:00+01:00","host":"h1","user":7}',
        "json",
        "error",
        "h1",
        utc(2026, 11, 29, 9, 0, 0),
        "boom",
    ),
    (
        '{"severity":"WARNING","message":"slow","timestamp":1764410400000}',
        "json",
        "warning",
        None,
        1764410400.0,
        "slow",
    ),
    ('{"level":30,"msg":"pino","time":1764410400}', "json", "info", None, 1764410400.0, "pino"),
    ('{"a": 1}', "json", None, None, None, '{"a": 1}'),
    # Python logging
    (
        "2026-11-29 10:00:00,123 - myapp.db - WARNING - slow query",
        "python",
        "warning",
        None,
        utc(2026, 11, 29, 10, 0, 0) + 0.123,
        "slow query",
    ),
    ("ERROR:root:something broke", "python", "error", None, None, "something broke"),
    ("CRITICAL:app.worker:disk full", "python", "critical", None, None, "disk full"),
    (
        "2026-11-29 10:00:00,123 INFO myapp.web: request done",
        "python",
        "info",
        None,
        utc(2026, 11, 29, 10, 0, 0) + 0.123,
        "request done",
    ),
    # Java logging
    (
        "2026-11-29 10:00:00,123 ERROR [main] com.example.Foo: failed",
        "java",
        "error",
        None,
        utc(2026, 11, 29, 10, 0, 0) + 0.123,
        "failed",
    ),
    (
        "2026-11-29 10:00:00.123 [http-nio-8080-exec-1] WARN  o.s.web.Servlet - deprecated",
        "java",
        "warning",
        None,
        utc(2026, 11, 29, 10, 0, 0) + 0.123,
        "deprecated",
    ),
    (
        "11:00:00.000 [main] DEBUG com.example.App - started",
        "java",
        "debug",
        None,
        utc(2026, 11, 29, 11, 0, 0),
        "started",
    ),
    (
        "2015-10-18 18:01:47,978 INFO [main] org.apache.hadoop.mapreduce.v2.app.MRAppMaster: Created MRAppMaster",
        "java",
        "info",
        None,
        utc(2015, 10, 18, 18, 1, 47) + 0.978,
        "Created MRAppMaster",
    ),
    (
        "081109 203615 148 INFO dfs.DataNode$PacketResponder: PacketResponder 1 terminating",
        "java",
        "info",
        None,
        utc(2008, 11, 9, 20, 36, 15),
        "PacketResponder 1 terminating",
    ),
    (
        "17/06/09 20:10:41 INFO Remoting: Starting remoting",
        "java",
        "info",
        None,
        utc(2017, 6, 9, 20, 10, 41),
        "Starting remoting",
    ),
    (
        "2015-07-29 19:04:29,071 - WARN  [SendWorker:188978561024:QuorumCnxManager$SendWorker@688] - Send worker leaving thread",
        "java",
        "warning",
        None,
        utc(2015, 7, 29, 19, 4, 29) + 0.071,
        "Send worker leaving thread",
    ),
    (
        "2026-11-29 10:00:00,123 FATAL [main] com.x.Y: dead",
        "java",
        "critical",
        None,
        utc(2026, 11, 29, 10, 0, 0) + 0.123,
        "dead",
    ),
    # logfmt
    (
        'ts=2026-11-29T10:00:00Z level=warn msg="disk almost full" disk=/dev/sda1',
        "logfmt",
        "warning",
        None,
        utc(2026, 11, 29, 10, 0, 0),
        "disk almost full",
    ),
    (
        "level=error host=db1 took=5ms",
        "logfmt",
        "error",
        "db1",
        None,
        "level=error host=db1 took=5ms",
    ),
    # generic
    (
        "[Sun Dec 04 04:47:44 2005] [error] mod_jk child workerEnv in error state 6",
        "generic",
        "error",
        None,
        utc(2005, 12, 4, 4, 47, 44),
        "mod_jk child workerEnv in error state 6",
    ),
    (
        "2026/11/29 10:00:00 [error] 123#0: *1 open() failed",
        "generic",
        "error",
        None,
        utc(2026, 11, 29, 10, 0, 0),
        "123#0: *1 open() failed",
    ),
    (
        "- 1117838570 2005.06.03 R02-M1-N0 RAS KERNEL INFO cache parity error corrected",
        "generic",
        "info",
        None,
        1117838570.0,
        None,
    ),
    (
        "just some text with an error inside",
        "generic",
        None,
        None,
        None,
        "just some text with an error inside",
    ),
    ("WARNING low memory", "generic", "warning", None, None, "low memory"),
]


@pytest.mark.parametrize(("line", "fmt", "level", "host", "ts", "message"), SAMPLES)
def test_labelled_samples(
    line: str, fmt: str, level: str | None, host: str | None, ts: float | None, message: str | None
) -> None:
    """Each labelled line gets its format, level, host, time (UTC) and message."""
    p = parse_event(line, RECEIVED)
    assert (p.format, p.level, p.host) == (fmt, level, host)
    if ts is None:
        assert p.ts is None
    else:
        assert p.ts == pytest.approx(ts, abs=1e-6)
    if message is not None:
        assert p.message == message


def test_every_format_is_covered_by_samples() -> None:
    """The labelled samples exercise every format of logship.records.FORMATS."""
    assert {s[1] for s in SAMPLES} == set(FORMATS)


def test_rfc5424_structured_data_and_fields() -> None:
    """Structured data, app name and procid are kept in fields."""
    p = parse_event(SAMPLES[1][0], RECEIVED)
    assert p.fields == {
        "app": "myproc",
        "procid": "8710",
        "sd": {"exampleSDID@32473": {"iut": "3", "eventSource": "Application"}},
    }


def test_access_log_fields() -> None:
    """Access-log parts are fields; the message is the whole line."""
    p = parse_event(SAMPLES[7][0], RECEIVED)
    assert p.message == SAMPLES[7][0]
    assert p.fields == {
        "remote_addr": "127.0.0.1",
        "status": 200,
        "user": "frank",
        "method": "GET",
        "path": "/apache_pb.gif",
        "protocol": "HTTP/1.0",
        "bytes": 2326,
        "referer": "http://www.example.com/start.html",
        "user_agent": "Mozilla/4.08",
    }


def test_json_keeps_other_keys_as_fields() -> None:
    """Keys other than level/msg/time/host stay in fields."""
    p = parse_event('{"level":"info","msg":"x","req":{"id":1},"tags":["a"]}', RECEIVED)
    assert p.fields == {"req": {"id": 1}, "tags": ["a"]}


def test_json_values_postgres_and_msgpack_refuse_are_made_safe() -> None:
    """NUL escapes, lone surrogates, NaN and huge integers become storable values."""
    line = '{"msg":"a\\u0000b","s":"\\ud800","n":NaN,"big":123456789012345678901234567890}'
    p = parse_event(line, RECEIVED)
    assert p.message == "ab"
    assert p.fields is not None
    assert "\x00" not in json.dumps(p.fields)
    msgpack.packb(p.fields)  # does not raise
    assert p.fields["big"] == "123456789012345678901234567890"
    assert sanitize({1: float("inf")}) == {"1": "inf"}


def test_multiline_python_traceback_stays_in_the_event() -> None:
    """A traceback after a log line is kept in the message and marks the event Python."""
    text = '2026-11-29 10:00:00,123 ERROR app: failed\nTraceback (most recent call last):\n  File "x.py", line 1\nValueError: x'
    p = parse_event(text, RECEIVED)
    assert p.format == "python" and p.level == "error"
    assert p.message.startswith("failed\nTraceback") and p.message.endswith("ValueError: x")


def test_multiline_java_stack_trace() -> None:
    """A Java stack trace keeps the event Java, with the frames in the message."""
    text = "2026-11-29 10:00:00,123 ERROR [main] com.x.Y: boom\n\tat com.x.Y.run(Y.java:1)\nCaused by: java.io.IOException"
    p = parse_event(text, RECEIVED)
    assert p.format == "java" and p.level == "error" and "\tat com.x.Y.run" in p.message


def test_java_util_logging_two_lines() -> None:
    """java.util.logging's header line and LEVEL: line form one Java event."""
    p = parse_event("Nov 29, 2026 10:00:00 AM com.example.Foo bar\nSEVERE: it failed", RECEIVED)
    assert p.format == "java" and p.level == "error" and p.ts == utc(2026, 11, 29, 10, 0, 0)


@pytest.mark.parametrize(
    "line",
    ["{not json", "{}", "<999>1 x", "<13>", "a=b", "=x y=z", "[", "", " ", "\ufeff"],
)
def test_odd_input_never_raises(line: str) -> None:
    """Anything that is not a known format is generic or best effort; nothing raises."""
    p = parse_event(line, RECEIVED)
    assert p.format in FORMATS and (p.level is None or p.level in LEVELS)


@pytest.mark.parametrize(
    ("system", "fmt", "levels"),
    [
        ("Apache", "generic", {"notice", "error"}),
        ("BGL", "generic", {"info", "critical", "warning", "error"}),
        ("HDFS", "java", {"info", "warning"}),
        ("Hadoop", "java", {"info", "warning", "error", "critical"}),
        ("Linux", "rfc3164", {None, "alert", "warning"}),
        ("OpenSSH", "rfc3164", {None, "error", "critical"}),
        ("Spark", "java", {"info"}),
        ("Zookeeper", "java", {"info", "warning", "error"}),
    ],
)
def test_loghub_samples(system: str, fmt: str, levels: set[str | None]) -> None:
    """Every line of each LogHub 2k sample gets the system's format and a timestamp."""
    lines = (LOGHUB / system / f"{system}_2k.log").read_text(errors="replace").splitlines()
    assert len(lines) == 2000
    parsed = [parse_event(line, RECEIVED) for line in lines]
    assert {p.format for p in parsed} == {fmt}
    assert all(p.ts is not None for p in parsed)
    assert {p.level for p in parsed} == levels
