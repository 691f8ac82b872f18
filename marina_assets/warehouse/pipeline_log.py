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
        "DISTINCT_KEYS": r.distinct_keys if r.status == "loaded" else None,
    }
    _insert(wh, LOAD_LOG.name, row)


def staged_unique_rows(wh: Warehouse, table: Table, backup_date: date) -> int | None:
    """Rows of the date's staged partition when its load found no repeated key; else None.

    A load replaces the date's STG rows and writes its log row in one transaction, so the
    latest `loaded` row describes the rows now staged. None (count them in SQL) when the loader
    did not count, keys repeat, or two loaded rows tie for latest.
    """
    b = wh.dialect.bind
    rows = wh.fetchall(
        f"SELECT ROWS_LOADED, DISTINCT_KEYS, FINISHED_AT FROM {LOAD_LOG.name} WHERE TABLE_NAME = {b('t')} "
        f"AND BACKUP_DATE = {b('d')} AND LAYER = 'STG' AND STATUS = 'loaded' ORDER BY FINISHED_AT DESC",
        {"t": table.stg_name, "d": backup_date},
    )
    if not rows or (len(rows) > 1 and rows[1][2] == rows[0][2]):
        return None
    loaded, distinct = rows[0][0], rows[0][1]
    return int(loaded) if distinct is not None and loaded is not None and distinct == loaded else None


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


def _as_date(v: date | datetime) -> date:
    # Oracle's DATE carries a time of day and comes back as a datetime
    return v.date() if isinstance(v, datetime) else v


def watermark(wh: Warehouse, table: Table) -> date | None:
    rows = wh.fetchall(
        f"SELECT LAST_BACKUP_DATE FROM {WATERMARKS.name} WHERE TABLE_NAME = {wh.dialect.bind('t')}",
        {"t": table.dw_name},
    )
    return _as_date(rows[0][0]) if rows else None


def clear_watermark(wh: Warehouse, table: Table) -> None:
    wh.execute(
        f"DELETE FROM {WATERMARKS.name} WHERE TABLE_NAME = {wh.dialect.bind('t')}", {"t": table.dw_name}
    )


def staged_dates(wh: Warehouse, table: Table) -> set[date]:
    """Dates whose STG partition loaded and still holds its rows (not pruned since)."""
    b = wh.dialect.bind
    latest: dict[date, tuple[datetime, int]] = {}
    for d, finished, loaded in wh.fetchall(
        f"SELECT BACKUP_DATE, FINISHED_AT, ROWS_LOADED FROM {LOAD_LOG.name} "
        f"WHERE TABLE_NAME = {b('t')} AND LAYER = 'STG' AND STATUS = 'loaded'",
        {"t": table.stg_name},
    ):
        d = _as_date(d)
        if d not in latest or finished > latest[d][0]:
            latest[d] = (finished, int(loaded or 0))
    present = {_as_date(r[0]) for r in wh.fetchall(f"SELECT DISTINCT BACKUP_DATE FROM {table.stg_name}")}
    return {d for d, (_, loaded) in latest.items() if d in present or loaded == 0}


def merged_dates(wh: Warehouse, table: Table) -> set[date]:
    rows = wh.fetchall(
        f"SELECT DISTINCT BACKUP_DATE FROM {LOAD_LOG.name} WHERE TABLE_NAME = {wh.dialect.bind('t')} "
        f"AND LAYER = 'DW' AND STATUS = 'merged'",
        {"t": table.dw_name},
    )
    return {_as_date(r[0]) for r in rows}


def last_merge_log(wh: Warehouse, table: Table, backup_date: date, run_id: str) -> dict[str, Any] | None:
    """The MergeResult fields of the newest DW log row of (table, date, run), as written in SQL."""
    b = wh.dialect.bind
    rows = wh.fetchall(
        f"SELECT STATUS, ROWS_INSERTED, ROWS_UPDATED, ROWS_DELETED, ROWS_REVIVED, DELETES_HELD, "
        f"ROWS_REJECTED, ROWS_READ, ROWS_LIVE, MESSAGE, FINISHED_AT FROM {LOAD_LOG.name} "
        f"WHERE TABLE_NAME = {b('t')} AND BACKUP_DATE = {b('d')} AND LOAD_RUN_ID = {b('r')} "
        f"AND LAYER = 'DW'",
        {"t": table.dw_name, "d": backup_date, "r": run_id},
    )
    if not rows:
        return None
    r = max(rows, key=lambda row: row[-1])
    names = ("inserted", "updated", "deleted", "revived", "deletes_held", "duplicates", "snapshot_rows")
    out: dict[str, Any] = {"status": r[0], "message": r[9] or ""}
    out.update({n: int(v or 0) for n, v in zip(names, r[1:8], strict=True)})
    out["live_rows"] = int(r[8] or 0)
    return out


def set_watermark(wh: Warehouse, table: Table, backup_date: date) -> None:
    clear_watermark(wh, table)
    wh.insert_rows(WATERMARKS.name, WATERMARKS.column_names, [(table.dw_name, backup_date, datetime.now())])
