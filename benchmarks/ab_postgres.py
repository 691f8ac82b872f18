"""PostgreSQL merge with the classify split over helper connections vs on the merge's own, paired.

    python -m benchmarks.ab_merge_split [--rows 1000000] [--pairs 8]

This VM's timings of the same run spread by 20-30%, more than the difference measured here, so
`bench_warehouse`'s medians of 3 cannot tell it reliably. Each pair stages the same day 1 and
day 2 (`bench_warehouse.make_days`) into two fresh databases, one merged with
`MARINA_POSTGRES_MERGE_WORKERS` = 2 and one with 1, in alternating order; it prints both
medians and in how many pairs the split merge was the faster. Not part of `make bench` (about
two minutes per 4 pairs).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from typing import Any

from benchmarks.bench_warehouse import D1, D2, TABLE, _stage, make_days
from benchmarks.harness import emit


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--pairs", type=int, default=8)
    args = p.parse_args()
    day1, day2 = make_days(args.rows)

    import psycopg

    from marina_assets.warehouse.merger import merge_table
    from marina_assets.warehouse.postgres_backend import PostgresWarehouse
    from marina_assets.warehouse.schema import ensure_schema
    from marina_assets_tests.pg_cluster import start_cluster

    cluster = start_cluster()
    seconds: dict[int, list[float]] = {1: [], 2: []}
    try:

        def merge_seconds(workers: int) -> float:
            name = f"ab_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(cluster.dsn, autocommit=True) as con:
                con.execute(f"CREATE DATABASE {name}")
            try:
                with PostgresWarehouse(cluster.dsn_for(name)) as wh:
                    wh.readers.workers = workers
                    ensure_schema(wh, [TABLE])
                    _stage(wh, D1, day1)
                    merge_table(wh, TABLE, D1, "ab-1")
                    _stage(wh, D2, day2)
                    t0 = time.perf_counter()
                    merge_table(wh, TABLE, D2, "ab-2")
                    return time.perf_counter() - t0
            finally:  # no earlier pair's tables left for autovacuum to work on during the next
                with psycopg.connect(cluster.dsn, autocommit=True) as con:
                    con.execute(f"DROP DATABASE {name} WITH (FORCE)")

        for pair in range(args.pairs):
            for workers in (2, 1) if pair % 2 else (1, 2):
                seconds[workers].append(merge_seconds(workers))
    finally:
        cluster.stop()
    won = sum(s < o for s, o in zip(seconds[2], seconds[1], strict=True))
    for workers, name in ((2, "ab_merge_postgres_split_classify"), (1, "ab_merge_postgres_one_connection")):
        runs = seconds[workers]
        m: dict[str, Any] = {
            "rows": day2.num_rows,
            "seconds": statistics.median(runs),
            "runs_s": sorted(round(s, 3) for s in runs),
        }
        emit(name, m)
    print(json.dumps({"name": "ab_merge_postgres_split_faster_pairs", "won": won, "pairs": args.pairs}))


if __name__ == "__main__":
    main()
