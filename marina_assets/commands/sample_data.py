"""`marina-etl sample-data`: write generated backups in the real formats."""

from __future__ import annotations

import argparse
from datetime import date


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser("sample-data", help="write generated backups in the real formats")
    s.add_argument("--start", required=True, help="first backup date, YYYY-MM-DD")
    s.add_argument("--days", type=int, default=3)
    s.add_argument("--scale", type=float, default=1.0, help="1 ≈ 28K rows/day, 25 ≈ 700K")
    s.add_argument("--seed", type=int, default=20251117)
    s.add_argument("--out", required=True, help="a folder or s3://bucket/prefix")
    s.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from marina_assets.sample_data import generate, write_snapshots

    start = date.fromisoformat(args.start)
    for path in write_snapshots(
        generate(start=start, days=args.days, scale=args.scale, seed=args.seed), args.out
    ):
        print(path)
    return 0
