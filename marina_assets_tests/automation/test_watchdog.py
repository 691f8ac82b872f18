"""Freshness and runtime alerts: the watchdog sensor over a real folder, alerts through aiosmtpd."""

from __future__ import annotations

import os
import time
from pathlib import Path

import dagster as dg
import pytest

from marina_assets.automation.watchdog import CHECK_NAME, WATCHDOG_SENSOR
from marina_assets.catalog import system
from marina_assets.sample_data.writers import backup_object_name
from marina_assets_tests.automation.conftest import SmtpSink

pytestmark = pytest.mark.integration


def test_a_source_without_a_backup_for_24h_turns_stale_and_alerts_once(
    tmp_path: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date

    from marina_assets.definitions import build_definitions

    monkeypatch.delenv("MARINA_S3_BUCKET", raising=False)
    monkeypatch.setenv("MARINA_BACKUP_DIR", str(tmp_path))
    now = time.time()
    for code, age_hours in (("MOLO", 2), ("STELLAR", 30), ("NS", 1)):
        path = tmp_path / backup_object_name(system(code), date(2025, 11, 17))
        path.write_bytes(b"x")
        os.utime(path, (now - age_hours * 3600, now - age_hours * 3600))

    repo = build_definitions().get_repository_def()
    sensor = repo.get_sensor_def(WATCHDOG_SENSOR)
    with dg.instance_for_test() as instance:
        with dg.build_sensor_context(instance=instance, repository_def=repo) as ctx:
            first = sensor.evaluate_tick(ctx)
        states = {e.asset_key.path[0]: e.passed for e in first.asset_events}
        assert states == {"molo": True, "stellar": False, "netsuite": True}
        assert all(e.check_name == CHECK_NAME for e in first.asset_events)
        (alert,) = smtp_sink.messages
        assert "STALE" in str(alert.message["Subject"]) and "Stellar" in str(alert.message["Subject"])
        assert sorted(alert.recipients) == ["cfo@marina.test", "ops@marina.test"]

        # unchanged on the next tick: no new check result, no second alert
        with dg.build_sensor_context(instance=instance, repository_def=repo, cursor=first.cursor) as ctx:
            again = sensor.evaluate_tick(ctx)
        assert again.asset_events == [] and len(smtp_sink.messages) == 1

        # a new Stellar backup arrives: fresh again
        fresh = tmp_path / backup_object_name(system("STELLAR"), date(2025, 11, 18))
        fresh.write_bytes(b"y")
        with dg.build_sensor_context(instance=instance, repository_def=repo, cursor=again.cursor) as ctx:
            back = sensor.evaluate_tick(ctx)
        assert [(e.asset_key.path[0], e.passed) for e in back.asset_events] == [("stellar", True)]
        assert len(smtp_sink.messages) == 1


def test_the_freshness_check_runs_as_an_asset_check(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from datetime import date

    from marina_assets.definitions import build_definitions

    monkeypatch.delenv("MARINA_S3_BUCKET", raising=False)
    monkeypatch.setenv("MARINA_BACKUP_DIR", str(tmp_path))
    (tmp_path / backup_object_name(system("NS"), date(2025, 11, 17))).write_bytes(b"x")
    defs = build_definitions()
    check_keys = [k for k in defs.get_repository_def().asset_graph.asset_check_keys if k.name == CHECK_NAME]
    assert {k.asset_key.path[0] for k in check_keys} == {"molo", "stellar", "netsuite"}
    ns_check = next(k for k in check_keys if k.asset_key.path[0] == "netsuite")
    job = defs.get_implicit_global_asset_job_def().get_subset(asset_check_selection={ns_check})
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    (evaluation,) = result.get_asset_check_evaluations()
    assert evaluation.passed and evaluation.metadata["newest_object"].value.startswith("netsuite_export_")


def test_a_run_over_the_maximum_runtime_alerts_once(
    tmp_path: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.events import DagsterEvent, DagsterEventType
    from dagster._core.test_utils import create_run_for_test

    from marina_assets.definitions import build_definitions

    monkeypatch.delenv("MARINA_S3_BUCKET", raising=False)
    monkeypatch.setenv("MARINA_BACKUP_DIR", str(tmp_path))
    monkeypatch.setenv("MARINA_MAX_BACKUP_AGE_HOURS", "1000000")  # only the runtime rule here
    monkeypatch.setenv("MARINA_MAX_RUNTIME_MINUTES", "0")  # any started run is over the limit
    repo = build_definitions().get_repository_def()
    sensor = repo.get_sensor_def(WATCHDOG_SENSOR)
    with dg.instance_for_test() as instance:
        run = create_run_for_test(instance, job_name="marina_all", status=dg.DagsterRunStatus.STARTED)
        instance.report_dagster_event(
            DagsterEvent(event_type_value=DagsterEventType.RUN_START.value, job_name="marina_all"),
            run_id=run.run_id,
        )
        with dg.build_sensor_context(instance=instance, repository_def=repo) as ctx:
            first = sensor.evaluate_tick(ctx)
        slow = [m for m in smtp_sink.messages if "SLOW" in str(m.message["Subject"])]
        assert len(slow) == 1 and run.run_id in slow[0].message.get_body(("plain",)).get_content()
        with dg.build_sensor_context(instance=instance, repository_def=repo, cursor=first.cursor) as ctx:
            sensor.evaluate_tick(ctx)
        assert len([m for m in smtp_sink.messages if "SLOW" in str(m.message["Subject"])]) == 1
