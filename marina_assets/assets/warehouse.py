"""DW assets: one subsettable multi-asset per source system merging STG into every DW_* table.

DW assets backfill with a single-run policy and apply the dates of a run in ascending order;
each DW table depends on its own previous date, so an asset backfill never applies a date before
an older one (STG dates may finish out of order). A 5-day backfill gives exactly the DW of five
sequential daily runs (marina_assets_tests/automation/test_daemon_e2e.py).
"""

from datetime import date
from typing import Any

import dagster as dg

from marina_assets.assets.keys import dw_key, group, stg_key
from marina_assets.assets.metadata import table_metadata
from marina_assets.assets.partitions import BACKUP_DATES
from marina_assets.automation.retries import warehouse_retry
from marina_assets.catalog.model import SourceSystem
from marina_assets.resources import WarehouseResource
from marina_assets.warehouse.ddl import dw_def
from marina_assets.warehouse.merger import MergePolicy, MergeResult, merge_table
from marina_assets.warehouse.schema import ensure_schema

_PREVIOUS_DATE = dg.TimeWindowPartitionMapping(start_offset=-1, end_offset=-1)


class MergeConfig(dg.Config):
    max_delete_ratio: float = 0.5
    rebuild: bool = False


def _metadata(results: list[MergeResult]) -> dict[str, Any]:
    last = results[-1]
    totals = {k: sum(r.counts()[k] for r in results) for k in ("inserted", "updated", "deleted", "revived")}
    meta: dict[str, Any] = {
        "dagster/row_count": last.live_rows,
        **totals,
        "deletes_held": sum(r.deletes_held for r in results),
        "duplicates_rejected": sum(r.duplicates for r in results),
        "dates": ", ".join(f"{r.backup_date}:{r.status}" for r in results),
        # > 1: PostgreSQL helper connections split the classify; 1 after a fallback (see the logs)
        "classify_connections": max(r.classify_connections for r in results),
        # True: the merge used the delta its STG load classified (PostgreSQL, `pg_load_classify`)
        "classified_at_load": any(r.classified_at_load for r in results),
    }
    notes = [r.message for r in results if r.message]
    if notes:
        meta["notes"] = "\n".join(notes)
    return meta


def warehouse_assets(system: SourceSystem, *, warehouse_kind: str) -> dg.AssetsDefinition:
    """`<source>_warehouse`: merge each selected table for each date of the run, oldest first."""
    by_key = {dw_key(system, t): t for t in system.tables}
    specs = [
        dg.AssetSpec(
            key=key,
            # DW of date D follows DW of D-1: an asset backfill then applies its dates oldest first
            # even when the STG partitions finish out of order (the watermark would skip older ones)
            deps=[stg_key(system, t), dg.AssetDep(key, partition_mapping=_PREVIOUS_DATE)],
            description=(t.description or t.source)
            + " Current state with audit columns; keys missing from the latest snapshot are soft-deleted.",
            group_name=group(system, "warehouse"),
            kinds={warehouse_kind, "sql"},
            partitions_def=BACKUP_DATES,
            metadata=table_metadata(t, dw_def(t)),
            tags={"marina/layer": "warehouse", "marina/system": system.code.lower()},
        )
        for key, t in by_key.items()
    ]

    @dg.multi_asset(
        name=f"{system.asset_prefix}_warehouse",
        specs=specs,
        can_subset=True,
        partitions_def=BACKUP_DATES,
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool=f"marina_warehouse_{warehouse_kind}",
        retry_policy=warehouse_retry(),
    )
    def _warehouse(context: dg.AssetExecutionContext, config: MergeConfig, warehouse: WarehouseResource):
        tables = [by_key[k] for k in by_key if k in context.selected_asset_keys]
        dates = sorted(date.fromisoformat(k) for k in context.partition_keys)
        policy = MergePolicy(max_delete_ratio=config.max_delete_ratio, rebuild=config.rebuild)
        per_table: dict[str, list[MergeResult]] = {t.dw_name: [] for t in tables}
        with warehouse.open() as wh:
            ensure_schema(wh, tables)
            for d in dates:
                for t in tables:
                    r = merge_table(wh, t, d, context.run.run_id, policy)
                    per_table[t.dw_name].append(r)
                    if r.status != "merged" or r.deletes_held:
                        context.log.warning(f"{t.dw_name} {d}: {r.status}. {r.message}")
        for t in tables:
            results = per_table[t.dw_name]
            last = results[-1]
            context.log.info(
                f"{t.dw_name} → {last.live_rows:,} records "
                f"(+{sum(r.inserted for r in results)} ~{sum(r.updated for r in results)} "
                f"-{sum(r.deleted for r in results)} revived {sum(r.revived for r in results)})"
            )
            yield dg.MaterializeResult(asset_key=dw_key(system, t), metadata=_metadata(results))

    return _warehouse
