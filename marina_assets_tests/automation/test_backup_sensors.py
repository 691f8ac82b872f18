"""The backup sensors against real stores: moto's S3 server over HTTP, and a local folder.

Each evaluation goes through the real sensor definition with a real Dagster instance; the
cursor is carried from one evaluation to the next as the daemon would store it.
"""

from __future__ import annotations

import os
import time
from datetime import date
from pathlib import Path

import boto3
import dagster as dg
import pytest

from marina_assets.automation.backup_sensors import BACKUP_ETAG_TAG, backup_sensor
from marina_assets.automation.settings import automation_settings
from marina_assets.backups.store import LocalBackupStore
from marina_assets.catalog import system
from marina_assets.sample_data.writers import backup_object_name

pytestmark = pytest.mark.integration
MOLO = system("MOLO")


def evaluate(repo: dg.RepositoryDefinition, instance: dg.DagsterInstance, cursor: str | None):
    sensor = repo.get_sensor_def("molo_backup_sensor")
    with dg.build_sensor_context(instance=instance, cursor=cursor, repository_def=repo) as ctx:
        return sensor.evaluate_tick(ctx)


def name(day: int) -> str:
    return backup_object_name(MOLO, date(2025, 11, day))


def run_sensor_story(put) -> None:
    """The story both stores must tell: first tick, new object, re-upload, same second, restart."""
    from marina_assets.definitions import build_definitions

    repo = build_definitions().get_repository_def()
    with dg.instance_for_test() as instance:
        first = evaluate(repo, instance, None)
        assert first.run_requests == [] and first.cursor  # empty store: a cursor, no run

        put(name(16), b"day 16")
        r = evaluate(repo, instance, first.cursor)
        assert [q.partition_key for q in r.run_requests] == ["2025-11-16"]
        req = r.run_requests[0]
        assert name(16) in req.run_key
        assert req.tags[BACKUP_ETAG_TAG] in req.run_key
        etag_before = req.tags[BACKUP_ETAG_TAG]
        # the arrival is recorded on the backup asset's partition
        assert [e.partition for e in r.asset_events] == ["2025-11-16"]

        # nothing new: no run; a "restart" (fresh context, stored cursor) changes nothing
        again = evaluate(repo, instance, r.cursor)
        assert again.run_requests == []

        # re-upload under the same key: new ETag, loaded again with a new run key
        put(name(16), b"day 16, corrected")
        r2 = evaluate(repo, instance, again.cursor)
        assert [q.partition_key for q in r2.run_requests] == ["2025-11-16"]
        assert r2.run_requests[0].tags[BACKUP_ETAG_TAG] != etag_before
        assert r2.run_requests[0].run_key != req.run_key

        # two objects landing together (same listing second): both dates requested
        put(name(17), b"day 17")
        put(name(18), b"day 18")
        r3 = evaluate(repo, instance, r2.cursor)
        assert sorted(q.partition_key for q in r3.run_requests) == ["2025-11-17", "2025-11-18"]
        assert evaluate(repo, instance, r3.cursor).run_requests == []


def test_sensor_on_s3_through_moto(s3_bucket: str) -> None:
    client = boto3.client("s3", endpoint_url=s3_bucket)

    def put(key: str, body: bytes) -> None:
        client.put_object(Bucket="marina-backups", Key=f"molo/{key}", Body=body)

    run_sensor_story(put)


def test_sensor_on_a_local_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARINA_S3_BUCKET", raising=False)
    monkeypatch.setenv("MARINA_BACKUP_DIR", str(tmp_path))
    (tmp_path / "molo").mkdir()

    written = iter(range(1000))

    def put(key: str, body: bytes) -> None:
        path = tmp_path / "molo" / key
        path.write_bytes(body)
        # settled files (older than the sensor's settle time), each write with its own mtime
        t = time.time() - 60 + next(written)
        os.utime(path, (t, t))

    run_sensor_story(put)


