"""Apply one backup date's STG snapshot of one table to its DW table, in one transaction.

The SQL comes from `merge_sql`; this module adds what SQL alone cannot decide: whether the
snapshot exists, whether it is older than what the DW already holds (watermark), whether its
deletes look like a truncated backup (guard), and the bookkeeping (rejects, log, counts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from marina_assets.catalog.model import Table
from marina_assets.warehouse import pipeline_log
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.merge_sql import merge_statements


@dataclass(frozen=True)
class MergePolicy:
    # hold deletes back when the snapshot would delete more than this share of live rows...
    max_delete_ratio: float = 0.5
    # ...unless the table is this small (a handful of rows may legitimately all change)
    min_rows_for_guard: int = 20
    rebuild: bool = False  # apply even when older than the watermark (DW rebuilt in date order)


@dataclass
class MergeResult:
    table: Table
    backup_date: date
    status: str  # merged | skipped_older | no_staging
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    revived: int = 0
    deletes_held: int = 0
    duplicates: int = 0
    snapshot_rows: int = 0
    live_rows: int = 0  # live DW rows after the merge
    message: str = ""

    def counts(self) -> dict[str, int]:
        return {
            "inserted": self.inserted,
            "updated": self.updated,
            "deleted": self.deleted,
            "revived": self.revived,
            "deletes_held": self.deletes_held,
            "duplicates_rejected": self.duplicates,
            "snapshot_rows": self.snapshot_rows,
            "live_rows": self.live_rows,
        }


def merge_table(
    wh: Warehouse, table: Table, backup_date: date, run_id: str, policy: MergePolicy = MergePolicy()
) -> MergeResult:
    started = datetime.now()
    result = MergeResult(table, backup_date, "merged")
    with wh.transaction():
        mark = pipeline_log.watermark(wh, table)
        if not pipeline_log.staged(wh, table, backup_date):
            result.status = "no_staging"
            result.message = f"no staged snapshot of {table.stg_name} for {backup_date}"
        elif mark is not None and backup_date < mark and not policy.rebuild:
            result.status = "skipped_older"
            result.message = f"{backup_date} is older than {table.dw_name}'s watermark {mark}; not applied"
        else:
            _apply(wh, table, backup_date, run_id, policy, result)
            new_mark = backup_date if policy.rebuild or mark is None else max(mark, backup_date)
            pipeline_log.set_watermark(wh, table, new_mark)
        pipeline_log.log_merge(wh, result, run_id, started)
    return result


def _apply(
    wh: Warehouse, table: Table, backup_date: date, run_id: str, policy: MergePolicy, result: MergeResult
) -> None:
    sql = merge_statements(wh.dialect, table, temp_prefix=wh.temp_table_prefix)
    d = {"backup_date": backup_date}
    wh.execute(sql.drop_snapshot)
    wh.execute(sql.snapshot, d)
    result.snapshot_rows = wh.fetchall("SELECT COUNT(*) FROM MERGE_SNAPSHOT")[0][0]

    losers = wh.fetchall(sql.duplicates, d)
    pipeline_log.clear_rejects(wh, table, backup_date, stage="merge")
    if losers:
        nk = len(table.primary_key)
        pipeline_log.record_rejects(
            wh,
            table,
            backup_date,
            run_id,
            "merge",
            [
                (
                    table.stg_name,
                    row[nk],
                    f"{', '.join(table.primary_key)} = {row[:nk]!r}",
                    f"duplicate key in the snapshot: line {row[nk]} superseded by line {row[nk + 1]}",
                )
                for row in losers
            ],
        )
    result.duplicates = len(losers)

    live_before = wh.fetchall(sql.live_count)[0][0]
    result.revived = wh.execute(sql.revive, d)
    result.updated = wh.execute(sql.update, d)
    result.inserted = wh.execute(sql.insert, d)
    pending = wh.fetchall(sql.pending_deletes)[0][0]
    if pending and _looks_truncated(table, result.snapshot_rows, live_before, pending, policy):
        result.deletes_held = pending
        result.message = (
            f"held back {pending} deletes of {live_before} live rows: the snapshot of {backup_date} "
            f"has {result.snapshot_rows} rows and looks empty or truncated"
        )
    elif pending:
        result.deleted = wh.execute(sql.delete, d)
    result.live_rows = wh.fetchall(sql.live_count)[0][0]
    wh.execute(sql.drop_snapshot)


def _looks_truncated(table: Table, snapshot_rows: int, live: int, pending: int, policy: MergePolicy) -> bool:
    if snapshot_rows == 0:
        return not table.allow_empty
    if live < policy.min_rows_for_guard:
        return False
    return pending / live > policy.max_delete_ratio
