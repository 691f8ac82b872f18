"""Create what is missing and add new catalog columns; never drop or rewrite data."""

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
    stg_def,
)


def table_defs(tables: Iterable[Table]) -> list[TableDef]:
    defs: list[TableDef] = list(PIPELINE_TABLES)
    for t in tables:
        defs += [stg_def(t), dw_def(t)]
    return defs


def ensure_schema(wh: Warehouse, tables: Iterable[Table]) -> list[str]:
    """Bring the warehouse up to the catalog; returns the statements it ran."""
    ran: list[str] = []
    present = wh.existing_columns()
    for td in table_defs(tables):
        existing = present.get(td.name)
        if existing is None:
            sql = create_table_sql(wh.dialect, td)
            wh.execute(sql)
            ran.append(sql)
            continue
        for c in td.columns:
            if c.name not in existing:
                sql = add_column_sql(wh.dialect, td.name, c)
                wh.execute(sql)
                ran.append(sql)
    return ran
