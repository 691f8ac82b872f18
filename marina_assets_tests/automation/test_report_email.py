"""The report email through a real SMTP server (aiosmtpd): real runs, real load log, real mail."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from marina_assets.automation.report_sensors import FAILURE_SENSOR, SUCCESS_SENSOR
from marina_assets.catalog import system
from marina_assets.sample_data import generate, write_snapshots
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse
from marina_assets_tests.automation.conftest import SmtpSink

pytestmark = pytest.mark.integration
NS = system("NS")
START = date(2025, 11, 14)


@pytest.fixture()
def marina_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.setenv("MARINA_HOME", str(tmp_path))
    for var in ("MARINA_S3_BUCKET", "MARINA_WAREHOUSE", "MARINA_DUCKDB_PATH", "MARINA_BACKUP_DIR"):
        monkeypatch.delenv(var, raising=False)
    write_snapshots(list(generate(start=START, days=2, scale=0.02)), str(tmp_path / "backups"), systems=[NS])
    yield tmp_path


def run_and_report(partition: str, *, failure: bool = False) -> tuple[dg.ExecuteInProcessResult, object]:
    from marina_assets.definitions import build_definitions

    defs = build_definitions()
    repo = defs.get_repository_def()
    with dg.instance_for_test() as instance:
        result = defs.resolve_job_def("netsuite_only").execute_in_process(
            partition_key=partition, instance=instance, raise_on_error=False
        )
        assert result.success is not failure
        event = result.get_run_failure_event() if failure else result.get_run_success_event()
        ctx = dg.build_run_status_sensor_context(
            sensor_name=FAILURE_SENSOR if failure else SUCCESS_SENSOR,
            dagster_event=event,
            dagster_instance=instance,
            dagster_run=result.dagster_run,
            repository_def=repo,
        )
        sensor = repo.get_sensor_def(FAILURE_SENSOR if failure else SUCCESS_SENSOR)
        returned = sensor(ctx.for_run_failure() if failure else ctx)
    return result, returned


def test_success_report_has_recipients_subject_both_parts_and_counts(
    marina_home: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARINA_SMTP_ATTACH_BACKUPS", "true")
    result, _ = run_and_report(START.isoformat())

    (got,) = smtp_sink.messages
    assert sorted(got.recipients) == ["cfo@marina.test", "ops@marina.test"]
    assert got.envelope_from == "etl@marina.test"
    msg = got.message
    assert (
        str(msg["Subject"]).strip()
        == "[Resilient Marina ETL] Processing Complete - 2025-11-14 (netsuite_only)"
    )
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()

    with DuckDBWarehouse(marina_home / "warehouse.duckdb") as wh:
        rows = wh.fetchall(
            "SELECT TABLE_NAME, ROWS_LIVE, ROWS_INSERTED, ROWS_UPDATED, ROWS_DELETED FROM MARINA_LOAD_LOG "
            "WHERE LAYER = 'DW' AND LOAD_RUN_ID = $r",
            {"r": result.run_id},
        )
        live = {
            t.dw_name: wh.fetchall(f"SELECT COUNT(*) FROM {t.dw_name} WHERE NOT IS_DELETED")[0][0]
            for t in NS.tables
        }
    assert len(rows) == len(NS.tables)
    assert all(r[2] == r[1] for r in rows) and any(r[2] for r in rows)  # day one: every row inserted
    for name, n_live, ins, upd, dele in rows:
        assert n_live == live[name]
        line = (
            f"{name} → {n_live:,} records (inserted {ins:,}, updated {upd:,}, deleted {dele:,}, rejected 0)"
        )
        assert line in text
        assert f"{name} &rarr; {n_live:,} records" in html
    assert "NetSuite" in text and "#1e7e34" in html  # green: every table OK

    # the backup of the date is attached, byte for byte; the password is nowhere
    attached = {
        p.get_filename(): p.get_content() for p in msg.walk() if p.get_content_disposition() == "attachment"
    }
    (backup,) = [p for p in (marina_home / "backups").rglob("netsuite_export_2025-11-14*")]
    assert attached == {backup.name: backup.read_bytes()}
    assert smtp_sink.logins == [("etl@marina.test", "s3cr3t-pw")]
    assert "s3cr3t-pw" not in msg.as_string()


def test_failure_report_names_the_file_and_reason_and_respects_the_size_cap(
    marina_home: Path, smtp_sink: SmtpSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARINA_SMTP_ATTACH_BACKUPS", "true")
    monkeypatch.setenv("MARINA_SMTP_ATTACH_MAX_MB", "0.00001")
    monkeypatch.setenv("MARINA_SMTP_SUBJECT_PREFIX", "[Marina TEST]")
    bad = marina_home / "backups" / "netsuite_export_2025-11-16_06-00-00.zip"
    bad.write_bytes(b"PK\x03\x04 this is not a zip archive")  # 30 bytes > the 10-byte cap
    host = os.environ["MARINA_SMTP_HOST"]
    monkeypatch.delenv("MARINA_SMTP_HOST")
    _, returned = run_and_report("2025-11-16", failure=True)  # no SMTP configured: no email
    assert isinstance(returned, dg.SkipReason) and "MARINA_SMTP_HOST" in (returned.skip_message or "")
    assert smtp_sink.messages == []
    monkeypatch.setenv("MARINA_SMTP_HOST", host)
    run_and_report("2025-11-16", failure=True)

    (got,) = smtp_sink.messages
    msg = got.message
    assert str(msg["Subject"]).strip() == "[Marina TEST] Processing FAILED - 2025-11-16 (netsuite_only)"
    text = msg.get_body(preferencelist=("plain",)).get_content()
    html = msg.get_body(preferencelist=("html",)).get_content()
    assert "FAILURE" in text and bad.name in text
    assert bad.name in html and "#c82333" in html  # red
    assert [p for p in msg.walk() if p.get_content_disposition() == "attachment"] == []
    assert "backups not attached" in text and bad.name in text
