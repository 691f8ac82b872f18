"""SP_MERGE_<TABLE>(p_backup_date DATE): the merge of one table and date as an Oracle procedure.

Generated from the catalog and from the very statements `merge_sql` defines for every engine
(with the PL/SQL parameters in place of bind markers). Oracle-only spellings:

- no `UPDATE ... FROM`: revive and update are `MERGE INTO ... WHEN MATCHED THEN UPDATE ... WHERE`;
- the snapshot is deduped *before* any MERGE (into the global temporary table TMP_<SRC>_<TABLE>),
  so a duplicate key can never raise ORA-30926;
- NULL-safe change detection is `DECODE(a, b, 0, 1) = 1`, CLOBs use `DBMS_LOB.COMPARE` with
  explicit NULL rules (see `dialects.py`); identifiers are upper case, unquoted.

The rules around the statements are those of `merger.py`: a date with no staged snapshot is
reported `no_staging`; a date older than the watermark is `skipped_older` unless `p_rebuild = 1`;
the delete guard is `merger.looks_truncated` rendered by `guard_plsql`; the watermark moves
forward (or to the date when rebuilding); one MARINA_LOAD_LOG row per call. The procedure does
not COMMIT: the caller's transaction covers the whole table (the Python merger commits; a DBA
running it by hand commits or rolls back).
"""

from __future__ import annotations

from dataclasses import dataclass

from marina_assets.catalog import audit
from marina_assets.catalog.model import Table
from marina_assets.warehouse.ddl import LOAD_LOG, WATERMARKS
from marina_assets.warehouse.dialects import ORACLE, Dialect
from marina_assets.warehouse.merge_sql import (
    differs,
    keys_match,
    merge_statements,
    snapshot_table_name,
    touch_assignments,
)
from marina_assets.warehouse.sql_text import readable

D = "p_backup_date"
RUN = "p_run_id"


def procedure_name(table: Table) -> str:
    return "SP_MERGE_" + table.dw_name.removeprefix("DW_")


def call_sql(dialect: Dialect, table: Table) -> str:
    b = dialect.bind
    args = ", ".join(
        b(n) for n in ("backup_date", "run_id", "max_delete_ratio", "min_rows_for_guard", "rebuild")
    )
    return f"BEGIN {procedure_name(table)}({args}); END;"


@dataclass(frozen=True)
class ProcedureSql:
    """The procedure's SQL statements one by one (for review and for structural tests)."""

    fill_snapshot: str
    reject_duplicates: str
    revive: str
    update: str
    insert: str
    pending_deletes: str
    delete: str
    live_count: str
    watermark: str
    log: str

    def statements(self) -> dict[str, str]:
        return dict(self.__dict__)


def _merge_update(table: Table, snapshot: str, condition: str) -> str:
    sets = "".join(f"t.{c.name} = s.{c.name}, " for c in table.value_columns)
    return (
        f"MERGE INTO {table.dw_name} t USING {snapshot} s ON ({keys_match(table, 't', 's')}) "
        f"WHEN MATCHED THEN UPDATE SET {sets}{touch_assignments(ORACLE, D, 't')} WHERE {condition}"
    )


def procedure_sql(table: Table) -> ProcedureSql:
    m = merge_statements(ORACLE, table, date_expr=D, run_expr=RUN)
    snap = m.snapshot_table
    # the SELECTs of the generic statements, turned into PL/SQL SELECT ... INTO
    pending = m.pending_deletes.replace("SELECT COUNT(*) FROM", "SELECT COUNT(*) INTO v_pending FROM", 1)
    live = m.live_count.replace("SELECT COUNT(*) FROM", "SELECT COUNT(*) INTO v_live FROM", 1)
    snapshot_insert = m.snapshot.replace(
        f"INSERT INTO {snap} SELECT",
        f"INSERT INTO {snap} ({', '.join(table.column_names)}, {audit.SOURCE_LINE}) SELECT",
        1,
    )
    log_cols = ", ".join(c.name for c in LOAD_LOG.columns)
    log_values = (
        f"{RUN}, '{table.system}', '{table.dw_name}', {D}, 'DW', v_status, v_snapshot, "
        "v_inserted + v_updated + v_revived, v_dups, v_inserted, v_updated, v_deleted, v_revived, "
        "v_held, CASE WHEN v_status = 'merged' THEN v_live END, v_started, LOCALTIMESTAMP, v_message, NULL"
    )
    watermark = (
        f"MERGE INTO {WATERMARKS.name} w USING (SELECT '{table.dw_name}' AS TABLE_NAME FROM DUAL) s "
        f"ON (w.TABLE_NAME = s.TABLE_NAME) "
        f"WHEN MATCHED THEN UPDATE SET w.LAST_BACKUP_DATE = CASE WHEN p_rebuild = 1 THEN {D} "
        f"ELSE GREATEST(w.LAST_BACKUP_DATE, {D}) END, w.UPDATED_AT = LOCALTIMESTAMP "
        f"WHEN NOT MATCHED THEN INSERT (TABLE_NAME, LAST_BACKUP_DATE, UPDATED_AT) "
        f"VALUES (s.TABLE_NAME, {D}, LOCALTIMESTAMP)"
    )
    return ProcedureSql(
        fill_snapshot=snapshot_insert,
        reject_duplicates=m.reject_duplicates,
        revive=_merge_update(table, snap, f"t.{audit.IS_DELETED} = 1"),
        update=_merge_update(
            table, snap, f"t.{audit.IS_DELETED} = 0 AND ({differs(ORACLE, table, 't', 's')})"
        ),
        insert=m.insert,
        pending_deletes=pending,
        delete=m.delete,
        live_count=live,
        watermark=watermark,
        log=f"INSERT INTO {LOAD_LOG.name} ({log_cols}) VALUES ({log_values})",
    )


