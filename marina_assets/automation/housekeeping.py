"""Warehouse housekeeping behind the retention and rebuild jobs, on the `Warehouse` interface.

- `prune_staging`: delete STG partitions older than a cutoff and mark their load-log rows
  `pruned`, so a later merge of such a date reports "no staging" instead of reading an empty
  snapshot (which would look like a truncated backup, or delete everything of an allow-empty
  table). DW tables, rejects and the load log history stay.
- `rebuild_source`: reset a source's DW tables and watermarks, then apply every staged date in
  ascending order, as if the daily runs had happened again in sequence. The reset is one
  transaction and each table/date merge is one; a rebuild interrupted half way is finished by
  running it again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from marina_assets.catalog.model import SourceSystem, Table
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.ddl import LOAD_LOG, WATERMARKS
from marina_assets.warehouse.merger import MergePolicy, MergeResult, merge_table
from marina_assets.warehouse.schema import ensure_schema


class RebuildError(RuntimeError):
    pass


@dataclass(frozen=True)
class PruneResult:
    cutoff: date
    rows_deleted: dict[str, int]  # STG table -> rows deleted
    dates_pruned: list[date]


def prune_staging(wh: Warehouse, tables: list[Table], *, cutoff: date) -> PruneResult:
    """Delete every STG row with BACKUP_DATE < cutoff, in one transaction."""
    b = wh.dialect.bind
    present = wh.existing_columns()
    names = [t.stg_name for t in tables if t.stg_name in present]
    deleted: dict[str, int] = {}
    with wh.transaction():
        dates = (
            sorted(
                r[0]
                for r in wh.fetchall(
                    f"SELECT DISTINCT BACKUP_DATE FROM {LOAD_LOG.name} WHERE LAYER = 'STG' "
                    f"AND STATUS = 'loaded' AND BACKUP_DATE < {b('cutoff')}",
                    {"cutoff": cutoff},
                )
            )
            if LOAD_LOG.name in present
            else []
        )
        store = wh.staging_store()
        for t in tables:
            if t.stg_name in names:
                deleted[t.stg_name] = store.prune(t, cutoff)
        if LOAD_LOG.name in present and names:
            wh.execute(
                f"UPDATE {LOAD_LOG.name} SET STATUS = 'pruned' WHERE LAYER = 'STG' AND STATUS = 'loaded' "
                f"AND BACKUP_DATE < {b('cutoff')} AND TABLE_NAME IN "
                f"({', '.join(b(f't{i}') for i in range(len(names)))})",
                {"cutoff": cutoff, **{f"t{i}": n for i, n in enumerate(names)}},
            )
    return PruneResult(cutoff=cutoff, rows_deleted=deleted, dates_pruned=dates)


def staged_dates(wh: Warehouse, system: SourceSystem) -> list[date]:
    """Dates with at least one successfully staged table of the source, oldest first."""
    if LOAD_LOG.name not in wh.existing_columns():
        return []
    rows = wh.fetchall(
        f"SELECT DISTINCT BACKUP_DATE FROM {LOAD_LOG.name} WHERE LAYER = 'STG' AND STATUS = 'loaded' "
        f"AND SOURCE_SYSTEM = {wh.dialect.bind('s')} ORDER BY BACKUP_DATE",
        {"s": system.code},
    )
    return [r[0] for r in rows]


def reset_warehouse(wh: Warehouse, tables: list[Table]) -> None:
    """Empty the DW tables and forget their watermarks (schema and STG untouched)."""
    b = wh.dialect.bind
    ensure_schema(wh, tables)
    with wh.transaction():
        for t in tables:
            wh.execute(f"DELETE FROM {t.dw_name}")
        wh.execute(
            f"DELETE FROM {WATERMARKS.name} WHERE TABLE_NAME IN "
            f"({', '.join(b(f't{i}') for i in range(len(tables)))})",
            {f"t{i}": t.dw_name for i, t in enumerate(tables)},
        )


def rebuild_source(
    wh: Warehouse,
    system: SourceSystem,
    *,
    run_id: str,
    policy: MergePolicy,
    on_merge: Callable[[MergeResult], None] = lambda r: None,
) -> tuple[list[date], dict[str, MergeResult]]:
    """Reset the source's DW and apply every staged date ascending; the last result per table."""
    tables = list(system.tables)
    dates = staged_dates(wh, system)
    if not dates:
        # never empty a DW that cannot be rebuilt: nothing staged (or all pruned by retention)
        raise RebuildError(f"no staged {system.code} backup date to rebuild from; the DW is left as it is")
    reset_warehouse(wh, tables)
    rebuild = MergePolicy(
        max_delete_ratio=policy.max_delete_ratio, min_rows_for_guard=policy.min_rows_for_guard, rebuild=True
    )
    last: dict[str, MergeResult] = {}
    for d in dates:
        for t in tables:
            r = merge_table(wh, t, d, run_id, rebuild)
            on_merge(r)
            last[t.dw_name] = r
    return dates, last
