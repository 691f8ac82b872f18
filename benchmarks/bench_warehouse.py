"""Warehouse backends side by side: STG load and merge rows/s, and the legacy loader as baseline.

    python -m benchmarks.bench_warehouse [--rows 1000000]

A 1M-row table (the catalog's DW_MOLO_INVOICE_ITEMS, 16 columns) is staged and merged for day 1
(not timed); day 2 changes 1% of the rows (including value<->NULL flips), adds 1% new keys and
drops 0.5%. Timed per backend: staging day 2 from Arrow batches (`load_backup`), then merging it
(`merge_table`), and for PostgreSQL also the two together. PostgreSQL runs as configured (the
load classifies the rows against the DW, `pg_load_classify`) and, in runs taking turns with
those, with the classify left to the merge (`*_classify_in_merge`); then, each in runs of its
own, the load with one COPY stream instead of `MARINA_POSTGRES_COPY_STREAMS` (2) and the merge
with its classify on its own connection instead of split over `MARINA_POSTGRES_MERGE_WORKERS` (2).
PostgreSQL runs on a throwaway cluster the benchmark starts itself
(marina_assets_tests/pg_cluster.py).

Every line is the median of RUNS runs, each on a fresh database (this VM's timings of the same
run spread by 20-30%); `runs_s` lists every run's seconds, so the spread is in the output too.

Baseline (`legacy_csv_executemany_postgres`): what the legacy loader did — Python's `csv` module
reading the member and `executemany` INSERT batches of 1,000 rows into PostgreSQL. It is measured
on the first 200K rows (rows/s does not depend on the count) and compared with our path for the
same input: the CSV member in a ZIP parsed by `parse_csv_zip` and COPYed by `load_backup`.
"""

from __future__ import annotations

import argparse
import csv
import io
import shutil
import time
import traceback
import uuid
import zipfile
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from pathlib import Path
from tempfile import mkdtemp
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from benchmarks.harness import busy_pct, cpu_ticks, emit, measure
from marina_assets.catalog import system
from marina_assets.parsing.csv_zip import parse_csv_zip
from marina_assets.parsing.events import Batch, Finished, ParseEvent, TableReport
from marina_assets.parsing.typing import arrow_schema
from marina_assets.staging.loader import LoadPolicy, load_backup
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.merger import merge_table
from marina_assets.warehouse.schema import ensure_schema

TABLE = system("MOLO").table("InvoiceItemSet")
D1, D2 = date(2025, 11, 1), date(2025, 11, 2)
BATCH_ROWS = 65_536
LEGACY_ROWS = 200_000
RUNS = 3


def _column(name: str, kind: str, n: int, rng: np.random.Generator, ids: np.ndarray) -> pa.Array:
    if name == "ID":
        return pa.array(ids, pa.int64())
    if kind == "integer":
        return pa.array(rng.integers(1, 50_000, n), pa.int64())
    if kind.startswith("decimal"):
        p, s = (int(x) for x in kind[8:-1].split(","))
        wide = pa.array(rng.integers(0, 10 ** min(p - s - 1, 6), n)).cast(pa.decimal128(38, s))
        return wide.cast(pa.decimal128(p, s))
    if kind.startswith("varchar"):
        words = np.array(["slip rental", "fuel", "pump-out", "winter storage", "electric 30A", "launch fee"])
        return pa.array([f"{w} #{i}" for w, i in zip(words[ids % 6], ids, strict=True)])
    if kind == "date":
        return pa.array(rng.integers(19_000, 20_000, n).astype("int32"), pa.date32())
    if kind == "timestamp":
        return pa.array(rng.integers(1_600_000_000, 1_700_000_000, n) * 1_000_000, pa.timestamp("us"))
    raise ValueError(kind)