def guard_plsql(table: Table) -> str:
    """`merger.looks_truncated` in PL/SQL: sets v_truncated from the counts."""
    empty = "FALSE" if table.allow_empty else "TRUE"
    return (
        f"IF v_snapshot = 0 THEN\n"
        f"            v_truncated := {empty};\n"
        f"        ELSIF v_live_before < p_min_rows_for_guard THEN\n"
        f"            v_truncated := FALSE;\n"
        f"        ELSE\n"
        f"            v_truncated := v_pending / v_live_before > p_max_delete_ratio;\n"
        f"        END IF;"
    )


def _r(sql: str) -> str:
    return readable(sql, " " * 12)


def _day(expr: str) -> str:
    return f"TO_CHAR({expr}, 'YYYY-MM-DD')"


def create_procedure_sql(table: Table) -> str:
    """The full CREATE OR REPLACE PROCEDURE text (no trailing `/`)."""
    p = procedure_sql(table)
    name, dw, stg = procedure_name(table), table.dw_name, table.stg_name
    snap = snapshot_table_name(ORACLE, table)
    counts = ", ".join(
        f"v_{n} NUMBER := 0"
        for n in (
            "snapshot",
            "dups",
            "live_before",
            "revived",
            "updated",
            "inserted",
            "pending",
            "deleted",
            "held",
        )
    )
    declare = "\n".join(f"    {c};" for c in counts.split(", "))
    held = (
        f"'held back ' || v_pending || ' deletes of ' || v_live_before || ' live rows: the snapshot of ' "
        f"|| {_day(D)} || ' has ' || v_snapshot || ' rows and looks empty or truncated'"
    )
    return f"""CREATE OR REPLACE PROCEDURE {name} (
    {D} IN DATE,
    {RUN} IN VARCHAR2 DEFAULT 'sql',
    p_max_delete_ratio IN NUMBER DEFAULT 0.5,
    p_min_rows_for_guard IN NUMBER DEFAULT 20,
    p_rebuild IN NUMBER DEFAULT 0
) AS
    -- Generated by `marina-etl sql generate` from the catalog entry {table.system}.{table.source}.
    -- Merge of {stg} into {dw} for one backup date; the caller commits.
    v_started TIMESTAMP := LOCALTIMESTAMP;
    v_status VARCHAR2(20) := 'merged';
    v_message VARCHAR2(4000);
    v_mark DATE;
    v_staged NUMBER := 0;
    v_live NUMBER := 0;
    v_truncated BOOLEAN := FALSE;
{declare}
BEGIN
    BEGIN
        SELECT LAST_BACKUP_DATE INTO v_mark FROM {WATERMARKS.name} WHERE TABLE_NAME = '{dw}';
    EXCEPTION
        WHEN NO_DATA_FOUND THEN v_mark := NULL;
    END;
    SELECT COUNT(*) INTO v_staged FROM {LOAD_LOG.name}
        WHERE TABLE_NAME = '{stg}' AND BACKUP_DATE = {D} AND LAYER = 'STG' AND STATUS = 'loaded';

    IF v_staged = 0 THEN
        v_status := 'no_staging';
        v_message := 'no staged snapshot of {stg} for ' || {_day(D)};
    ELSIF v_mark IS NOT NULL AND {D} < v_mark AND p_rebuild = 0 THEN
        v_status := 'skipped_older';
        v_message := {_day(D)} || ' is older than {dw}''s watermark ' || {_day("v_mark")} || '; not applied';
    ELSE
        -- 1. the deduped snapshot (last record of the file wins); losers to the rejects
        DELETE FROM {snap};
        {_r(p.fill_snapshot)};
        v_snapshot := SQL%ROWCOUNT;
        DELETE FROM MARINA_REJECTS WHERE TABLE_NAME = '{stg}' AND BACKUP_DATE = {D} AND STAGE = 'merge';
        {_r(p.reject_duplicates)};
        v_dups := SQL%ROWCOUNT;
        SELECT COUNT(*) INTO v_live_before FROM {dw} WHERE {audit.IS_DELETED} = 0;

        -- 2. revive keys that come back, update changed rows (NULL-safe), insert new keys
        {_r(p.revive)};
        v_revived := SQL%ROWCOUNT;
        {_r(p.update)};
        v_updated := SQL%ROWCOUNT;
        {_r(p.insert)};
        v_inserted := SQL%ROWCOUNT;

        -- 3. soft-delete keys missing from the snapshot, unless it looks empty or truncated
        {_r(p.pending_deletes)};
        {guard_plsql(table)}
        IF v_pending > 0 AND v_truncated THEN
            v_held := v_pending;
            v_message := {held};
        ELSIF v_pending > 0 THEN
            {_r(p.delete)};
            v_deleted := SQL%ROWCOUNT;
        END IF;
        {_r(p.live_count)};
        DELETE FROM {snap};

        -- 4. the watermark: the latest applied backup date (the date itself when rebuilding)
        {_r(p.watermark)};
    END IF;

    {_r(p.log)};
END {name};"""
