"""Definition metadata shared by STG and DW assets: column schema, table name, owners."""

from __future__ import annotations

from typing import Any

import dagster as dg

from marina_assets.catalog import audit
from marina_assets.catalog.model import Table
from marina_assets.warehouse.ddl import TableDef


def column_schema(table: Table, physical: TableDef) -> dg.TableSchema:
    by_name = {c.name: c for c in table.columns}
    cols = []
    for c in physical.columns:
        src = by_name.get(c.name)
        if src is not None:
            desc = src.description or f"{table.source}.{src.source}"
            if src.ref:
                desc += f" (references {src.ref})"
            if src.choices:
                desc += f"; one of {', '.join(src.choices[:12])}"
        else:
            desc = _AUDIT_DOCS.get(c.name, "pipeline column")
        cols.append(
            dg.TableColumn(
                name=c.name,
                type=str(c.type),
                description=desc,
                constraints=dg.TableColumnConstraints(
                    nullable=c.nullable, unique=physical.primary_key == (c.name,)
                ),
            )
        )
    return dg.TableSchema(columns=cols)


_AUDIT_DOCS = {
    audit.BACKUP_DATE: "backup date (partition) the row was staged from",
    audit.SOURCE_LINE: "line of the record in its source file; the last duplicate wins",
    audit.LOAD_RUN_ID: "Dagster run that staged the row",
    audit.LOADED_AT: "when the row was staged",
    audit.LOAD_STREAM: "which of the load's parallel COPY streams wrote the row (PostgreSQL)",
    audit.INSERTED_DATE: "when the key was first inserted into the warehouse",
    audit.UPDATED_DATE: "when the row last changed (update, delete or revival)",
    audit.CHANGED_BACKUP_DATE: "backup date whose snapshot last changed the row",
    audit.IS_DELETED: "1 while the key is missing from the latest applied snapshot",
    audit.DELETED_DATE: "backup date of the first snapshot that lacked the key",
}


def table_metadata(table: Table, physical: TableDef) -> dict[str, Any]:
    return {
        "dagster/column_schema": column_schema(table, physical),
        "dagster/table_name": physical.name,
        "marina/source": f"{table.system}.{table.source}",
        "marina/primary_key": ", ".join(table.primary_key),
        "marina/lookup": table.lookup,
    }
