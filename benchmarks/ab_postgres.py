"""PostgreSQL fast paths against their plain alternative, in interleaved pairs on fresh databases.

    python -m benchmarks.ab_postgres [--compare split|at-load] [--rows 1000000] [--pairs 8]

This VM's timings of the same run spread by 20-30%, about the size of the differences measured
here, so `bench_warehouse`'s medians of 3 cannot tell them reliably. Each pair stages the same
day 1 and day 2 (`bench_warehouse.make_days`) into two fresh databases, in alternating order, and
prints both medians and in how many pairs the fast path was the faster:

- `split`: the day-2 merge with the classify split over `MARINA_POSTGRES_MERGE_WORKERS` = 2
  helper connections vs on the merge's own connection (the load's classify off in both);
- `at-load`: the day-2 load + merge with the keys classified by the load (`pg_load_classify`)
  vs classified by the merge (split, as configured).

Not part of `make bench` (about two minutes per 4 pairs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from collections.abc import Callable
from typing import Any

from benchmarks.bench_warehouse import D1, D2, TABLE, _stage, make_days
from benchmarks.harness import emit


def _split_arm(wh: Any, fast: bool) -> None:
    wh.readers.workers = 2 if fast else 1
    wh.load_classify_min_rows = None  # or the merge would not classify at all


def _at_load_arm(wh: Any, fast: bool) -> None:
    if not fast:
        wh.load_classify_min_rows = None


# per comparison: (fast arm's name, plain arm's name, how an arm configures its warehouse,
# whether the load is timed too)
COMPARISONS: dict[str, tuple[str, str, Callable[[Any, bool], None], bool]] = {
    "split": ("ab_merge_postgres_split_classify", "ab_merge_postgres_one_connection", _split_arm, False),
    "at-load": (
        "ab_load_and_merge_postgres_classify_at_load",
        "ab_load_and_merge_postgres_classify_in_merge",
        _at_load_arm,
        True,
    ),
}


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--compare", choices=sorted(COMPARISONS), default="split")
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--pairs", type=int, default=8)
    args = p.parse_args()
    fast_name, plain_name, configure, with_load = COMPARISONS[args.compare]
    day1, day2 = make_days(args.rows)

    import psycopg

    from marina_assets.warehouse.merger import merge_table
    from marina_assets.warehouse.postgres_backend import PostgresWarehouse
    from marina_assets.warehouse.schema import ensure_schema
    from marina_assets_tests.pg_cluster import start_cluster

    cluster = start_cluster()
    seconds: dict[bool, list[float]] = {True: [], False: []}
    loads: dict[bool, list[float]] = {True: [], False: []}
    try:

        def timed(fast: bool) -> float:
            name = f"ab_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(cluster.dsn, autocommit=True) as con:
                con.execute(f"CREATE DATABASE {name}")
            try:
                with PostgresWarehouse(cluster.dsn_for(name)) as wh:
                    configure(wh, fast)
                    ensure_schema(wh, [TABLE])
                    _stage(wh, D1, day1)
                    merge_table(wh, TABLE, D1, "ab-1")
                    t0 = time.perf_counter()
                    _stage(wh, D2, day2)
                    t1 = time.perf_counter()
                    merge_table(wh, TABLE, D2, "ab-2")
                    loads[fast].append(t1 - t0)
                    return time.perf_counter() - (t0 if with_load else t1)
            finally:  # no earlier pair's tables left for autovacuum to work on during the next
                with psycopg.connect(cluster.dsn, autocommit=True) as con:
                    con.execute(f"DROP DATABASE {name} WITH (FORCE)")

        for pair in range(args.pairs):
            for fast in (True, False) if pair % 2 else (False, True):
                seconds[fast].append(timed(fast))
    finally:
        cluster.stop()
    won = sum(f < s for f, s in zip(seconds[True], seconds[False], strict=True))
    for fast, name in ((True, fast_name), (False, plain_name)):
        runs = seconds[fast]
        m: dict[str, Any] = {
            "rows": day2.num_rows,
            "seconds": statistics.median(runs),
            "runs_s": sorted(round(s, 3) for s in runs),
        }
        emit(name, m)
        if with_load:  # where the time went: the load's part of each run, in run order
            load_runs = [round(s, 3) for s in loads[fast]]
            line = {"name": f"{name}_load", "median_s": statistics.median(load_runs), "runs_s": load_runs}
            print(json.dumps(line))
    print(json.dumps({"name": f"{fast_name}_faster_pairs", "won": won, "pairs": args.pairs}))


if __name__ == "__main__":
    main()
