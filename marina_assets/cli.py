"""`marina-etl`: what an operator needs outside the Dagster UI.

marina-etl sample-data --start 2025-11-15 --days 3 --scale 1 --out DIR|s3://bucket/prefix
marina-etl demo [--days 3] [--scale 0.2]      generate backups and run them through Dagster
marina-etl summary [--date D]                  per-table counts from the load log
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date, timedelta

from marina_assets import settings


def _cmd_sample_data(args: argparse.Namespace) -> int:
    from marina_assets.sample_data import generate, write_snapshots

    start = date.fromisoformat(args.start)
    written = write_snapshots(
        generate(start=start, days=args.days, scale=args.scale, seed=args.seed), args.out
    )
    for path in written:
        print(path)
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    home = settings.marina_home()
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home()))
    settings.dagster_home().mkdir(parents=True, exist_ok=True)
    end = date.fromisoformat(args.end) if args.end else date.today()
    start = end - timedelta(days=args.days - 1)
    from marina_assets.sample_data import generate, write_snapshots

    print(f"marina-etl demo: MARINA_HOME={home}")
    print(f"generating {args.days} days of sample backups ({start} .. {end}, scale {args.scale})")
    write_snapshots(
        generate(start=start, days=args.days, scale=args.scale, seed=args.seed), str(settings.backups_dir())
    )

    import dagster as dg

    from marina_assets.assets.jobs import ALL_JOB
    from marina_assets.definitions import defs

    job = defs.resolve_job_def(ALL_JOB)
    instance = dg.DagsterInstance.get()
    run_ids = []
    for i in range(args.days):
        day = (start + timedelta(days=i)).isoformat()
        print(f"materializing {day} ...", flush=True)
        result = job.execute_in_process(partition_key=day, instance=instance, raise_on_error=False)
        run_ids.append(result.run_id)
        if not result.success:
            print(f"run {result.run_id} for {day} failed", file=sys.stderr)
            return 1
    _print_summary(run_ids)
    print(f"\nwarehouse: {settings.duckdb_path()}")
    print("open the UI on the same data:  DAGSTER_HOME=.marina/dagster_home dagster dev -w workspace.yaml")
    return 0


def _print_summary(run_ids: Sequence[str] | None = None, backup_date: str | None = None) -> None:
    from marina_assets.reporting import load_summary
    from marina_assets.resources import warehouse_from_env

    with warehouse_from_env().open() as wh:
        rows = load_summary(
            wh, run_ids=run_ids, backup_date=date.fromisoformat(backup_date) if backup_date else None
        )
    header = ("date", "table", "loaded", "rejected", "inserted", "updated", "deleted", "revived", "live")
    widths = (10, 30, 8, 8, 8, 8, 8, 8, 8)
    print()
    print(
        "  ".join(
            h.ljust(w) if i < 2 else h.rjust(w) for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    )
    for r in rows:
        cells = (
            str(r.backup_date),
            r.table,
            r.loaded,
            r.rejected,
            r.inserted,
            r.updated,
            r.deleted,
            r.revived,
            r.live,
        )
        print(
            "  ".join(
                str(c).ljust(w) if i < 2 else str(c).rjust(w)
                for i, (c, w) in enumerate(zip(cells, widths, strict=True))
            )
        )


def _cmd_summary(args: argparse.Namespace) -> int:
    _print_summary(backup_date=args.date)
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="marina-etl", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("sample-data", help="write generated backups in the real formats")
    s.add_argument("--start", required=True, help="first backup date, YYYY-MM-DD")
    s.add_argument("--days", type=int, default=3)
    s.add_argument("--scale", type=float, default=1.0, help="1 ≈ 27K rows/day, 25 ≈ 700K")
    s.add_argument("--seed", type=int, default=20251117)
    s.add_argument("--out", required=True, help="a folder or s3://bucket/prefix")
    s.set_defaults(func=_cmd_sample_data)

    d = sub.add_parser(
        "demo", help="generate sample backups and materialize them, in date order, into DuckDB"
    )
    d.add_argument("--days", type=int, default=3)
    d.add_argument("--end", help="last backup date (default: today)")
    d.add_argument("--scale", type=float, default=1.0)
    d.add_argument("--seed", type=int, default=20251117)
    d.set_defaults(func=_cmd_demo)

    m = sub.add_parser("summary", help="per-table counts from the load log")
    m.add_argument("--date", help="only this backup date")
    m.set_defaults(func=_cmd_summary)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
