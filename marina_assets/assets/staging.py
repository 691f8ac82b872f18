"""STG assets: one subsettable multi-asset per source system producing every STG_* table.

A run parses the backup once for all selected tables, so selecting 3 tables in the UI loads 3
and a full run is one step per source, not one per table.
"""

from datetime import date
from typing import Any

import dagster as dg

from marina_assets.assets.keys import backup_key, group, stg_key
from marina_assets.assets.metadata import table_metadata
from marina_assets.assets.partitions import BACKUP_DATES
from marina_assets.automation.retries import staging_retry
from marina_assets.backups.io_manager import BackupHandle
from marina_assets.catalog.model import SourceSystem
from marina_assets.parsing import DEFAULT_LIMITS, PARSERS, ArchiveLimits, BackupError
from marina_assets.resources import WarehouseResource
from marina_assets.staging.loader import LoadPolicy, StagedTable, load_backup
from marina_assets.warehouse.ddl import stg_def
from marina_assets.warehouse.schema import ensure_schema


class StagingConfig(dg.Config):
    max_reject_ratio: float = 0.01
    # archive-bomb guards, enforced while decompressing (see marina_assets/parsing/limits.py)
    max_uncompressed_bytes: int = DEFAULT_LIMITS.max_bytes
    max_compression_ratio: float = DEFAULT_LIMITS.max_ratio


def _result_metadata(r: StagedTable, handle: BackupHandle) -> dict[str, Any]:
    return {
        "dagster/row_count": r.rows_loaded,
        "rows_read": r.rows_read,
        "rows_loaded": r.rows_loaded,
        "rows_rejected": r.rows_rejected,
        "missing_columns": ", ".join(r.missing_columns) or "none",
        "extra_columns": ", ".join(r.extra_columns) or "none",
        "backup_object": handle.obj.key,
        "member": r.member,
        "seconds": round(r.seconds, 3),
    }


def staging_assets(system: SourceSystem, *, warehouse_kind: str) -> dg.AssetsDefinition:
    """`<source>_staging`: parse the date's backup and replace each selected STG partition."""
    by_key = {stg_key(system, t): t for t in system.tables}
    specs = [
        dg.AssetSpec(
            key=key,
            deps=[backup_key(system)],
            description=t.description or f"{system.label}: {t.source}, one partition per backup date.",
            group_name=group(system, "staging"),
            kinds={warehouse_kind, "sql"},
            partitions_def=BACKUP_DATES,
            metadata=table_metadata(t, stg_def(t)),
            tags={"marina/layer": "staging", "marina/system": system.code.lower()},
        )
        for key, t in by_key.items()
    ]

    @dg.multi_asset(
        name=f"{system.asset_prefix}_staging",
        specs=specs,
        ins={"backup": dg.AssetIn(backup_key(system))},
        can_subset=True,
        partitions_def=BACKUP_DATES,
        pool=f"marina_warehouse_{warehouse_kind}",
        # no backfill policy: an asset backfill loads each date in a run of its own, in parallel
        # (the pool serialises DuckDB's writer); the DW assets then apply the dates oldest first
        retry_policy=staging_retry(),
    )
    def _staging(
        context: dg.AssetExecutionContext,
        config: StagingConfig,
        warehouse: WarehouseResource,
        backup: BackupHandle,
    ):
        tables = [by_key[k] for k in by_key if k in context.selected_asset_keys]
        backup_date = date.fromisoformat(context.partition_key)
        parse = PARSERS[system.backup_format]
        with warehouse.open() as wh:
            ensure_schema(wh, tables)
            try:
                with backup.open() as stream:
                    results = load_backup(
                        wh,
                        tables=tables,
                        backup_date=backup_date,
                        run_id=context.run.run_id,
                        events=parse(
                            stream,
                            backup.obj.key,
                            tables,
                            limits=ArchiveLimits(
                                max_bytes=config.max_uncompressed_bytes,
                                max_ratio=config.max_compression_ratio,
                            ),
                        ),
                        policy=LoadPolicy(max_reject_ratio=config.max_reject_ratio),
                    )
            except BackupError as e:
                raise dg.Failure(description=str(e), allow_retries=False) from e
        failed = []
        for t in tables:
            r = results[t.stg_name]
            if r.status == "failed":
                failed.append(f"{t.stg_name}: {r.message}")
                continue
            context.log.info(f"{t.stg_name}: {r.rows_loaded:,} rows staged, {r.rows_rejected} rejected")
            yield dg.MaterializeResult(asset_key=stg_key(system, t), metadata=_result_metadata(r, backup))
        if failed:
            raise dg.Failure(
                description=f"{len(failed)} {system.code} table(s) not staged from {backup.obj.key}",
                metadata={"failures": "\n".join(failed)},
                allow_retries=False,
            )

    return _staging
