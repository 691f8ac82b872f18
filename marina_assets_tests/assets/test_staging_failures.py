"""Bad input through the real asset graph: clear failures, nothing half-loaded, nothing lost."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from marina_assets.catalog import system
from marina_assets.sample_data import generate, write_backup
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse

pytestmark = pytest.mark.integration
DAY = date(2025, 11, 17)
MOLO = system("MOLO")


@pytest.fixture()
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MARINA_HOME", str(tmp_path))
    for var in ("MARINA_S3_BUCKET", "MARINA_WAREHOUSE", "MARINA_DUCKDB_PATH", "MARINA_BACKUP_DIR"):
        monkeypatch.delenv(var, raising=False)
    (tmp_path / "backups").mkdir()
    return tmp_path


def _run_molo_staging(home: Path) -> dg.ExecuteInProcessResult:
    from marina_assets.definitions import build_definitions

    defs = build_definitions()
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection={
            k for k in defs.resolve_asset_graph().get_all_asset_keys() if k.path[1].startswith("stg_molo")
        }
    )
    return job.execute_in_process(
        partition_key=DAY.isoformat(), instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )


def _failure(result: dg.ExecuteInProcessResult) -> str:
    (event,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    info = event.step_failure_data
    return f"{info.user_failure_data.description if info.user_failure_data else ''} {info.error.message}"


def _boats(home: Path) -> int:
    with DuckDBWarehouse(home / "warehouse.duckdb") as wh:
        return wh.fetchall("SELECT COUNT(*) FROM STG_MOLO_BOATS WHERE BACKUP_DATE = $d", {"d": DAY})[0][0]


def test_missing_backup_fails_naming_source_and_date(home: Path) -> None:
    result = _run_molo_staging(home)
    assert not result.success
    assert f"no MOLO backup for {DAY}" in _failure(result)


def test_corrupt_backup_fails_and_keeps_the_previous_load_of_the_date(home: Path) -> None:
    snap = next(generate(start=DAY, days=1, scale=0.02))
    name, data = write_backup(MOLO, snap)
    (home / "backups" / name).write_bytes(data)
    assert _run_molo_staging(home).success
    before = _boats(home)
    assert before == len(snap.tables["DW_MOLO_BOATS"]) > 0
    # a later object of the same date wins, and it is truncated
    late = name.replace("06-15-00", "23-00-00")
    (home / "backups" / late).write_bytes(data[: len(data) // 2])
    result = _run_molo_staging(home)
    assert not result.success
    assert late in _failure(result)
    assert _boats(home) == before


def test_a_flood_of_bad_rows_fails_that_table_only(home: Path) -> None:
    snap = next(generate(start=DAY, days=1, scale=0.02))
    name, data = write_backup(MOLO, snap)
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for member in src.namelist():
            body = src.read(member)
            if member == "Boats.csv":
                body += b"999999,not,enough\r\n" * 5
            z.writestr(member, body)
    (home / "backups" / name).write_bytes(out.getvalue())
    result = _run_molo_staging(home)
    assert not result.success
    assert "1 MOLO table(s) not staged" in _failure(result)
    materialized = {e.asset_key.path[1] for e in result.get_asset_materialization_events()}
    assert "stg_molo_boats" not in materialized and "stg_molo_slips" in materialized
    with DuckDBWarehouse(home / "warehouse.duckdb") as wh:
        rejects = wh.fetchall("SELECT TABLE_NAME, REASON, COUNT(*) FROM MARINA_REJECTS GROUP BY 1, 2")
        log = wh.fetchall("SELECT STATUS, MESSAGE FROM MARINA_LOAD_LOG WHERE TABLE_NAME = 'STG_MOLO_BOATS'")
    assert (
        rejects[0][0] == "STG_MOLO_BOATS" and rejects[0][2] == 5 and "fields, the header has" in rejects[0][1]
    )
    assert log[0][0] == "failed" and "over the 1.0% limit" in log[0][1]