def make_days(n: int) -> tuple[pa.Table, pa.Table]:
    """Day 1 (n rows) and day 2: 1% changed (some to NULL), 1% new keys, 0.5% deleted."""
    rng = np.random.default_rng(20251117)
    ids = np.arange(1, n + 1)
    schema = arrow_schema(TABLE)
    cols = [_column(c.name, str(c.type), n, rng, ids) for c in TABLE.columns]
    day1 = pa.Table.from_arrays([*cols, pa.array(np.arange(2, n + 2))], schema=schema)

    keep = np.ones(n, bool)
    keep[rng.choice(n, n // 200, replace=False)] = False
    changed = rng.choice(np.flatnonzero(keep), n // 100, replace=False)
    day2 = day1.to_pydict()
    for i in changed:  # a handful of Python edits: 1% of rows
        day2["AMOUNT"][i] = day2["AMOUNT"][i] + Decimal("1.00")
        day2["TAX_AMOUNT"][i] = None if i % 3 == 0 else Decimal("0.07")  # value <-> NULL flips
        day2["DESCRIPTION"][i] = day2["DESCRIPTION"][i] + " (revised)"
    d2 = pa.Table.from_pydict(day2, schema=schema).filter(pa.array(keep))
    new_ids = np.arange(n + 1, n + 1 + n // 100)
    new = [_column(c.name, str(c.type), len(new_ids), rng, new_ids) for c in TABLE.columns]
    new_tbl = pa.Table.from_arrays([*new, pa.array(np.zeros(len(new_ids), np.int64))], schema=schema)
    d2 = pa.concat_tables([d2, new_tbl])
    d2 = d2.set_column(d2.num_columns - 1, "SOURCE_LINE", pa.array(np.arange(2, d2.num_rows + 2)))
    return day1, d2


def _safe(fn: Callable[[], dict]) -> Callable[[], dict]:
    """The harness waits for the child's result: report a failure instead of dying silently."""

    def run() -> dict[str, Any]:
        try:
            return fn()
        except BaseException:
            return {"error": traceback.format_exc()}

    return run


def _measure(fn: Callable[[], dict]) -> dict[str, Any]:
    m = measure(_safe(fn))
    if "error" in m:
        raise SystemExit(f"benchmark failed in the child process:\n{m['error']}")
    return m


def _runs(fn: Callable[[], dict]) -> list[dict[str, Any]]:
    return [_measure(fn) for _ in range(RUNS)]


def _paired_runs(a: Callable[[], dict], b: Callable[[], dict]) -> tuple[list[dict], list[dict]]:
    """RUNS runs of each, taking turns (a b b a a b ...), so a drift of the machine's speed over
    the minutes they take falls on both alike."""
    out: tuple[list[dict], list[dict]] = ([], [])
    for i in range(RUNS):
        for which in (0, 1) if i % 2 == 0 else (1, 0):
            out[which].append(_measure((a, b)[which]))
    return out


def _median(
    runs: list[dict[str, Any]],
    seconds: Callable[[dict], float] = lambda m: m["seconds"],
    section: str = "load",
) -> dict:
    """The median of the runs' `seconds(run)`, with every run's value in `runs_s`, and the median
    of how busy the cores were during `section` of each run (where it was sampled)."""
    times = sorted(seconds(m) for m in runs)
    busy = sorted(b for m in runs if (b := m.get(f"{section}_cpu_busy_pct")) is not None)
    return {
        "rows": runs[0]["rows"],
        "seconds": times[len(times) // 2],
        "runs_s": [round(t, 3) for t in times],
        "peak_rss_mb": max(m["peak_rss_mb"] for m in runs),
        "cpu_busy_pct": busy[len(busy) // 2] if busy else None,
    }


def _events(data: pa.Table) -> list[ParseEvent]:
    out: list[ParseEvent] = [Batch(TABLE, b) for b in data.to_batches(max_chunksize=BATCH_ROWS)]
    out.append(Finished(TABLE, TableReport("InvoiceItemSet.csv", rows_read=data.num_rows)))
    return out


def _stage(wh: Warehouse, d: date, data: pa.Table) -> None:
    load_backup(wh, tables=[TABLE], backup_date=d, run_id=f"bench-{d}", events=_events(data))


def backend_run(open_wh: Callable[[], Warehouse], day1: pa.Table, day2: pa.Table) -> Callable[[], dict]:
    def run() -> dict[str, Any]:
        with open_wh() as wh:
            ensure_schema(wh, [TABLE])
            _stage(wh, D1, day1)
            merge_table(wh, TABLE, D1, "bench-1")
            c0, t0 = cpu_ticks(), time.perf_counter()
            _stage(wh, D2, day2)
            c1, t1 = cpu_ticks(), time.perf_counter()
            r = merge_table(wh, TABLE, D2, "bench-2")
            c2, t2 = cpu_ticks(), time.perf_counter()
        assert (r.inserted, r.deleted) == (
            day2.num_rows - day1.num_rows + day1.num_rows // 200,
            day1.num_rows // 200,
        )
        assert r.updated == day1.num_rows // 100, r.updated
        return {
            "rows": day2.num_rows,
            "seconds": t1 - t0,
            "merge_seconds": t2 - t1,
            "load_cpu_busy_pct": busy_pct(c0, c1),
            "merge_cpu_busy_pct": busy_pct(c1, c2),
            "both_cpu_busy_pct": busy_pct(c0, c2),
        }

    return run


def _csv_bytes(data: pa.Table) -> bytes:
    names = [c.source for c in TABLE.columns]
    sink = io.BytesIO()
    pacsv.write_csv(data.drop_columns(["SOURCE_LINE"]).rename_columns(names), sink)
    return sink.getvalue()


def legacy_run(dsn: str, csv_bytes: bytes) -> Callable[[], dict]:
    """The legacy loader: csv module + executemany batches of 1,000 string rows."""

    def run() -> dict[str, Any]:
        import psycopg

        cols = ", ".join(TABLE.column_names)
        marks = ", ".join(["%s"] * len(TABLE.columns))
        rows = 0
        with psycopg.connect(dsn) as con, con.cursor() as cur:
            # the legacy staging table: same columns and types as STG, no extras
            cur.execute("DROP TABLE IF EXISTS LEGACY_STG")  # the previous run's
            cur.execute(f"CREATE TABLE LEGACY_STG AS SELECT {cols} FROM {TABLE.stg_name} WHERE 1 = 0")
            t0 = time.perf_counter()
            reader = csv.reader(io.StringIO(csv_bytes.decode()))
            next(reader)
            batch: list[list[str | None]] = []
            for rec in reader:
                batch.append([v if v != "" else None for v in rec])
                rows += 1
                if len(batch) == 1000:
                    cur.executemany(f"INSERT INTO LEGACY_STG ({cols}) VALUES ({marks})", batch)
                    batch = []
                if rows >= LEGACY_ROWS:
                    break
            if batch:
                cur.executemany(f"INSERT INTO LEGACY_STG ({cols}) VALUES ({marks})", batch)
            con.commit()
            seconds = time.perf_counter() - t0
        return {"rows": rows, "seconds": seconds}

    return run


def zip_to_stg_run(open_wh: Callable[[], Warehouse], zip_bytes: bytes, rows: int) -> Callable[[], dict]:
    def run() -> dict[str, Any]:
        with open_wh() as wh:
            ensure_schema(wh, [TABLE])
            t0 = time.perf_counter()
            out = load_backup(
                wh,
                tables=[TABLE],
                backup_date=D2,
                run_id="bench-zip",
                events=parse_csv_zip(io.BytesIO(zip_bytes), "molo_backup_2025-11-02_06-15-00.zip", [TABLE]),
                policy=LoadPolicy(),
            )
            seconds = time.perf_counter() - t0
        assert out[TABLE.stg_name].rows_loaded == rows, out[TABLE.stg_name]
        return {"rows": rows, "seconds": seconds}

    return run


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    args = p.parse_args()
    day1, day2 = make_days(args.rows)
    work = Path(mkdtemp(prefix="marina-bench-"))

    from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse

    runs = _runs(backend_run(lambda: DuckDBWarehouse(work / f"{uuid.uuid4().hex}.duckdb"), day1, day2))
    emit("warehouse_stg_load_duckdb", _median(runs))
    emit("warehouse_merge_duckdb", _median(runs, lambda m: m["merge_seconds"], "merge"))

    from marina_assets.warehouse.postgres_backend import PostgresWarehouse
    from marina_assets_tests.pg_cluster import start_cluster

    cluster = start_cluster()
    try:
        import psycopg

        def fresh_db() -> str:
            name = f"b_{uuid.uuid4().hex[:10]}"
            with psycopg.connect(cluster.dsn, autocommit=True) as con:
                con.execute(f"CREATE DATABASE {name}")
            return cluster.dsn_for(name)

        legacy_dsn = fresh_db()
        with PostgresWarehouse(legacy_dsn) as wh:
            ensure_schema(wh, [TABLE])
        csv_bytes = _csv_bytes(day2)
        legacy = _median(_runs(legacy_run(legacy_dsn, csv_bytes)))
        base = emit("legacy_csv_executemany_postgres", legacy)["rows_per_s"]

        def variant(
            load: bool = False, classify: bool = False, at_load: bool = True
        ) -> Callable[[], PostgresWarehouse]:
            """A warehouse as before parallel COPY streams (MARINA_POSTGRES_COPY_STREAMS=1), the
            split classify (MARINA_POSTGRES_MERGE_WORKERS=1) or the classify at load time
            (`at_load`=False); the others as configured."""

            def open_wh() -> PostgresWarehouse:
                wh = PostgresWarehouse(fresh_db())
                if load:
                    wh.streams.count = 1
                if classify:
                    wh.readers.workers = 1
                if not at_load:
                    wh.load_classify_min_rows = None
                return wh

            return open_wh

        runs, in_merge = _paired_runs(
            backend_run(variant(), day1, day2), backend_run(variant(at_load=False), day1, day2)
        )
        emit(
            "warehouse_stg_load_postgres",
            _median(runs),
            baseline="legacy_csv_executemany_postgres",
            baseline_rate=base,
        )
        emit("warehouse_merge_postgres", _median(runs, lambda m: m["merge_seconds"], "merge"))
        emit(
            "warehouse_load_and_merge_postgres",
            _median(runs, lambda m: m["seconds"] + m["merge_seconds"], "both"),
            baseline="legacy_csv_executemany_postgres",
            baseline_rate=base,
        )
        emit("warehouse_stg_load_postgres_classify_in_merge", _median(in_merge))
        emit(
            "warehouse_merge_postgres_classify_in_merge",
            _median(in_merge, lambda m: m["merge_seconds"], "merge"),
        )
        emit(
            "warehouse_load_and_merge_postgres_classify_in_merge",
            _median(in_merge, lambda m: m["seconds"] + m["merge_seconds"], "both"),
            baseline="legacy_csv_executemany_postgres",
            baseline_rate=base,
        )
        emit(
            "warehouse_stg_load_postgres_one_stream",
            _median(_runs(backend_run(variant(load=True), day1, day2))),
            baseline="legacy_csv_executemany_postgres",
            baseline_rate=base,
        )
        single = _runs(backend_run(variant(classify=True, at_load=False), day1, day2))
        emit(
            "warehouse_merge_postgres_one_connection", _median(single, lambda m: m["merge_seconds"], "merge")
        )

        zbuf = io.BytesIO()
        with zipfile.ZipFile(zbuf, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("InvoiceItemSet.csv", csv_bytes)
        zipped = zbuf.getvalue()
        zip_runs = _runs(zip_to_stg_run(lambda: PostgresWarehouse(fresh_db()), zipped, day2.num_rows))
        emit(
            "pipeline_zip_csv_to_stg_postgres",
            _median(zip_runs),
            baseline="legacy_csv_executemany_postgres",
            baseline_rate=base,
        )
    finally:
        cluster.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
