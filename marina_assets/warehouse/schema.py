"""Create what is missing and add new catalog columns; never drop or rewrite data.

Where merges run in the database (Oracle), the per-table scratch table and the merge procedure
SP_MERGE_<TABLE> are part of the schema too: created when missing, and the procedure recreated
when its table gained a column or it is not VALID.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, cast

from marina_assets.catalog.model import Table
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.ddl import (
    PIPELINE_TABLES,
    TableDef,
    add_column_sql,
    create_table_sql,
    dw_def,
    snapshot_def,
    stg_def,
)
from marina_assets.warehouse.dialects import Dialect
from marina_assets.warehouse.dw_versions import PRECLASSIFIED, VERSIONS, ensure_triggers
from marina_assets.warehouse.merge_sql import snapshot_table_name

if TYPE_CHECKING:
    from marina_assets.warehouse.postgres_backend import PostgresWarehouse


def pipeline_tables(dialect: Dialect) -> list[TableDef]:
    return [*PIPELINE_TABLES, *((VERSIONS, PRECLASSIFIED) if dialect.dw_versions else ())]


def table_defs(dialect: Dialect, tables: Iterable[Table]) -> list[TableDef]:
    defs = pipeline_tables(dialect)
    for t in tables:
        defs += [stg_def(t, dialect), dw_def(t, dialect)]
        if dialect.permanent_scratch:
            defs.append(snapshot_def(t, snapshot_table_name(dialect, t)))
    return defs


def ensure_schema(wh: Warehouse, tables: Iterable[Table]) -> list[str]:
    """Bring the warehouse up to the catalog; returns the statements it ran."""
    tables = list(tables)
    ran: list[str] = []
    changed: set[str] = set()
    present = wh.existing_columns()
    if wh.dialect.stg_partitioned:
        ran += _partition_plain_stg(wh, [t.stg_name for t in tables if t.stg_name in present])
    for td in table_defs(wh.dialect, tables):
        existing = present.get(td.name)
        if existing is None:
            sql = create_table_sql(wh.dialect, td)
            wh.execute(sql)
            ran.append(sql)
            changed.add(td.name)
            continue
        for c in td.columns:
            if c.name not in existing:
                sql = add_column_sql(wh.dialect, td.name, c)
                wh.execute(sql)
                ran.append(sql)
                changed.add(td.name)
    if wh.dialect.dw_versions:
        ran += ensure_triggers(wh, tables)
    if wh.merges_in_database:
        ran += _ensure_procedures(wh, tables, changed)
    return ran


def _partition_plain_stg(wh: Warehouse, names: list[str]) -> list[str]:
    """STG tables made before STG was partitioned (PostgreSQL) become partitioned, rows kept."""
    from marina_assets.warehouse.pg_partitions import partition_existing, unpartitioned

    pg = cast("PostgresWarehouse", wh)  # the one engine whose dialect partitions STG
    ran = []
    for name in unpartitioned(pg, names):
        ran += partition_existing(pg, name)
    return ran


def _ensure_procedures(wh: Warehouse, tables: list[Table], changed: set[str]) -> list[str]:
    from marina_assets.warehouse.oracle_procedures import create_procedure_sql, procedure_name

    status = wh.object_status([procedure_name(t) for t in tables])
    ran = []
    for t in tables:
        valid = status.get(procedure_name(t), ("MISSING", ""))[0] == "VALID"
        if not valid or {t.stg_name, t.dw_name} & changed:
            sql = create_procedure_sql(t)
            wh.execute(sql)
            ran.append(sql)
    return ran