def test_a_file_still_being_copied_into_the_folder_waits_for_the_next_tick(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MARINA_S3_BUCKET", raising=False)
    monkeypatch.setenv("MARINA_BACKUP_DIR", str(tmp_path))
    from marina_assets.definitions import build_definitions

    repo = build_definitions().get_repository_def()
    with dg.instance_for_test() as instance:
        first = evaluate(repo, instance, None)
        path = tmp_path / name(16)
        path.write_bytes(b"partial")  # mtime = now: still settling
        deferred = evaluate(repo, instance, first.cursor)
        assert deferred.run_requests == []
        t = time.time() - 60
        os.utime(path, (t, t))
        ready = evaluate(repo, instance, deferred.cursor)
        assert [q.partition_key for q in ready.run_requests] == ["2025-11-16"]


def test_sensor_targets_the_sources_job_and_is_on_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARINA_SENSOR_INTERVAL_SECONDS", "7")
    sensor = backup_sensor(MOLO, store=LocalBackupStore(root="/nonexistent"), settings=automation_settings())
    assert sensor.job_name == "molo_only"
    assert sensor.minimum_interval_seconds == 7
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def test_a_backup_uploaded_to_s3_becomes_a_run_and_dw_rows(
    s3_bucket: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sensor over moto S3 -> its run request executed as the daemon would -> DW rows."""
    from marina_assets.definitions import build_definitions
    from marina_assets.sample_data import expected_state, generate, write_snapshots

    monkeypatch.setenv("MARINA_HOME", str(tmp_path))
    for var in ("MARINA_WAREHOUSE", "MARINA_DUCKDB_PATH", "MARINA_BACKUP_DIR"):
        monkeypatch.delenv(var, raising=False)
    ns = system("NS")
    defs = build_definitions()
    repo = defs.get_repository_def()
    with dg.instance_for_test() as instance:
        sensor = repo.get_sensor_def("netsuite_backup_sensor")
        with dg.build_sensor_context(instance=instance, repository_def=repo) as ctx:
            first = sensor.evaluate_tick(ctx)
        snaps = list(generate(start=date(2025, 11, 17), days=1, scale=0.02))
        write_snapshots(snaps, "s3://marina-backups/exports", systems=[ns])
        with dg.build_sensor_context(instance=instance, repository_def=repo, cursor=first.cursor) as ctx:
            (req,) = sensor.evaluate_tick(ctx).run_requests
        assert req.partition_key == "2025-11-17" and req.run_key.startswith(
            "exports/netsuite_export_2025-11-17"
        )
        result = defs.resolve_job_def(sensor.job_name).execute_in_process(
            partition_key=req.partition_key, tags=req.tags, instance=instance
        )
        assert result.success
    truth = expected_state(snaps)
    from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse

    with DuckDBWarehouse(tmp_path / "warehouse.duckdb") as wh:
        for t in ns.tables:
            assert wh.fetchall(f"SELECT COUNT(*) FROM {t.dw_name}")[0][0] == len(truth[t.dw_name]), t.dw_name


def test_a_backup_dated_beyond_the_last_partition_waits_until_its_date_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from marina_assets.automation.cursor import SensorCursor
    from marina_assets.definitions import build_definitions

    monkeypatch.delenv("MARINA_S3_BUCKET", raising=False)
    monkeypatch.setenv("MARINA_BACKUP_DIR", str(tmp_path))
    repo = build_definitions().get_repository_def()
    future = tmp_path / backup_object_name(MOLO, date.today() + timedelta(days=3))
    future.write_bytes(b"x")
    t = time.time() - 60
    os.utime(future, (t, t))
    with dg.instance_for_test() as instance:
        first = evaluate(repo, instance, None)
        second = evaluate(repo, instance, first.cursor)
    assert first.run_requests == second.run_requests == []
    assert future.name not in SensorCursor.from_json(second.cursor).seen  # picked up once the date exists
