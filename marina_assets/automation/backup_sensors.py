"""One sensor per source system on the backup store: a new object -> a run of that date.

`<source>_backup_sensor` lists the source's objects (`BackupStore.list_objects`, S3 or the
local folder), lets `cursor.decide` pick the dates whose winning object is new, and requests a
run of `<source>_only` for each such partition. The run key is `<key>@<etag>`: Dagster keeps
run keys forever, so a re-upload (new ETag) gets a new key and runs again, while the same
object is never loaded twice by the sensor. Each new object is also recorded as a
materialization of the source's backup asset, so the UI shows which partitions have arrived
and the freshness check (see `watchdog.py`) knows when the last one did.
"""

from datetime import UTC, datetime, timedelta

import dagster as dg

from marina_assets.assets.jobs import source_job_name
from marina_assets.assets.keys import backup_key
from marina_assets.assets.partitions import BACKUP_DATES
from marina_assets.automation.cursor import SensorCursor, decide
from marina_assets.automation.settings import AutomationSettings
from marina_assets.backups.naming import BackupObject
from marina_assets.backups.store import BackupStore, LocalBackupStore
from marina_assets.catalog.model import SourceSystem

BACKUP_OBJECT_TAG = "marina/backup_object"
BACKUP_ETAG_TAG = "marina/backup_etag"
# A file copied into the local folder grows for a while (S3 objects appear whole): leave files
# younger than this for the next tick, so a half-copied backup is never loaded.
LOCAL_SETTLE = timedelta(seconds=3)


def sensor_name(system: SourceSystem) -> str:
    return f"{system.asset_prefix}_backup_sensor"


def _arrived(system: SourceSystem, obj: BackupObject) -> dg.AssetMaterialization:
    return dg.AssetMaterialization(
        asset_key=backup_key(system),
        partition=obj.backup_date.isoformat(),
        metadata={
            "object": obj.key,
            "etag": obj.etag,
            "bytes": obj.size,
            "last_modified": obj.last_modified.isoformat(),
        },
    )


def backup_sensor(
    system: SourceSystem, *, store: BackupStore, settings: AutomationSettings
) -> dg.SensorDefinition:
    """`<source>_backup_sensor`: request `<source>_only` for each date whose winner is new."""
    window = timedelta(hours=settings.sensor_window_hours)
    settle = LOCAL_SETTLE if isinstance(store, LocalBackupStore) else timedelta(0)

    @dg.sensor(
        name=sensor_name(system),
        job_name=source_job_name(system),
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=(
            dg.DefaultSensorStatus.RUNNING if settings.sensors_running else dg.DefaultSensorStatus.STOPPED
        ),
        description=(
            f"Watches {store.describe()} for new {system.label} backups and loads each new "
            f"backup date; a re-uploaded object (new ETag) is loaded again."
        ),
    )
    def _sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        now = datetime.now(UTC).replace(tzinfo=None)
        first, last = BACKUP_DATES.get_first_partition_key(), BACKUP_DATES.get_last_partition_key()
        objects = []
        for o in store.list_objects(system.code):
            if not first or not last or not first <= o.backup_date.isoformat() <= last:
                # not a partition (yet): left unseen, so it is loaded once its date exists
                context.log.info(f"{o.key}: backup date {o.backup_date} is outside {first} .. {last}")
            elif now - o.last_modified >= settle:
                objects.append(o)
        decision = decide(objects, SensorCursor.from_json(context.cursor), window=window)
        for obj, why in decision.ignored:
            context.log.info(f"{obj.key}: no run, {why}")
        runs = [
            dg.RunRequest(
                run_key=f"{obj.key}@{obj.etag}",
                partition_key=obj.backup_date.isoformat(),
                tags={BACKUP_OBJECT_TAG: obj.key, BACKUP_ETAG_TAG: obj.etag},
            )
            for obj in decision.requests
        ]
        arrived = [_arrived(system, o) for o in decision.requests]
        return dg.SensorResult(
            run_requests=runs,
            asset_events=arrived,
            cursor=decision.cursor.to_json(),
            skip_reason=None if runs else f"no new {system.code} backup in {store.describe()}",
        )

    return _sensor
