"""Retention and rebuild jobs on a real DuckDB file, after real daily runs."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from marina_assets.automation.housekeeping import RebuildError, rebuild_source
from marina_assets.catalog import system
from marina_assets.catalog.audit import CHANGED_BACKUP_DATE, DELETED_DATE, IS_DELETED
from marina_assets.sample_data import expected_state, generate, write_snapshots
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse
from marina_assets.warehouse.merger import MergePolicy, merge_table

pytestmark = pytest.mark.integration
NS = system("NS")
DAYS = 3


@pytest.fixture(scope="module")
def loaded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list, dg.Definitions]]:
    """Three days of NetSuite, ending today, loaded by three daily runs of `netsuite_only`."""
    home = tmp_path_factory.mktemp("marina_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("MARINA_HOME", str(home))
    for var in ("MARINA_S3_BUCKET", "MARINA_WAREHOUSE", "MARINA_DUCKDB_PATH", "MARINA_BACKUP_DIR"):
        mp.delenv(var, raising=False)
    snaps = list(generate(start=date.today() - timedelta(days=DAYS - 1), days=DAYS, scale=0.02))
    write_snapshots(snaps, str(home / "backups"), systems=[NS])
    from marina_assets.definitions import build_definitions

    defs = build_definitions()
    job = defs.resolve_job_def("netsuite_only")
    instance = dg.DagsterInstance.ephemeral()
    for s in snaps:
        assert job.execute_in_process(partition_key=s.backup_date.isoformat(), instance=instance).success
    yield home, snaps, defs
    mp.undo()


def dw_rows(wh: DuckDBWarehouse, table) -> set[tuple]:
    cols = ", ".join((*table.column_names, IS_DELETED, DELETED_DATE, CHANGED_BACKUP_DATE))
    return set(wh.fetchall(f"SELECT {cols} FROM {table.dw_name}"))


def test_rebuild_resets_and_replays_every_staged_date_in_order(loaded) -> None:
    home, snaps, defs = loaded
    db = home / "warehouse.duckdb"
    with DuckDBWarehouse(db) as wh:
        before = {t.dw_name: dw_rows(wh, t) for t in NS.tables}
        # damage the DW: a rebuild must not depend on what is there
        wh.execute("DELETE FROM DW_NS_ACCOUNTS")
        wh.execute("UPDATE DW_NS_TRANSACTIONS SET IS_DELETED = TRUE")
    result = defs.resolve_job_def("netsuite_rebuild").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    with DuckDBWarehouse(db) as wh:
        assert {t.dw_name: dw_rows(wh, t) for t in NS.tables} == before
        truth = expected_state(snaps)
        assert {t.dw_name: len(before[t.dw_name]) for t in NS.tables} == {
            t.dw_name: len(truth[t.dw_name]) for t in NS.tables
        }
        order = wh.fetchall(
            "SELECT BACKUP_DATE FROM MARINA_LOAD_LOG WHERE LAYER = 'DW' AND LOAD_RUN_ID = $r "
            "ORDER BY FINISHED_AT",
            {"r": result.run_id},
        )
        marks = set(
            wh.fetchall("SELECT LAST_BACKUP_DATE FROM MARINA_WATERMARKS WHERE TABLE_NAME LIKE 'DW_NS_%'")
        )
    dates = [r[0] for r in order]
    assert dates == sorted(dates) and sorted(set(dates)) == [s.backup_date for s in snaps]
    assert marks == {(snaps[-1].backup_date,)}
    mats = result.asset_materializations_for_node("netsuite_rebuild_warehouse")
    assert len(mats) == len(NS.tables) and {m.partition for m in mats} == {snaps[-1].backup_date.isoformat()}


def test_retention_prunes_old_staging_partitions_and_merges_then_report_no_staging(loaded) -> None:
    home, snaps, defs = loaded
    result = defs.resolve_job_def("marina_retention").execute_in_process(
        run_config={"ops": {"prune_staging": {"config": {"keep_days": 1}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    assert result.success
    oldest = snaps[0].backup_date  # today - 2: older than today - 1
    with DuckDBWarehouse(home / "warehouse.duckdb") as wh:
        for t in NS.tables:
            dates = {r[0] for r in wh.fetchall(f"SELECT DISTINCT BACKUP_DATE FROM {t.stg_name}")}
            assert oldest not in dates
            assert dates == {s.backup_date for s in snaps[1:] if s.tables[t.dw_name]}
        assert wh.fetchall(
            "SELECT DISTINCT STATUS FROM MARINA_LOAD_LOG WHERE LAYER = 'STG' AND BACKUP_DATE = $d",
            {"d": oldest},
        ) == [("pruned",)]
        before = dw_rows(wh, NS.tables[0])
        # re-merging a pruned date is "no staging", never an empty snapshot deleting the table
        r = merge_table(wh, NS.tables[0], oldest, "manual", MergePolicy(rebuild=True))
        assert r.status == "no_staging" and dw_rows(wh, NS.tables[0]) == before


def test_rebuild_with_nothing_staged_leaves_the_dw_alone(tmp_path: Path) -> None:
    with DuckDBWarehouse(tmp_path / "w.duckdb") as wh, pytest.raises(RebuildError, match="no staged NS"):
        rebuild_source(wh, NS, run_id="r", policy=MergePolicy())
