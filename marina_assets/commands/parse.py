"""`marina-etl parse FILE [--source molo|stellar|netsuite] [--schema SCHEMA_DUMP] --out DIR`.

Look inside a backup without loading it: every table becomes `DIR/<table>.jsonl` with the
values as they appear in the file (see `marina_assets/parsing/inspect.py` for the rules) and
unreadable records go to `DIR/_rejects.jsonl`. Exit status 0 when the file was read to its
end (rejects or not); 1 with one line naming the file, member and reason when it is corrupt,
truncated, incomplete, unsafe or over a limit (2 when the failure is one no reader foresaw).
"""

from __future__ import annotations

import argparse
import os
import posixpath
import re
import sys

SOURCES = {"molo": "MOLO", "stellar": "STELLAR", "netsuite": "NS"}


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("parse", help="inspect a backup file: one JSON Lines file per table, untyped")
    s.add_argument("file", help="a backup: .zip of CSVs, .sql/.sql.gz dump, .csv/.csv.gz")
    s.add_argument("--source", choices=sorted(SOURCES), help="source system (default: from the file name)")
    s.add_argument("--schema", help="schema-only dump (mysqldump --no-data) naming the columns")
    s.add_argument("--out", required=True, help="output folder")
    s.add_argument("--max-bytes", type=int, help="refuse more uncompressed bytes than this (default 20 GB)")
    s.add_argument("--max-ratio", type=float, help="refuse a higher compression ratio (default 200)")
    s.set_defaults(func=run)


def _detect_source(path: str) -> str | None:
    from marina_assets.catalog import SYSTEMS

    base = posixpath.basename(path.replace("\\", "/"))
    for system in SYSTEMS:
        if re.fullmatch(system.object_pattern, base):
            return system.code
    return None


def run(args: argparse.Namespace) -> int:
    from marina_assets.catalog import system as system_of
    from marina_assets.parsing.events import BackupError
    from marina_assets.parsing.inspect import inspect_file, print_summary, read_schema_file, sniff
    from marina_assets.parsing.limits import DEFAULT_LIMITS, ArchiveLimits

    limits = ArchiveLimits(
        max_bytes=args.max_bytes if args.max_bytes is not None else DEFAULT_LIMITS.max_bytes,
        max_ratio=args.max_ratio if args.max_ratio is not None else DEFAULT_LIMITS.max_ratio,
    )
    code = SOURCES[args.source] if args.source else _detect_source(args.file)
    try:
        if code is None:
            with open(args.file, "rb") as f:  # by content: a MySQL dump can only be Stellar's
                code = "STELLAR" if sniff(args.file, f) == "mysqldump" else None
        schema = read_schema_file(args.schema, limits) if args.schema else None
        summary = inspect_file(
            args.file,
            args.out,
            system=system_of(code) if code else None,
            schema=schema,
            limits=limits,
        )
    except BackupError as e:
        print(f"marina-etl parse: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(f"marina-etl parse: {args.file}: {e.strerror or e}", file=sys.stderr)
        return 1
    except Exception as e:  # a file no reader foresaw: still one line, and a distinct status
        print(f"marina-etl parse: {args.file}: unreadable ({type(e).__name__}: {e})", file=sys.stderr)
        return 2
    try:
        print_summary(summary)
    except BrokenPipeError:  # `marina-etl parse ... | head`: the output files are complete
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0
