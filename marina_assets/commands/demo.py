"""`marina-etl demo` and `marina-etl summary`: the embedded default, end to end."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from datetime import date, timedelta

from marina_assets import settings


def register(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser(
        "demo", help="generate sample backups and materialize them, in date order, into DuckDB"
    )
    d.add_argument("--days", type=int, default=3)
    d.add_argument("--end", help="last backup date (default: today)")
    d.add_argument("--scale", type=float, default=1.0)
    d.add_argument("--seed", type=int, default=20251117)
    d.set_defaults(func=run_demo)

    m = sub.add_parser("summary", help="per-table counts from the load log")
    m.add_argument("--date", help="only this backup date")
    m.set_defaults(func=run_summary)


def run_demo(args: argparse.Namespace) -> int:
    os.environ.setdefault("DAGSTER_HOME", str(settings.dagster_home()))
    home = settings.dagster_home()
    home.mkdir(parents=True, exist_ok=True)
    if not (home / "dagster.yaml").exists():
        # the local default: SQLite storage under DAGSTER_HOME (deploy/ has the production one)
        (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    end = date.fromisoformat(args.end) if args.end else date.today()
    start = end - timedelta(days=args.days - 1)
    from marina_assets.sample_data import generate, write_snapshots

    print(f"marina-etl demo: MARINA_HOME={settings.marina_home()}")
    print(f"generating {args.days} days of sample backups ({start} .. {end}, scale {args.scale})")
    snapshots = generate(start=start, days=args.days, scale=args.scale, seed=args.seed)
    write_snapshots(snapshots, str(settings.backups_dir()))

    import dagster as dg

    from marina_assets.assets.jobs import ALL_JOB
    from marina_assets.definitions import defs

    job = defs.resolve_job_def(ALL_JOB)
    # Asset checks (~400 per run) cost more than the load itself on a small machine; the
    # earlier dates run without them and the last date runs the full job, checks included.
    unchecked = job.get_subset(
        asset_selection=set(job.asset_layer.selected_asset_keys), asset_check_selection=set()
    )
    instance = dg.DagsterInstance.get()
    run_ids = []
    for i in range(args.days):
        day = (start + timedelta(days=i)).isoformat()
        last = i == args.days - 1
        print(f"materializing {day}{' with asset checks' if last else ''} ...", flush=True)
        # the per-event DEBUG stream buries the summary; the UI keeps the full event log
        quiet = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
        result = (job if last else unchecked).execute_in_process(
            partition_key=day, instance=instance, raise_on_error=False, run_config=quiet
        )
        run_ids.append(result.run_id)
        if not result.success:
            print(f"run {result.run_id} for {day} failed; see the Dagster UI", file=sys.stderr)
            return 1
    print_summary(run_ids=run_ids)
    print(f"\nwarehouse: {settings.duckdb_path()}")
    print(
        f"open the UI on the same data:  DAGSTER_HOME={settings.dagster_home()} dagster dev -w workspace.yaml"
    )
    return 0


def run_summary(args: argparse.Namespace) -> int:
    print_summary(backup_date=date.fromisoformat(args.date) if args.date else None)
    return 0


def print_summary(*, run_ids: Sequence[str] | None = None, backup_date: date | None = None) -> None:
    from marina_assets.reporting import load_summary
    from marina_assets.resources import warehouse_from_env

    with warehouse_from_env().open() as wh:
        rows = load_summary(wh, run_ids=run_ids, backup_date=backup_date)
    header = ("date", "table", "loaded", "rejected", "inserted", "updated", "deleted", "revived", "live")
    widths = (10, 30, 8, 8, 8, 8, 8, 8, 8)

    def line(cells: Sequence[object]) -> str:
        return "  ".join(
            str(c).ljust(w) if i < 2 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    print()
    print(line(header))
    for r in rows:
        live = "-" if r.live is None else r.live
        print(
            line(
                (
                    r.backup_date,
                    r.table,
                    r.loaded,
                    r.rejected,
                    r.inserted,
                    r.updated,
                    r.deleted,
                    r.revived,
                    live,
                )
            )
        )
    if rows:
        print(f"\n{len({r.table for r in rows})} tables, {sum(r.loaded for r in rows):,} rows staged")
