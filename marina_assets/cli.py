"""`marina-etl`: what an operator needs outside the Dagster UI.

    marina-etl sample-data --start 2025-11-15 --days 3 --scale 1 --out DIR|s3://bucket/prefix
    marina-etl demo [--days 3] [--scale 1]    generate backups and run them through Dagster
    marina-etl summary [--date D]             per-table counts from the load log
    marina-etl parse FILE --out DIR [--source S] [--schema DUMP]   a backup as JSON Lines, untyped

Each sub-command lives in `marina_assets/commands/<name>.py` with a `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Sequence

COMMAND_MODULES = (
    "marina_assets.commands.sample_data",
    "marina_assets.commands.demo",
    "marina_assets.commands.sql",
    "marina_assets.commands.parse",
)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="marina-etl", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)
    for module in COMMAND_MODULES:
        importlib.import_module(module).register(sub)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
