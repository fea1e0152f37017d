"""`logship dead-letters`: list, show and replay the batches the workers could not store.

A batch whose data PostgreSQL refuses (or that meets a bug) is kept in `dead_letters` with its
error and the message as msgpack instead of being retried forever. Once the cause is fixed (an
upgrade, a schema change), `replay` stores it through the worker's own path (templates, then
COPY, idempotent on `batch_id`) and deletes the dead letter in the same step; one that fails
again keeps its row, with the new error and time. Nothing here deletes a batch unstored.

Exit codes: 0 done, 1 a replay failed or the database is unreachable, 2 usage error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import asyncpg
import msgpack

from logship.database_url import DEFAULT_DATABASE_URL, database_url, redact
from workers.config import load_config
from workers.errors import WorkerError
from workers.runtime import Runtime

LIST_SQL = (
    "SELECT id, batch_id, failed_at, error, length(payload) AS bytes FROM dead_letters "
    "ORDER BY id LIMIT $1"
)
SELECT_SQL = "SELECT id, batch_id, failed_at, error, payload FROM dead_letters WHERE id = $1"
ALL_IDS_SQL = "SELECT id FROM dead_letters ORDER BY id"
DELETE_SQL = "DELETE FROM dead_letters WHERE id = $1"
FAILED_AGAIN_SQL = "UPDATE dead_letters SET error = $2, failed_at = now() WHERE id = $1"


class DeadLetterError(WorkerError):
    """A dead letter that cannot be read back (not a msgpack map, or no such id)."""


def decode_payload(payload: bytes) -> dict[str, Any]:
    """The batch message kept in a dead letter (msgpack; lone surrogates kept as they were)."""
    try:
        message = msgpack.unpackb(payload, raw=False, unicode_errors="surrogatepass")
    except (ValueError, msgpack.UnpackException) as exc:
        raise DeadLetterError(f"the payload is not msgpack ({exc}): it was kept as text") from exc
    if not isinstance(message, dict):
        raise DeadLetterError(f"the payload is a {type(message).__name__}, not a batch map")
    return message


def summary(message: dict[str, Any]) -> dict[str, Any]:
    """What a person wants to see of a batch message: where it came from and its first lines."""
    found = message.get("events")
    events: list[Any] = found if isinstance(found, list) else []
    return {
        "batch_id": message.get("id"),
        "agent": message.get("agent"),
        "hostname": message.get("hostname"),
        "path": message.get("path"),
        "lines_received": message.get("lines"),
        "events": len(events),
        "first_events": [repr(e)[:200] for e in events[:3]],
    }


@dataclass
class ReplayResult:
    """What a replay did, dead letter by dead letter."""

    stored: list[int] = field(default_factory=list)
    duplicates: list[int] = field(default_factory=list)  # stored before: the letter is removed
    failed: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "stored": self.stored,
            "duplicates": self.duplicates,
            "failed": {str(k): v for k, v in self.failed.items()},
        }


async def replay_one(rt: Runtime, letter_id: int) -> bool:
    """Store one dead letter's batch and delete the letter; True if stored now (False: before).

    Raises DeadLetterError (no such id, unreadable payload) or the storing error.
    """
    pool = await rt.get_pool()
    row = await pool.fetchrow(SELECT_SQL, letter_id)
    if row is None:
        raise DeadLetterError(f"no dead letter with id {letter_id}")
    stored, _ = await rt.store_message(decode_payload(bytes(row["payload"])))
    await pool.execute(DELETE_SQL, letter_id)
    return stored


async def replay(rt: Runtime, ids: Sequence[int] | None) -> ReplayResult:
    """Replay the given dead letters (all when `ids` is None), oldest first."""
    pool = await rt.get_pool()
    if ids is None:
        ids = [r["id"] for r in await pool.fetch(ALL_IDS_SQL)]
    result = ReplayResult()
    for letter_id in ids:
        try:
            stored = await replay_one(rt, letter_id)
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError):
            raise  # the database went away: stop, what is left stays dead-lettered
        except Exception as exc:  # noqa: BLE001 - any other error is this batch's: keep it
            error = f"{type(exc).__name__}: {exc}"
            result.failed[letter_id] = error
            if not isinstance(exc, DeadLetterError) or "no dead letter" not in error:
                await pool.execute(FAILED_AGAIN_SQL, letter_id, error.replace("\x00", "\ufffd"))
            continue
        (result.stored if stored else result.duplicates).append(letter_id)
    return result


async def _list(rt: Runtime, limit: int) -> list[dict[str, Any]]:
    pool = await rt.get_pool()
    return [
        {
            "id": r["id"],
            "batch_id": r["batch_id"],
            "failed_at": r["failed_at"].isoformat(),
            "error": r["error"],
            "bytes": r["bytes"],
        }
        for r in await pool.fetch(LIST_SQL, limit)
    ]


async def _show(rt: Runtime, letter_id: int) -> dict[str, Any]:
    pool = await rt.get_pool()
    row = await pool.fetchrow(SELECT_SQL, letter_id)
    if row is None:
        raise DeadLetterError(f"no dead letter with id {letter_id}")
    out: dict[str, Any] = {
        "id": row["id"],
        "failed_at": row["failed_at"].isoformat(),
        "error": row["error"],
    }
    try:
        out.update(summary(decode_payload(bytes(row["payload"]))))
    except DeadLetterError as exc:
        out["batch_id"] = row["batch_id"]
        out["payload_error"] = str(exc)
    return out


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="logship dead-letters",
        description="List, show and replay the batches the workers could not store.",
        epilog="examples:\n"
        "  logship dead-letters list\n"
        "  logship dead-letters show 12\n"
        "  logship dead-letters replay --all     # after fixing the cause\n\n"
        "exit codes: 0 done, 1 a replay failed or database unreachable, 2 usage error",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--database-url",
        help="PostgreSQL URL (default: $LOGSHIP_DATABASE_URL, $DATABASE_URL, the embedded "
        f"database of `logship up` in ./data, else {DEFAULT_DATABASE_URL})",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    sub = p.add_subparsers(dest="action", required=True)
    ls = sub.add_parser("list", help="the dead letters, oldest first")
    ls.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")
    show = sub.add_parser("show", help="one dead letter: its error and where its batch came from")
    show.add_argument("id", type=int)
    rep = sub.add_parser("replay", help="store dead-lettered batches again; delete them if stored")
    rep.add_argument("ids", type=int, nargs="*", metavar="ID")
    rep.add_argument("--all", action="store_true", help="every dead letter")
    return p


def _print_list(rows: list[dict[str, Any]]) -> None:
    if not rows:
        print("No dead letters: every batch received was stored.")
        return
    for r in rows:
        print(f"{r['id']:>6}  {r['failed_at']}  {r['batch_id']}  {r['bytes']} bytes  {r['error']}")


def _print_replay(result: ReplayResult) -> None:
    print(
        f"Replayed: {len(result.stored)} stored, {len(result.duplicates)} already stored "
        f"(dead letters removed), {len(result.failed)} failed."
    )
    for letter_id, error in result.failed.items():
        print(f"  {letter_id}: {error} (kept in dead_letters)")


def dead_letters_main(argv: Sequence[str] | None = None) -> int:
    """`logship dead-letters`: exit 0 done, 1 failed, 2 usage error."""
    p = _parser()
    args = p.parse_args(list(sys.argv[1:] if argv is None else argv))
    if args.action == "replay" and bool(args.ids) == args.all:
        p.error("replay: give dead letter ids or --all (not both)")
    url = database_url(args.database_url)
    cfg = replace(load_config(), database_url=url, apply_schema=False)
    rt = Runtime(cfg)
    try:
        if args.action == "list":
            rows = rt.run(_list(rt, args.limit))
            if args.json:
                print(json.dumps(rows, indent=2))
            else:
                _print_list(rows)
            return 0
        if args.action == "show":
            shown = rt.run(_show(rt, args.id))
            print(json.dumps(shown, indent=2, default=str))
            return 0
        result = rt.run(replay(rt, None if args.all else args.ids))
        if args.json:
            print(json.dumps(result.to_json(), indent=2))
        else:
            _print_replay(result)
        return 1 if result.failed else 0
    except DeadLetterError as exc:
        print(f"logship dead-letters: {exc}", file=sys.stderr)
        return 1
    except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
        print(
            f"logship dead-letters: database {redact(url)} unreachable: {exc}; nothing changed "
            "after the last replay printed",
            file=sys.stderr,
        )
        return 1
    finally:
        rt.close()
