"""Op jobs for warehouse maintenance: `marina_retention` and `<source>_rebuild`.

Both hold the warehouse pool (`marina_warehouse_<backend>`) like the asset steps, so they never
contend with a load for DuckDB's single writer. The work itself is in `housekeeping.py`.
"""

from datetime import date, timedelta

import dagster as dg

from marina_assets.assets.keys import dw_key
from marina_assets.automation.housekeeping import RebuildError, prune_staging, rebuild_source
from marina_assets.automation.retries import maintenance_retry
from marina_assets.catalog import SYSTEMS, all_tables
from marina_assets.catalog.model import SourceSystem
from marina_assets.resources import WarehouseResource
from marina_assets.warehouse.merger import MergePolicy

RETENTION_JOB = "marina_retention"


class RetentionConfig(dg.Config):
    keep_days: int = 7  # STG partitions with a backup date older than today - keep_days go


class RebuildConfig(dg.Config):
    max_delete_ratio: float = 0.5


def rebuild_job_name(system: SourceSystem) -> str:
    return f"{system.asset_prefix}_rebuild"


def retention_job(*, warehouse_kind: str) -> dg.JobDefinition:
    @dg.op(name="prune_staging", pool=f"marina_warehouse_{warehouse_kind}", retry_policy=maintenance_retry())
    def _prune(context: dg.OpExecutionContext, config: RetentionConfig, warehouse: WarehouseResource) -> None:
        if config.keep_days < 1:
            raise dg.Failure(f"keep_days must be at least 1, got {config.keep_days}", allow_retries=False)
        cutoff = date.today() - timedelta(days=config.keep_days)
        with warehouse.open() as wh:
            result = prune_staging(wh, list(all_tables()), cutoff=cutoff)
        total = sum(result.rows_deleted.values())
        context.log.info(
            f"deleted {total:,} STG rows older than {cutoff} from {len(result.rows_deleted)} tables"
        )
        context.add_output_metadata(
            {
                "cutoff": cutoff.isoformat(),
                "rows_deleted": total,
                "dates_pruned": ", ".join(d.isoformat() for d in result.dates_pruned) or "none",
            }
        )

    @dg.job(
        name=RETENTION_JOB,
        description="Delete STG partitions older than keep_days (default 7); DW and the load log stay.",
    )
    def _retention() -> None:
        _prune()

    return _retention


def rebuild_job(system: SourceSystem, *, warehouse_kind: str) -> dg.JobDefinition:
    @dg.op(
        name=f"{system.asset_prefix}_rebuild_warehouse",
        pool=f"marina_warehouse_{warehouse_kind}",
        retry_policy=maintenance_retry(),
    )
    def _rebuild(context: dg.OpExecutionContext, config: RebuildConfig, warehouse: WarehouseResource) -> None:
        with warehouse.open() as wh:
            try:
                dates, last = rebuild_source(
                    wh,
                    system,
                    run_id=context.run.run_id,
                    policy=MergePolicy(max_delete_ratio=config.max_delete_ratio),
                )
            except RebuildError as e:
                raise dg.Failure(str(e), allow_retries=False) from e
        context.log.info(
            f"{system.code} DW rebuilt from {len(dates)} staged dates: {dates[0]} .. {dates[-1]}"
        )
        for t in system.tables:
            r = last[t.dw_name]
            context.log_event(
                dg.AssetMaterialization(
                    asset_key=dw_key(system, t),
                    partition=dates[-1].isoformat(),
                    metadata={"dagster/row_count": r.live_rows, "rebuilt_from": f"{dates[0]} .. {dates[-1]}"},
                )
            )

    @dg.job(
        name=rebuild_job_name(system),
        description=(
            f"Reset every {system.label} DW table and its watermark, then apply every staged date in "
            "ascending order (what the STG layer still holds after retention)."
        ),
    )
    def _job() -> None:
        _rebuild()

    return _job


def maintenance_jobs(*, warehouse_kind: str) -> list[dg.JobDefinition]:
    return [retention_job(warehouse_kind=warehouse_kind)] + [
        rebuild_job(s, warehouse_kind=warehouse_kind) for s in SYSTEMS
    ]
