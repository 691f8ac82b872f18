"""A small catalog table, a way to stage literal rows and read the DW back, on any backend."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pyarrow as pa

from marina_assets.catalog.model import Table, col, table
from marina_assets.parsing.events import Batch, Finished, ParseEvent, TableReport
from marina_assets.parsing.typing import arrow_schema
from marina_assets.staging.loader import StagedTable, load_backup
from marina_assets.warehouse.backend import Warehouse

# Oracle runs only where MARINA_ORACLE_DSN (+ user, password, wallet settings) is configured.
# "postgres-load-classify": PostgreSQL with the load's classify from a 1-row DW on, so every merge
# after a table's first can use the delta its load classified (`pg_load_classify`): the suite's
# known answers then check that path against the same truth as the merge's own classify.
BACKENDS = ("duckdb", "postgres", "postgres-load-classify", "oracle")
ORACLE_SKIP = (
    "live Oracle suite skipped: MARINA_ORACLE_DSN is not set (no Oracle server on this machine; "
    "set MARINA_ORACLE_USER/PASSWORD/DSN and the wallet variables to run it)"
)

T = table(
    "MOLO",
    "Widgets",
    [
        col("Id", "int"),
        col("Name", "str(50)"),
        col("Price", "dec(12,2)"),
        col("Seen", "date"),
        col("Active", "bool"),
    ],
    pk="Id",
)


def open_warehouse(
    kind: str, *, path: Path | None = None, dsn: str | None = None, load_classify: bool = False
) -> Warehouse:
    if kind == "duckdb":
        from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse

        assert path is not None
        return DuckDBWarehouse(path)
    if kind == "oracle":
        from marina_assets.warehouse.oracle_backend import OracleWarehouse, oracle_settings_from_env

        return OracleWarehouse(oracle_settings_from_env())
    from marina_assets.warehouse.postgres_backend import PostgresWarehouse

    assert dsn is not None
    wh = PostgresWarehouse(dsn)
    if load_classify:
        wh.load_classify_min_rows = 1
    return wh


def batch_of(tbl: Table, rows: list[tuple], first_line: int = 2) -> pa.RecordBatch:
    schema = arrow_schema(tbl)
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in tbl.columns]
    arrays = [pa.array(list(c), type=f.type) for c, f in zip(cols, schema, strict=False)]
    arrays.append(pa.array(range(first_line, len(rows) + first_line), pa.int64()))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def events_for(tbl: Table, rows: list[tuple]) -> Iterator[ParseEvent]:
    yield Batch(tbl, batch_of(tbl, rows))
    yield Finished(tbl, TableReport(f"{tbl.source}.csv", rows_read=len(rows)))


def stage(wh: Warehouse, day: date, rows: list[tuple], run: str | None = None, tbl: Table = T) -> StagedTable:
    out = load_backup(
        wh, tables=[tbl], backup_date=day, run_id=run or f"run-{day}", events=events_for(tbl, rows)
    )
    return out[tbl.stg_name]


def dw(wh: Warehouse, tbl: Table = T) -> dict[int, tuple]:
    rows = wh.fetchall(
        f"SELECT {', '.join(tbl.column_names)}, IS_DELETED, DELETED_DATE, CHANGED_BACKUP_DATE "
        f"FROM {tbl.dw_name}"
    )
    return {r[0]: tuple(r[1:]) for r in rows}


def count(wh: Warehouse, sql: str, **params: object) -> int:
    return int(wh.fetchall(sql, params or None)[0][0])


def partitions(wh: Warehouse, parent: str = "stg_molo_widgets") -> list[str]:
    """The partitions of a PostgreSQL STG table, by name."""
    rows = wh.fetchall(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
        "WHERE i.inhparent = to_regclass(%(p)s) ORDER BY 1",
        {"p": parent},
    )
    return [r[0] for r in rows]
