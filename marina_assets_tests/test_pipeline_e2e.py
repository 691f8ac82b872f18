"""End to end on the embedded default: generated backups -> Dagster runs -> DuckDB DW.

The truth comes from the generator's snapshots folded in plain Python (`expected_state`), not
from the pipeline, so a wrong merge, a lost row or a mistyped value shows up here.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from marina_assets.catalog import SYSTEMS
from marina_assets.catalog.audit import CHANGED_BACKUP_DATE, DELETED_DATE, IS_DELETED
from marina_assets.sample_data import ExpectedRow, change_counts, expected_state, generate, write_snapshots
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse

START = date(2025, 11, 14)
DAYS = 4
SCALE = 0.05

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pipeline_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list, list[str]]]:
    home = tmp_path_factory.mktemp("marina_home")
    mp = pytest.MonkeyPatch()
    mp.setenv("MARINA_HOME", str(home))
    for var in ("MARINA_S3_BUCKET", "MARINA_WAREHOUSE", "MARINA_DUCKDB_PATH", "MARINA_BACKUP_DIR"):
        mp.delenv(var, raising=False)
    snapshots = list(generate(start=START, days=DAYS, scale=SCALE))
    write_snapshots(snapshots, str(home / "backups"))

    from marina_assets.assets.jobs import ALL_JOB
    from marina_assets.definitions import build_definitions

    # STG and DW only: views and asset checks have suites of their own, and ~400 check
    # evaluations per run would triple this test's time without testing the merge further
    defs = build_definitions()
    graph = defs.resolve_asset_graph()
    layers = {f"{s.asset_prefix}_{layer}" for s in SYSTEMS for layer in ("staging", "warehouse")}
    keys = {k for k in graph.get_all_asset_keys() if graph.get(k).group_name in layers}
    job = defs.resolve_job_def(ALL_JOB).get_subset(asset_selection=keys, asset_check_selection=set())
    instance = dg.DagsterInstance.ephemeral()
    run_ids = []
    for i in range(DAYS):
        result = job.execute_in_process(partition_key=(START + timedelta(i)).isoformat(), instance=instance)
        assert result.success
        run_ids.append(result.run_id)
    yield home, snapshots, run_ids
    mp.undo()


def _dw_state(wh: DuckDBWarehouse, table) -> dict[tuple, ExpectedRow]:
    cols = ", ".join((*table.column_names, IS_DELETED, DELETED_DATE, CHANGED_BACKUP_DATE))
    n = len(table.columns)
    key_pos = [table.column_names.index(k) for k in table.primary_key]
    out = {}
    for row in wh.fetchall(f"SELECT {cols} FROM {table.dw_name}"):
        values = tuple(row[:n])
        out[tuple(values[i] for i in key_pos)] = ExpectedRow(
            values=values, is_deleted=bool(row[n]), deleted_date=row[n + 1], changed_backup_date=row[n + 2]
        )
    return out


def test_every_dw_table_equals_the_generators_truth(pipeline_run) -> None:
    home, snapshots, _ = pipeline_run
    truth = expected_state(snapshots)
    with DuckDBWarehouse(home / "warehouse.duckdb") as wh:
        for system in SYSTEMS:
            for table in system.tables:
                got = _dw_state(wh, table)
                want = truth[table.dw_name]
                assert got.keys() == want.keys(), table.dw_name
                diff = [k for k in want if got[k] != want[k]]
                assert not diff, (
                    f"{table.dw_name}: {len(diff)} rows differ, e.g. {got[diff[0]]} != {want[diff[0]]}"
                )


def test_history_exercised_inserts_updates_deletes_and_revivals(pipeline_run) -> None:
    _, snapshots, _ = pipeline_run
    truth = expected_state(snapshots)
    rows = [r for t in truth.values() for r in t.values()]
    assert any(r.is_deleted for r in rows)
    assert any(not r.is_deleted and r.changed_backup_date > START for r in rows)


def test_merge_counts_per_day_match_the_generators_changes(pipeline_run) -> None:
    home, snapshots, run_ids = pipeline_run
    with DuckDBWarehouse(home / "warehouse.duckdb") as wh:
        for i, (snap, run_id) in enumerate(zip(snapshots, run_ids, strict=True)):
            want = change_counts(snapshots[i - 1] if i else None, snap)
            got = {
                r[0]: {"inserted": r[1], "updated": r[2], "deleted": r[3], "revived": r[4]}
                for r in wh.fetchall(
                    "SELECT TABLE_NAME, ROWS_INSERTED, ROWS_UPDATED, ROWS_DELETED, ROWS_REVIVED "
                    "FROM MARINA_LOAD_LOG WHERE LAYER = 'DW' AND LOAD_RUN_ID = $r",
                    {"r": run_id},
                )
            }
            assert got == {
                name: {k: c[k] for k in ("inserted", "updated", "deleted", "revived")}
                for name, c in want.items()
            }


def test_staging_holds_one_partition_per_date_with_every_row(pipeline_run) -> None:
    home, snapshots, _ = pipeline_run
    with DuckDBWarehouse(home / "warehouse.duckdb") as wh:
        for system in SYSTEMS:
            for table in system.tables:
                counts = dict(wh.fetchall(f"SELECT BACKUP_DATE, COUNT(*) FROM {table.stg_name} GROUP BY 1"))
                for snap in snapshots:
                    assert counts.get(snap.backup_date, 0) == len(snap.tables[table.dw_name]), table.stg_name
        assert wh.fetchall("SELECT COUNT(*) FROM MARINA_REJECTS") == [(0,)]
