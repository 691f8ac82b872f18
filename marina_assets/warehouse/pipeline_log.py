"""Writes to the pipeline's own tables: the load log, the rejects and the watermarks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from marina_assets.catalog.model import Table
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.ddl import LOAD_LOG, REJECTS, WATERMARKS

if TYPE_CHECKING:
    from marina_assets.staging.loader import StagedTable
    from marina_assets.warehouse.merger import MergeResult


def log_staging(wh: Warehouse, r: StagedTable, backup_date: date, run_id: str, started: datetime) -> None:
    row = {
        "LOAD_RUN_ID": run_id,
        "SOURCE_SYSTEM": r.table.system,
        "TABLE_NAME": r.table.stg_name,
        "BACKUP_DATE": backup_date,
        "LAYER": "STG",
        "STATUS": r.status,
        "ROWS_READ": r.rows_read,
        "ROWS_LOADED": r.rows_loaded,
        "ROWS_REJECTED": r.rows_rejected,
        "STARTED_AT": started,
        "FINISHED_AT": datetime.now(),
        "MESSAGE": r.message[:4000] or None,
    }
    _insert(wh, LOAD_LOG.name, row)


def log_merge(wh: Warehouse, m: MergeResult, run_id: str, started: datetime) -> None:
    row = {
        "LOAD_RUN_ID": run_id,
        "SOURCE_SYSTEM": m.table.system,
        "TABLE_NAME": m.table.dw_name,
        "BACKUP_DATE": m.backup_date,
        "LAYER": "DW",
        "STATUS": m.status,
        "ROWS_READ": m.snapshot_rows,
        "ROWS_LOADED": m.inserted + m.updated + m.revived,
        "ROWS_REJECTED": m.duplicates,
        "ROWS_INSERTED": m.inserted,
        "ROWS_UPDATED": m.updated,
        "ROWS_DELETED": m.deleted,
        "ROWS_REVIVED": m.revived,
        "DELETES_HELD": m.deletes_held,
        "ROWS_LIVE": m.live_rows if m.status == "merged" else None,
        "STARTED_AT": started,
        "FINISHED_AT": datetime.now(),
        "MESSAGE": m.message[:4000] or None,
    }
    _insert(wh, LOAD_LOG.name, row)


def _insert(wh: Warehouse, table_name: str, row: dict[str, Any]) -> None:
    wh.insert_rows(table_name, list(row), [list(row.values())])


def clear_rejects(wh: Warehouse, table: Table, backup_date: date, *, stage: str) -> None:
    b = wh.dialect.bind
    wh.execute(
        f"DELETE FROM {REJECTS.name} WHERE TABLE_NAME = {b('t')} AND BACKUP_DATE = {b('d')} "
        f"AND STAGE = {b('s')}",
        {"t": table.stg_name, "d": backup_date, "s": stage},
    )


def record_rejects(
    wh: Warehouse,
    table: Table,
    backup_date: date,
    run_id: str,
    stage: str,
    rejects: Sequence[tuple[str, int | None, str, str]],  # member, line, raw, reason
) -> None:
    now = datetime.now()
    rows = [
        (table.system, table.stg_name, backup_date, stage, member[:400], line, raw, reason, run_id, now)
        for member, line, raw, reason in rejects
    ]
    wh.insert_rows(REJECTS.name, REJECTS.column_names, rows)


def staged(wh: Warehouse, table: Table, backup_date: date) -> bool:
    """Whether a load of this table's STG partition for the date has succeeded."""
    b = wh.dialect.bind
    rows = wh.fetchall(
        f"SELECT COUNT(*) FROM {LOAD_LOG.name} WHERE TABLE_NAME = {b('t')} AND BACKUP_DATE = {b('d')} "
        f"AND LAYER = 'STG' AND STATUS = 'loaded'",
        {"t": table.stg_name, "d": backup_date},
    )
    return bool(rows[0][0])


def watermark(wh: Warehouse, table: Table) -> date | None:
    rows = wh.fetchall(
        f"SELECT LAST_BACKUP_DATE FROM {WATERMARKS.name} WHERE TABLE_NAME = {wh.dialect.bind('t')}",
        {"t": table.dw_name},
    )
    return rows[0][0] if rows else None


def set_watermark(wh: Warehouse, table: Table, backup_date: date) -> None:
    wh.execute(
        f"DELETE FROM {WATERMARKS.name} WHERE TABLE_NAME = {wh.dialect.bind('t')}", {"t": table.dw_name}
    )
    wh.insert_rows(WATERMARKS.name, WATERMARKS.column_names, [(table.dw_name, backup_date, datetime.now())])
