"""Create what is missing and add new catalog columns; never drop or rewrite data.

Where merges run in the database (Oracle), the per-table scratch table and the merge procedure
SP_MERGE_<TABLE> are part of the schema too: created when missing, and the procedure recreated
when its table gained a column or it is not VALID.
"""

from __future__ import annotations

from collections.abc import Iterable

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
from marina_assets.warehouse.dialects import Dialect, stg_date_index_name
from marina_assets.warehouse.merge_sql import snapshot_table_name


def table_defs(dialect: Dialect, tables: Iterable[Table]) -> list[TableDef]:
    defs: list[TableDef] = list(PIPELINE_TABLES)
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
    if wh.dialect.stg_date_index is not None:
        ran += _ensure_date_indexes(wh, tables)
    if wh.merges_in_database:
        ran += _ensure_procedures(wh, tables, changed)
    return ran


def _ensure_date_indexes(wh: Warehouse, tables: list[Table]) -> list[str]:
    assert wh.dialect.stg_date_index is not None
    present = wh.existing_indexes()
    ran = []
    for t in tables:
        if stg_date_index_name(t.stg_name) not in present:
            sql = wh.dialect.stg_date_index(t.stg_name)
            wh.execute(sql)
            ran.append(sql)
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
