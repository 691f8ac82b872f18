"""The automation area of the code location: sensors, schedule, maintenance jobs, checks.

Registered in `marina_assets/definitions.py` (`AREAS`); it contributes no resources: sensors
get the backup store and warehouse they watch as arguments, the asset checks and maintenance
ops use the shared `backup_store` / `warehouse` resources.
"""

import dagster as dg

from marina_assets.automation.backup_sensors import backup_sensor
from marina_assets.automation.maintenance import maintenance_jobs
from marina_assets.automation.report_sensors import report_sensors
from marina_assets.automation.schedules import daily_schedule
from marina_assets.automation.settings import automation_settings
from marina_assets.automation.watchdog import freshness_checks, watchdog_sensor
from marina_assets.backups.store import BackupStore
from marina_assets.catalog import SYSTEMS
from marina_assets.resources import WarehouseResource


def automation_definitions(*, store: BackupStore, warehouse: WarehouseResource) -> dg.Definitions:
    settings = automation_settings()
    sensors = [backup_sensor(s, store=store, settings=settings) for s in SYSTEMS]
    sensors += report_sensors(store=store, warehouse=warehouse, settings=settings)
    sensors.append(watchdog_sensor(store=store, settings=settings))
    return dg.Definitions(
        sensors=sensors,
        schedules=[daily_schedule(settings)],
        jobs=maintenance_jobs(warehouse_kind=warehouse.backend),
        asset_checks=freshness_checks(settings),
    )
