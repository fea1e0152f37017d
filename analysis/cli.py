"""`logship mine`: template ids for message bodies, one per line.

Reads messages (a file, or standard input for `-` or no argument), mines templates with the
default miner, then prints one template id per input line, in input order. Ids are the final
ones: clusters merged while reading (a position found to be variable) print the id they were
merged into. `--templates` prints `id<TAB>count<TAB>template` for every template instead.
`--state FILE` starts from a saved miner state and saves it back afterwards.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from analysis.errors import StateError
from analysis.persist import load_miner, save_miner
from analysis.templates import TemplateMiner
from logship import __version__

EPILOG = """\
examples:
  logship mine app-messages.txt              # one template id per line
  cut -d' ' -f5- /var/log/syslog | logship mine - --templates

exit codes: 0 done, 1 failed (unreadable input or state), 2 usage error
"""


def _lines(stream: BinaryIO) -> Iterator[str]:
    for raw in stream:
        yield raw.rstrip(b"\r\n").decode("utf-8", errors="replace")


def mine_main(argv: Sequence[str]) -> int:
    """Entry point of `logship mine`; returns the exit code."""
    parser = argparse.ArgumentParser(
        prog="logship mine",
        description="Mine log templates from message bodies, one message per line.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"logship {__version__}")
    parser.add_argument("file", nargs="?", default="-", help="input file, or - for stdin")
    parser.add_argument(
        "--templates", action="store_true", help="print id, count and template of each template"
    )
    parser.add_argument("--json", action="store_true", help="with --templates: JSON lines")
    parser.add_argument("--state", type=Path, help="miner state file to start from and update")
    args = parser.parse_args(list(argv))

    try:
        miner = load_miner(args.state) if args.state and args.state.exists() else TemplateMiner()
    except StateError as exc:
        print(f"logship mine: {exc}; the file was left untouched", file=sys.stderr)
        return 1
    try:
        if args.file == "-":
            ids = [miner.add(line) for line in _lines(sys.stdin.buffer)]
        else:
            with open(args.file, "rb") as fh:
                ids = [miner.add(line) for line in _lines(fh)]
    except OSError as exc:
        print(f"logship mine: cannot read {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 1

    out = sys.stdout
    try:
        if args.templates:
            for tid, template, count in miner.templates():
                if args.json:
                    out.write(json.dumps({"id": tid, "count": count, "template": template}) + "\n")
                else:
                    out.write(f"{tid}\t{count}\t{template}\n")
        else:
            out.writelines(f"{miner.resolve(i)}\n" for i in ids)
        out.flush()
    except BrokenPipeError:
        sys.stderr.close()  # reader went away (`| head`): not an error
    if args.state:
        try:
            save_miner(miner, args.state)
        except OSError as exc:
            print(f"logship mine: cannot save state {args.state}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(mine_main(sys.argv[1:]))
