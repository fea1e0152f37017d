"""`logship-agent send FILE...`: ship whole files once, wait for every ACK. Resumable.

Each file is identified (`agent.identity`) and read from its checkpoint (0 for a new file),
in constant memory: the reader yields lines, the batcher closes batches by lines and bytes,
and `Client.send` blocks while the window is full, so reading pauses. An ACK moves the file's
checkpoint (contiguously, `AckTracker`) and the checkpoint is written at most every
`checkpoint_interval_s` and at the end. After a crash a re-run sends only what was not
ACKed; a re-run on a finished file connects to nothing and reports "already sent". Batch
boundaries are deterministic (no age limit in `send`), so a re-sent batch keeps its id.

Every file is opened before anything is sent: an unreadable file fails the command at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
import stat
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

from agent.batcher import Batch, Batcher
from agent.checkpoint import AckTracker, CheckpointStore
from agent.client import CallbackError, Client
from agent.config import AgentConfig
from agent.errors import (
    AgentError,
    AuthFailed,
    CollectorError,
    CollectorUnreachable,
    SourceError,
)
from agent.identity import FileIdentity, grown_from, identify
from agent.progress import Progress
from agent.reader import LineReader
from logship.errors import ConfigError, ProtocolError
from logship.wire import ErrorCode

log = logging.getLogger("logship.agent.send")


@dataclass
class FileResult:
    path: str
    file_id: str
    size: int
    start_offset: int  # checkpoint when the run started
    committed_offset: int  # checkpoint now (ACKed)
    lines: int = 0  # lines ACKed in this run
    batches: int = 0
    bytes: int = 0  # file bytes ACKed in this run
    truncated_lines: int = 0
    status: str = "pending"  # "sent", "already sent", "empty", "incomplete"


@dataclass
class SendSummary:
    files: list[FileResult] = field(default_factory=list)
    seconds: float = 0.0
    reconnects: int = 0
    resent_batches: int = 0
    state_dir: str = ""

    @property
    def lines(self) -> int:
        return sum(f.lines for f in self.files)

    @property
    def batches(self) -> int:
        return sum(f.batches for f in self.files)

    @property
    def bytes(self) -> int:
        return sum(f.bytes for f in self.files)

    @property
    def truncated_lines(self) -> int:
        return sum(f.truncated_lines for f in self.files)

    @property
    def complete(self) -> bool:
        return all(f.status in ("sent", "already sent", "empty") for f in self.files)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.complete,
            "lines": self.lines,
            "batches": self.batches,
            "bytes": self.bytes,
            "truncated_lines": self.truncated_lines,
            "seconds": round(self.seconds, 3),
            "reconnects": self.reconnects,
            "resent_batches": self.resent_batches,
            "state_dir": self.state_dir,
            "files": [asdict(f) for f in self.files],
        }


class SendFailed(AgentError):
    """`send` could not finish. The message says what happened, what is safe, what to do."""

    def __init__(self, message: str, summary: SendSummary, cause: BaseException | None = None):
        super().__init__(message)
        self.summary = summary
        self.cause = cause


@dataclass
class _Source:
    path: Path
    wire_path: str
    fh: BinaryIO
    result: FileResult


def wire_path(path: Path) -> str:
    """The absolute path as a valid UTF-8 string (undecodable bytes become U+FFFD)."""
    raw = os.fsencode(os.path.abspath(path))
    return raw.decode("utf-8", "replace")


def _open_all(paths: list[Path], summary: SendSummary) -> list[_Source]:
    sources: list[_Source] = []
    problems: list[str] = []
    for path in paths:
        try:
            fh = open(path, "rb")  # noqa: SIM115 - closed by send_files
        except OSError as exc:
            problems.append(f"cannot read {path}: {exc.strerror or exc}")
            continue
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            fh.close()
            problems.append(f"cannot read {path}: not a regular file")
            continue
        result = FileResult(str(path), "", st.st_size, 0, 0)
        sources.append(_Source(path, wire_path(path), fh, result))
    if problems:
        for src in sources:
            src.fh.close()
        raise SendFailed(
            "; ".join(problems)
            + ". Nothing was sent. Fix the file's permissions or leave it out, then re-run.",
            summary,
            SourceError("; ".join(problems)),
        )
    return sources


async def send_files(
    paths: list[Path],
    config: AgentConfig,
    *,
    progress: Progress | None = None,
) -> SendSummary:
    """Send every file; return the summary, or raise SendFailed (ConfigError for bad setup)."""
    started = time.monotonic()
    summary = SendSummary(state_dir=str(config.state_path))
    sources = _open_all(paths, summary)
    client: Client | None = None
    saver: asyncio.Task[None] | None = None
    store: CheckpointStore | None = None
    try:
        try:
            store = CheckpointStore(config.state_path)
        except OSError as exc:
            raise SendFailed(
                f"cannot use the state folder {config.state_path}: {exc.strerror or exc}. "
                "Nothing was sent. Pass a writable folder with --state-dir "
                "(or LOGSHIP_STATE_DIR) and re-run.",
                summary,
                exc,
            ) from None
        work: list[_Source] = []
        seen: set[str] = set()
        head_bytes: dict[str, int] = {}  # bytes each identity's fingerprint covers
        for src in sources:
            ident = identify(src.fh)
            res = src.result
            res.file_id = ident.key
            summary.files.append(res)
            if ident.key in seen:
                res.status = "already sent"  # the same file named twice
                res.start_offset = res.committed_offset = store.get(ident.key)
                continue
            seen.add(ident.key)
            if ident.key not in store:
                first = _first_identity(store, ident, src.fh)
                if first is not None:  # a short file sent before, grown since: continue it
                    ident = first
                    res.file_id = ident.key
                    seen.add(ident.key)
            head_bytes[ident.key] = ident.head_bytes
            start = store.get(ident.key)
            if start > res.size:
                log.warning(
                    "%s is shorter (%d bytes) than its checkpoint (%d): it was truncated; "
                    "sending it again from the start.",
                    src.path,
                    res.size,
                    start,
                )
                start = 0
            res.start_offset = res.committed_offset = start
            if res.size == 0:
                res.status = "empty"
            elif start >= res.size:
                res.status = "already sent"
            else:
                work.append(src)
        if not work:
            return summary
        if progress is not None:
            progress.total_bytes = sum(s.result.size - s.result.start_offset for s in work)

        by_id = {src.result.file_id: src for src in work}
        trackers: dict[str, AckTracker] = {}
        interval = config.checkpoint_interval_s

        def on_ack(batch: Batch) -> None:
            src = by_id[batch.file_id]
            res = src.result
            res.lines += batch.line_count
            res.batches += 1
            res.bytes += batch.byte_count
            res.truncated_lines += batch.truncated
            committed = trackers[batch.file_id].acked(batch.offset, batch.end_offset)
            if committed is not None:
                res.committed_offset = committed
                assert store is not None
                store.set(
                    batch.file_id, src.wire_path, committed, head_bytes=head_bytes[batch.file_id]
                )
                if interval == 0:
                    store.save()
            if progress is not None:
                progress.update(done_bytes=batch.byte_count, lines=batch.line_count)

        client = Client(config, on_ack=on_ack, max_attempts=config.retry_max_attempts)
        if interval > 0:
            saver = asyncio.get_running_loop().create_task(_save_periodically(store, interval))
        for src in work:
            res = src.result
            res.status = "incomplete"
            if progress is not None:
                progress.update(label=src.path.name)
            trackers[res.file_id] = AckTracker(res.start_offset)
            await _ship_file(src, config, client, trackers[res.file_id])
        await client.drain()
        for src in work:
            src.result.status = "sent"
        return summary
    except SendFailed:
        raise
    except (AgentError, ProtocolError, OSError) as exc:
        raise SendFailed(_explain(exc, config, summary), summary, exc) from None
    finally:
        if saver is not None:
            saver.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await saver
        if client is not None:
            summary.reconnects = client.stats.reconnects
            summary.resent_batches = client.stats.resent
            await client.close()
        if store is not None and store.dirty:
            try:
                store.save()
            except OSError as exc:
                log.error("Could not write the checkpoint in %s: %s", store.state_dir, exc)
        for src in sources:
            src.fh.close()
        if progress is not None:
            progress.close()
        summary.seconds = time.monotonic() - started


async def _ship_file(
    src: _Source, config: AgentConfig, client: Client, tracker: AckTracker
) -> None:
    res = src.result
    reader = LineReader(
        src.fh,
        res.start_offset,
        max_line_bytes=config.max_line_bytes,
        chunk_bytes=config.read_chunk_bytes,
    )
    batcher = Batcher(
        config.agent,
        src.wire_path,
        res.file_id,
        max_lines=config.max_batch_lines,
        max_bytes=config.max_batch_bytes,
    )

    async def ship(batch: Batch) -> None:
        tracker.sent(batch.offset, batch.end_offset)
        await client.send(batch)

    try:
        for line in reader.read(final=True):
            for batch in batcher.add(line.data, line.offset, line.end, line.truncated):
                await ship(batch)
    except OSError as exc:
        raise SourceError(f"cannot read {src.path}: {exc.strerror or exc}") from exc
    last = batcher.flush()
    if last is not None:
        await ship(last)


async def _save_periodically(store: CheckpointStore, interval_s: float) -> None:
    while True:
        await asyncio.sleep(interval_s)
        try:
            store.save_if_due(interval_s)
        except OSError as exc:
            log.error("Could not write the checkpoint in %s: %s", store.state_dir, exc)


def _first_identity(
    store: CheckpointStore, ident: FileIdentity, fh: BinaryIO
) -> FileIdentity | None:
    """The identity a short file had when it was last sent, if it has grown since."""
    prefix = f"{ident.dev}:{ident.inode}:"
    for key, entry in store.items():
        short = entry.get("head_bytes")
        if key.startswith(prefix) and isinstance(short, int) and grown_from(key, short, fh):
            return FileIdentity(ident.dev, ident.inode, key[len(prefix) :], short)
    return None


def _explain(exc: BaseException, config: AgentConfig, summary: SendSummary) -> str:
    """A message that says what happened, what is safe and what to do next."""
    address = config.collector
    waiting = sum(1 for f in summary.files if f.status == "incomplete")
    safe = (
        f"Nothing was lost: {summary.lines:,} lines were ACKed and checkpointed in "
        f"{summary.state_dir}; {waiting} file(s) still have lines to send."
    )
    resume = "re-run the same command: it resumes where it stopped."
    if isinstance(exc, AuthFailed):
        return (
            f"collector {address} refused the token ({exc.message}). {safe} "
            f"Pass the right token with --token or LOGSHIP_TOKEN, then {resume}"
        )
    if isinstance(exc, CollectorUnreachable):
        return (
            f"collector {address} unreachable after {exc.attempts} attempts "
            f"({_cause(exc.cause)}). {safe} Start the collector or fix --collector, then {resume}"
        )
    if isinstance(exc, CollectorError):
        hint = (
            "Lower max_batch_bytes / max_line_bytes"
            if exc.code == ErrorCode.FRAME_TOO_LARGE
            else "Check the collector's log and versions"
        )
        return f"collector {address} answered {exc}. {safe} {hint}, then {resume}"
    if isinstance(exc, ProtocolError):
        return (
            f"collector {address} broke the protocol ({exc.message}). {safe} "
            f"Check that {address} is a Logship collector of the same version, then {resume}"
        )
    if isinstance(exc, CallbackError):
        return (
            f"could not write the checkpoint in {summary.state_dir} ({exc.__cause__}). "
            f"Lines ACKed since the last checkpoint will be sent again (stored once). "
            f"Free space or fix permissions, then {resume}"
        )
    if isinstance(exc, ssl.SSLError):
        return (
            f"TLS with collector {address} failed ({exc}). {safe} Check --tls-ca / tls_ca_file, "
            f"tls_server_name and the client certificate, then {resume}"
        )
    if isinstance(exc, SourceError):
        return f"{exc}. {safe} Fix the file, then {resume}"
    if isinstance(exc, ConfigError):
        return str(exc)
    return f"{exc}. {safe} Then {resume}"


def _cause(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__
