"""The STG -> DW merge of one table for one backup date, as SQL generated from the catalog.

Semantics (DESIGN.md, "Merge semantics"): the snapshot is the STG rows of the date, deduped
with the last record of the file winning; keys present and different (NULL-safe, column by
column) are updated, deleted keys that reappear are revived, new keys inserted, keys missing
from the snapshot soft-deleted. Every statement takes the backup date as its only parameter,
bound through the dialect's marker, so the same text serves DuckDB and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from marina_assets.catalog import audit
from marina_assets.catalog.model import Table
from marina_assets.warehouse.dialects import Dialect

SNAPSHOT = "MERGE_SNAPSHOT"  # temporary table holding the deduped snapshot


@dataclass(frozen=True)
class MergeStatements:
    snapshot: str  # create the deduped snapshot (param: backup date)
    duplicates: str  # losers of the dedupe: key, line, winning line (param: backup date)
    live_count: str
    revive: str  # param: backup date
    update: str  # param: backup date
    insert: str  # param: backup date
    pending_deletes: str
    delete: str  # param: backup date
    drop_snapshot: str


def _keys_match(table: Table, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in table.primary_key)


def merge_statements(
    dialect: Dialect, table: Table, *, temp_prefix: str = "CREATE TEMP TABLE"
) -> MergeStatements:
    d = dialect.bind("backup_date")
    cols = ", ".join(table.column_names)
    pk = ", ".join(table.primary_key)
    stg, dw = table.stg_name, table.dw_name
    ranked = (
        f"SELECT {cols}, {audit.SOURCE_LINE}, "
        f"ROW_NUMBER() OVER (PARTITION BY {pk} ORDER BY {audit.SOURCE_LINE} DESC) AS RN_ "
        f"FROM {stg} WHERE {audit.BACKUP_DATE} = {d}"
    )
    snapshot = (
        f"{temp_prefix} {SNAPSHOT} AS SELECT {cols}, {audit.SOURCE_LINE} FROM ({ranked}) r WHERE RN_ = 1"
    )
    duplicates = (
        f"SELECT {', '.join('r.' + k for k in table.primary_key)}, r.{audit.SOURCE_LINE}, "
        f"s.{audit.SOURCE_LINE} FROM ({ranked}) r JOIN {SNAPSHOT} s ON {_keys_match(table, 'r', 's')} "
        f"WHERE r.RN_ > 1 ORDER BY r.{audit.SOURCE_LINE}"
    )
    value_cols = table.value_columns
    set_values = "".join(f"{c.name} = s.{c.name}, " for c in value_cols)
    touch = (
        f"{audit.UPDATED_DATE} = {dialect.now}, {audit.CHANGED_BACKUP_DATE} = {d}, "
        f"{audit.IS_DELETED} = 0, {audit.DELETED_DATE} = NULL"
    )
    differs = " OR ".join(dialect.distinct(f"{dw}.{c.name}", f"s.{c.name}", c.type) for c in value_cols)
    revive = (
        f"UPDATE {dw} SET {set_values}{touch} FROM {SNAPSHOT} s "
        f"WHERE {_keys_match(table, dw, 's')} AND {dw}.{audit.IS_DELETED} = 1"
    )
    update = (
        f"UPDATE {dw} SET {set_values}{touch} FROM {SNAPSHOT} s "
        f"WHERE {_keys_match(table, dw, 's')} AND {dw}.{audit.IS_DELETED} = 0 AND ({differs or 'FALSE'})"
    )
    audit_cols = ", ".join(
        (
            audit.INSERTED_DATE,
            audit.UPDATED_DATE,
            audit.CHANGED_BACKUP_DATE,
            audit.IS_DELETED,
            audit.DELETED_DATE,
        )
    )
    insert = (
        f"INSERT INTO {dw} ({cols}, {audit_cols}) "
        f"SELECT {', '.join('s.' + c for c in table.column_names)}, "
        f"{dialect.now}, {dialect.now}, {d}, 0, NULL "
        f"FROM {SNAPSHOT} s WHERE NOT EXISTS (SELECT 1 FROM {dw} t WHERE {_keys_match(table, 't', 's')})"
    )
    missing = f"NOT EXISTS (SELECT 1 FROM {SNAPSHOT} s WHERE {_keys_match(table, 's', dw)})"
    pending = f"SELECT COUNT(*) FROM {dw} WHERE {audit.IS_DELETED} = 0 AND {missing}"
    delete = (
        f"UPDATE {dw} SET {audit.IS_DELETED} = 1, {audit.DELETED_DATE} = {d}, "
        f"{audit.UPDATED_DATE} = {dialect.now}, {audit.CHANGED_BACKUP_DATE} = {d} "
        f"WHERE {audit.IS_DELETED} = 0 AND {missing}"
    )
    return MergeStatements(
        snapshot=snapshot,
        duplicates=duplicates,
        live_count=f"SELECT COUNT(*) FROM {dw} WHERE {audit.IS_DELETED} = 0",
        revive=revive,
        update=update,
        insert=insert,
        pending_deletes=pending,
        delete=delete,
        drop_snapshot=f"DROP TABLE IF EXISTS {SNAPSHOT}",
    )
