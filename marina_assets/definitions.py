"""The code location: assembles the asset graph from the catalog and applies project policy.

Each area contributes a `Definitions` from its own module (`AREAS`); this file only merges them
and provides the shared resources, so adding an area is one line here.
"""

from collections.abc import Callable

import dagster as dg

from marina_assets.assets.backups import BACKUP_IO_MANAGER_KEY, backup_spec
from marina_assets.assets.jobs import jobs
from marina_assets.assets.staging import staging_assets
from marina_assets.assets.warehouse import warehouse_assets
from marina_assets.automation.area import automation_definitions
from marina_assets.backups.io_manager import BackupIOManager
from marina_assets.backups.store import BackupStore, S3BackupStore
from marina_assets.catalog import SYSTEMS
from marina_assets.checks.assets import checks_definitions
from marina_assets.resources import WarehouseResource, backup_store_from_env, warehouse_from_env
from marina_assets.views.assets import views_definitions


def core_definitions(*, store: BackupStore, warehouse: WarehouseResource) -> dg.Definitions:
    """Backups, STG and DW assets for every source system, and the jobs over them."""
    store_kind = "s3" if isinstance(store, S3BackupStore) else "file"
    assets: list[dg.AssetsDefinition | dg.AssetSpec] = []
    for system in SYSTEMS:
        assets.append(backup_spec(system, store_kind=store_kind))
        assets.append(staging_assets(system, warehouse_kind=warehouse.backend))
        assets.append(warehouse_assets(system, warehouse_kind=warehouse.backend))
    return dg.Definitions(assets=assets, jobs=jobs())


# Further areas (views and checks, automation) register here: each is called with the same
# keyword arguments and returns a Definitions without resources.
AREAS: list[Callable[..., dg.Definitions]] = [
    core_definitions,
    automation_definitions,
    views_definitions,
    checks_definitions,
]


def build_definitions() -> dg.Definitions:
    store = backup_store_from_env()
    warehouse = warehouse_from_env()
    resources = {
        "warehouse": warehouse,
        "backup_store": store,
        BACKUP_IO_MANAGER_KEY: BackupIOManager(store=store),
    }
    # DuckDB allows a single writing process per file: run steps in one process there.
    executor = dg.in_process_executor if warehouse.backend == "duckdb" else dg.multiprocess_executor
    parts = [area(store=store, warehouse=warehouse) for area in AREAS]
    return dg.Definitions.merge(*parts, dg.Definitions(resources=resources, executor=executor))


defs = build_definitions()
