"""The STG -> DW merge of one table for one backup date, as SQL generated from the catalog.

Semantics (DESIGN.md, "Merge semantics"): the snapshot is the STG rows of the date, deduped
with the last record of the file winning (the losers are written to MARINA_REJECTS by SQL, so
every engine words them the same way); keys present and different (NULL-safe, column by
column) are updated, deleted keys that reappear are revived, new keys inserted, keys missing
from the snapshot soft-deleted.

The snapshot, the dedupe and its rejects are defined here once for every engine.
`oracle_procedures.py` puts these statements (with PL/SQL variables in place of the binds, and
MERGE INTO where Oracle has no UPDATE ... FROM) into the stored procedure SP_MERGE_<TABLE>;
on DuckDB and PostgreSQL `merger.py` runs the same snapshot and dedupe, then the set-based
classify-once steps of `merge_delta.py` (same semantics, one comparison pass instead of four).
"""

from __future__ import annotations

from dataclasses import dataclass

from marina_assets.catalog import audit
from marina_assets.catalog.model import ColumnType, Kind, Table
from marina_assets.warehouse.ddl import REJECTS
from marina_assets.warehouse.dialects import Dialect

SNAPSHOT = "MERGE_SNAPSHOT"  # transaction-scoped table holding the deduped snapshot


@dataclass(frozen=True)
class MergeStatements:
    snapshot_table: str
    snapshot: str  # fill the deduped snapshot (binds: backup date)
    reject_duplicates: str  # losers of the dedupe -> MARINA_REJECTS (binds: backup date, run id)
    live_count: str
    insert: str  # binds: backup date
    pending_deletes: str
    delete: str  # binds: backup date
    drop_snapshot: str | None  # None where the scratch table is permanent (Oracle GTT)


def snapshot_table_name(dialect: Dialect, table: Table) -> str:
    """Oracle keeps one global temporary table per DW table; the others a shared temp name."""
    if dialect.permanent_scratch:
        return "TMP_" + table.dw_name.removeprefix("DW_")
    return SNAPSHOT


def carried_columns(dialect: Dialect, table: Table) -> tuple[str, ...]:
    """The STG columns a merge copies into the DW row: the catalog's, and the row hash if any."""
    return (*table.column_names, *((audit.ROW_HASH,) if dialect.row_hash else ()))


def keys_match(table: Table, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in table.primary_key)


def as_text(dialect: Dialect, expr: str, type_: ColumnType) -> str:
    if type_.kind in (Kind.VARCHAR, Kind.TEXT):
        return expr
    return f"CAST({expr} AS {dialect.text_cast})"


def ranked_select(dialect: Dialect, table: Table, date_expr: str) -> str:
    cols = ", ".join(carried_columns(dialect, table))
    pk = ", ".join(table.primary_key)
    return (
        f"SELECT {cols}, {audit.SOURCE_LINE}, "
        f"ROW_NUMBER() OVER (PARTITION BY {pk} ORDER BY {audit.SOURCE_LINE} DESC) AS RN_ "
        f"FROM {table.stg_name} WHERE {audit.BACKUP_DATE} = {date_expr}"
    )


def differs(dialect: Dialect, table: Table, target: str, source: str) -> str:
    """True when any non-key column differs, NULL-safe; never true for a key-only table."""
    parts = [
        dialect.distinct(f"{target}.{c.name}", f"{source}.{c.name}", c.type) for c in table.value_columns
    ]
    return " OR ".join(parts) or "1 = 0"


def touch_assignments(dialect: Dialect, date_expr: str, target: str = "") -> str:
    p = f"{target}." if target else ""
    return (
        f"{p}{audit.UPDATED_DATE} = {dialect.now}, {p}{audit.CHANGED_BACKUP_DATE} = {date_expr}, "
        f"{p}{audit.IS_DELETED} = 0, {p}{audit.DELETED_DATE} = NULL"
    )


