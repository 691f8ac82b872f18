"""Apply one backup date's STG snapshot of one table to its DW table, in one transaction.

The SQL comes from `merge_sql`; this module adds what SQL alone cannot decide: whether the
snapshot exists, whether it is older than what the DW already holds (watermark), whether its
deletes look like a truncated backup (guard), and the bookkeeping (log, counts).

A backup older than the watermark is never applied on top of newer data. When every date ever
merged into the table is still staged, the table is instead *replayed*: emptied and rebuilt
from all staged dates in ascending order, inside the same transaction, so a late backup gives
exactly the DW of an in-order run. When some merged date is no longer staged (pruned), a replay
would lose history, so the late backup is reported as `skipped_older` and not applied.

On Oracle the per-date step runs inside the database as the generated procedure
SP_MERGE_<TABLE> (same statements, same rules — see `oracle_procedures.py`); the decision to
replay and the transaction stay here, written once for every engine.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from marina_assets.catalog.model import Table
from marina_assets.warehouse import pipeline_log
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.merge_delta import DELTA, DELTA_DROP, classify_parts, delta_statements, from_load
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
    status: str  # merged | replayed | skipped_older | no_staging
    inserted: int = 0
    updated: int = 0
    deleted: int = 0
    revived: int = 0
    deletes_held: int = 0
    duplicates: int = 0
    snapshot_rows: int = 0
    live_rows: int = 0  # live DW rows after the merge
    message: str = ""
    classify_connections: int = 1  # connections the classify join ran on (PostgreSQL helpers)
    classified_at_load: bool = False  # the load's delta was used, no classify join ran

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
    # helpers may read under this transaction's snapshot only while it has changed nothing they
    # read: so not inside a caller's transaction, and not in a replay (it empties the DW first)
    split = not wh.in_transaction
    with wh.transaction():
        mark = pipeline_log.watermark(wh, table)
        if mark is not None and backup_date < mark and not policy.rebuild:
            dates = _replay_dates(wh, table, backup_date)
            if dates:
                return _replay(wh, table, backup_date, dates, run_id, policy)
        return apply_date(wh, table, backup_date, run_id, policy, split)


def apply_date(
    wh: Warehouse, table: Table, backup_date: date, run_id: str, policy: MergePolicy, split: bool = False
) -> MergeResult:
    """One date, with the staged / watermark / guard rules; logs itself. Caller holds the txn;
    `split` lets helper connections classify (see `merge_table`)."""
    if wh.merges_in_database:
        return _apply_in_database(wh, table, backup_date, run_id, policy)
    started = datetime.now()
    result = MergeResult(table, backup_date, "merged")
    mark = pipeline_log.watermark(wh, table)
    if not pipeline_log.staged(wh, table, backup_date):
        result.status = "no_staging"
        result.message = f"no staged snapshot of {table.stg_name} for {backup_date}"
    elif mark is not None and backup_date < mark and not policy.rebuild:
        result.status = "skipped_older"
        result.message = f"{backup_date} is older than {table.dw_name}'s watermark {mark}; not applied"
    else:
        _apply(wh, table, backup_date, run_id, policy, result, split)
        new_mark = backup_date if policy.rebuild or mark is None else max(mark, backup_date)
        pipeline_log.set_watermark(wh, table, new_mark)
    pipeline_log.log_merge(wh, result, run_id, started)
    return result


def _apply(
    wh: Warehouse,
    table: Table,
    backup_date: date,
    run_id: str,
    policy: MergePolicy,
    result: MergeResult,
    split: bool,
) -> None:
    sql, delta = merge_statements(wh.dialect, table), delta_statements(wh.dialect, table)
    d = {"backup_date": backup_date}
    _drop_scratch(wh, sql.drop_snapshot, delta.drop)
    pipeline_log.clear_rejects(wh, table, backup_date, stage="merge")
    # cheap when fresh: the classify join is planned with them. STG too: without statistics of
    # the freshly loaded date, PostgreSQL expects a handful of rows, scans every retained date
    # and sorts the snapshot for a merge join instead of hashing it (1M rows: 1.5 s more)
    wh.refresh_statistics(table.dw_name)
    wh.staging_store().refresh_statistics(table, backup_date)
    # the loader counted the keys as it staged them: when none repeats, skip counting in SQL
    keys = pipeline_log.staged_unique_rows(wh, table, backup_date)
    if keys is not None:
        result.classified_at_load = _delta_from_load(wh, table, d, keys)
        if not result.classified_at_load:
            result.classify_connections = _classify_staged(wh, table, d, keys, split)
        if wh.fetchall(delta.repeated_keys):  # STG not as the log says (e.g. two runs' rows)
            wh.execute(delta.drop)
            keys = None
            result.classify_connections, result.classified_at_load = 1, False
    if keys is None:
        keys = _classify_counted(wh, table, backup_date, run_id, result)
    result.snapshot_rows = keys  # after the dedupe: one row per key
    if delta.analyze:
        wh.execute(delta.analyze)
    if delta.confirm:
        wh.execute(delta.confirm)
    actions = {str(a): int(n) for a, n in wh.fetchall(delta.action_counts)}
    pending = actions.get("D", 0)
    # every snapshot key is new, soft-deleted or live; every live key is in the snapshot or pending
    live_before = keys - actions.get("I", 0) - actions.get("R", 0) + pending
    apply_deletes = bool(pending) and not looks_truncated(table, keys, live_before, pending, policy)
    if pending and not apply_deletes:
        result.deletes_held = pending
        result.message = (
            f"held back {pending} deletes of {live_before} live rows: the snapshot of {backup_date} "
            f"has {keys} rows and looks empty or truncated"
        )
    result.revived, result.updated, result.inserted = (actions.get(a, 0) for a in "RUI")
    result.deleted = pending if apply_deletes else 0
    expected = result.revived + result.updated + result.inserted + result.deleted
    if expected:
        applied = wh.execute(delta.apply, {**d, "apply_deletes": apply_deletes})
        if applied != expected:  # a DW row changed under the classify: never log wrong counts
            raise RuntimeError(
                f"MERGE into {table.dw_name} for {backup_date} applied {applied} rows where the delta "
                f"asked for {expected} ({actions}); the merge of the table was rolled back"
            )
    result.live_rows = live_before + result.inserted + result.revived - result.deleted
    _drop_scratch(wh, sql.drop_snapshot, delta.drop)
    # after a bulk change (the first load of a table, a replay) refresh now, not in the next merge
    changed = result.inserted + result.updated + result.revived + result.deleted
    wh.refresh_statistics(table.dw_name, changed)


def _delta_from_load(wh: Warehouse, table: Table, d: dict[str, date], keys: int) -> bool:
    """MERGE_DELTA from the delta the date's load classified, when the DW is still as the load saw
    it (PostgreSQL, `pg_load_classify`) and the delta has all its rows; else False, nothing made."""
    found = wh.load_delta(table, d["backup_date"], keys)
    if found is None:
        return False
    if wh.execute(from_load(wh.dialect, table, found[0]), d) == found[1]:
        return True
    wh.execute(DELTA_DROP)
    return False


def _classify_staged(wh: Warehouse, table: Table, d: dict[str, date], keys: int, split: bool) -> int:
    """Classify the date's STG rows, split by key over several connections where allowed;
    returns how many connections did it."""
    parts = classify_parts(wh.dialect, table, wh.parallel_readers(keys)) if split else None
    if parts is not None and wh.fill_in_parallel(parts[0], DELTA, parts[1], d):
        return len(parts[1])
    wh.execute(delta_statements(wh.dialect, table).classify_staged, d)
    return 1


def _classify_counted(
    wh: Warehouse, table: Table, backup_date: date, run_id: str, result: MergeResult
) -> int:
    """Count keys and rows in SQL; dedupe (rejecting the losers) only when some key repeats."""
    sql, delta = merge_statements(wh.dialect, table), delta_statements(wh.dialect, table)
    d = {"backup_date": backup_date}
    keys, rows = (int(v or 0) for v in wh.fetchall(delta.key_counts, d)[0])
    if rows > keys:  # some key repeats: pay for the window-function dedupe only then
        wh.execute(sql.snapshot, d)
        result.duplicates = max(wh.execute(sql.reject_duplicates, {**d, "run_id": run_id}), 0)
        wh.execute(delta.classify_snapshot)  # no binds: the snapshot table holds one date
    else:
        wh.execute(delta.classify_staged, d)
    return keys


def _drop_scratch(wh: Warehouse, *drops: str | None) -> None:
    for drop in drops:
        if drop:
            wh.execute(drop)


def looks_truncated(table: Table, snapshot_rows: int, live: int, pending: int, policy: MergePolicy) -> bool:
    """The delete guard. `oracle_procedures.guard_plsql` renders this same rule in PL/SQL."""
    if snapshot_rows == 0:
        return not table.allow_empty
    if live < policy.min_rows_for_guard:
        return False
    return pending / live > policy.max_delete_ratio


def _apply_in_database(
    wh: Warehouse, table: Table, backup_date: date, run_id: str, policy: MergePolicy
) -> MergeResult:
    from marina_assets.warehouse.oracle_procedures import call_sql, procedure_name

    wh.execute(
        call_sql(wh.dialect, table),
        {
            "backup_date": backup_date,
            "run_id": run_id,
            "max_delete_ratio": policy.max_delete_ratio,
            "min_rows_for_guard": policy.min_rows_for_guard,
            "rebuild": int(policy.rebuild),
        },
    )
    row = pipeline_log.last_merge_log(wh, table, backup_date, run_id)
    if row is None:
        raise RuntimeError(f"{procedure_name(table)} wrote no load-log row for {backup_date}")
    return MergeResult(table, backup_date, **row)


def _replay_dates(wh: Warehouse, table: Table, late: date) -> list[date]:
    """All staged dates in order when every date ever merged is among them; else []."""
    staged = pipeline_log.staged_dates(wh, table)
    merged = pipeline_log.merged_dates(wh, table)
    if late not in staged or not merged <= staged:
        return []
    return sorted(staged)


def _replay(
    wh: Warehouse, table: Table, late: date, dates: list[date], run_id: str, policy: MergePolicy
) -> MergeResult:
    wh.execute(f"DELETE FROM {table.dw_name}")
    pipeline_log.clear_watermark(wh, table)
    replay_policy = MergePolicy(policy.max_delete_ratio, policy.min_rows_for_guard, rebuild=True)
    results = [apply_date(wh, table, d, run_id, replay_policy) for d in dates]
    mine = next(r for r in results if r.backup_date == late)
    mine.status = "replayed"
    mine.live_rows = results[-1].live_rows
    mine.message = (
        f"{late} arrived after {table.dw_name} had applied {dates[-1]}; rebuilt from the "
        f"{len(dates)} staged dates {dates[0]}..{dates[-1]} in order. {mine.message}"
    ).strip()
    return mine