def reject_duplicates_sql(
    dialect: Dialect, table: Table, snapshot: str, date_expr: str, run_expr: str
) -> str:
    pk_names = ", ".join(table.primary_key)
    key_text = " || ', ' || ".join(as_text(dialect, f"r.{c.name}", c.type) for c in table.key_columns)
    line = as_text(dialect, f"r.{audit.SOURCE_LINE}", ColumnType(Kind.INTEGER))
    winner = as_text(dialect, f"s.{audit.SOURCE_LINE}", ColumnType(Kind.INTEGER))
    reason = f"'duplicate key in the snapshot: line ' || {line} || ' superseded by line ' || {winner}"
    cols = ", ".join(REJECTS.column_names)
    return (
        f"INSERT INTO {REJECTS.name} ({cols}) "
        f"SELECT '{table.system}', '{table.stg_name}', {date_expr}, 'merge', '{table.stg_name}', "
        f"r.{audit.SOURCE_LINE}, '{pk_names} = ' || {key_text}, {reason}, {run_expr}, {dialect.now} "
        f"FROM ({ranked_select(dialect, table, date_expr)}) r "
        f"JOIN {snapshot} s ON {keys_match(table, 'r', 's')} WHERE r.RN_ > 1"
    )


def insert_sql(dialect: Dialect, table: Table, snapshot: str, date_expr: str) -> str:
    cols = ", ".join(table.column_names)
    audit_cols = ", ".join(
        (
            audit.INSERTED_DATE,
            audit.UPDATED_DATE,
            audit.CHANGED_BACKUP_DATE,
            audit.IS_DELETED,
            audit.DELETED_DATE,
        )
    )
    return (
        f"INSERT INTO {table.dw_name} ({cols}, {audit_cols}) "
        f"SELECT {', '.join('s.' + c for c in table.column_names)}, "
        f"{dialect.now}, {dialect.now}, {date_expr}, 0, NULL "
        f"FROM {snapshot} s WHERE NOT EXISTS "
        f"(SELECT 1 FROM {table.dw_name} t WHERE {keys_match(table, 't', 's')})"
    )


def missing_from_snapshot(table: Table, snapshot: str) -> str:
    return f"NOT EXISTS (SELECT 1 FROM {snapshot} s WHERE {keys_match(table, 's', table.dw_name)})"


def delete_sql(dialect: Dialect, table: Table, snapshot: str, date_expr: str) -> str:
    return (
        f"UPDATE {table.dw_name} SET {audit.IS_DELETED} = 1, {audit.DELETED_DATE} = {date_expr}, "
        f"{audit.UPDATED_DATE} = {dialect.now}, {audit.CHANGED_BACKUP_DATE} = {date_expr} "
        f"WHERE {audit.IS_DELETED} = 0 AND {missing_from_snapshot(table, snapshot)}"
    )


def merge_statements(
    dialect: Dialect, table: Table, *, date_expr: str | None = None, run_expr: str | None = None
) -> MergeStatements:
    """Every statement of the merge; binds default to the dialect's named markers."""
    d = date_expr or dialect.bind("backup_date")
    run = run_expr or dialect.bind("run_id")
    dw = table.dw_name
    snap = snapshot_table_name(dialect, table)
    snapshot_select = (
        f"SELECT {', '.join(carried_columns(dialect, table))}, {audit.SOURCE_LINE} "
        f"FROM ({ranked_select(dialect, table, d)}) r WHERE RN_ = 1"
    )
    temp = dialect.temp_table(snap, snapshot_select)
    return MergeStatements(
        snapshot_table=snap,
        snapshot=temp,
        reject_duplicates=reject_duplicates_sql(dialect, table, snap, d, run),
        live_count=f"SELECT COUNT(*) FROM {dw} WHERE {audit.IS_DELETED} = 0",
        insert=insert_sql(dialect, table, snap, d),
        pending_deletes=(
            f"SELECT COUNT(*) FROM {dw} WHERE {audit.IS_DELETED} = 0 AND {missing_from_snapshot(table, snap)}"
        ),
        delete=delete_sql(dialect, table, snap, d),
        drop_snapshot=None if dialect.permanent_scratch else f"DROP TABLE IF EXISTS {snap}",
    )
