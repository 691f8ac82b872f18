"""Backups materialized through the real Dagster CLI in shuffled date order, then a partition
re-run, give the DW of the in-order run — on DuckDB and on PostgreSQL.

The in-order DW is the generator's truth (`expected_state`), which `test_pipeline_e2e.py` shows
an in-order run reproduces. Small on purpose (NetSuite only, scale 0.02, 3 days): every CLI call
starts a fresh Python process and costs seconds.
"""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from marina_assets.catalog import system
from marina_assets.catalog.audit import CHANGED_BACKUP_DATE, DELETED_DATE, IS_DELETED
from marina_assets.sample_data import ExpectedRow, expected_state, generate, write_snapshots
from marina_assets_tests.warehouse.support import open_warehouse

pytestmark = pytest.mark.integration

START = date(2025, 11, 14)
DAYS = 3
ORDER = [2, 0, 1, 0]  # newest first, then the oldest, then the middle; then the oldest again
ROOT = Path(__file__).resolve().parents[2]
NS = system("NS")


# PostgreSQL runs the multiprocess executor (definitions.py): a forkserver with the code
# location preloaded makes each step start in milliseconds instead of re-importing everything
FORKSERVER = (
    '{"execution": {"config": {"start_method": {"forkserver": '
    '{"preload_modules": ["marina_assets.definitions"]}}}}}'
)


def _materialize(env: dict[str, str], day: date) -> None:
    extra = ["--config-json", FORKSERVER] if env.get("MARINA_WAREHOUSE") == "postgres" else []
    cmd = [
        str(Path(sys.executable).with_name("dagster")),
        "asset",
        "materialize",
        "-m",
        "marina_assets.definitions",
        "--select",
        "group:netsuite_staging or group:netsuite_warehouse",
        "--partition",
        day.isoformat(),
        *extra,
    ]
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]


def _dw_state(wh, table) -> dict[tuple, ExpectedRow]:
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


def _stream_partitions(wh) -> int:
    """STG partitions of the NetSuite tables COPYed by a second stream (tables of 2+ batches)."""
    return wh.fetchall(
        "SELECT COUNT(*) FROM pg_class WHERE relispartition AND relname LIKE 'stg\\_ns\\_%\\_s1'"
    )[0][0]


def _classify_connections(dagster_home: Path) -> dict[str, int]:
    """The most connections any merge of each DW asset classified on (materialization metadata)."""
    import dagster as dg

    from marina_assets.assets.keys import dw_key

    out = {}
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        for table in NS.tables:
            records = instance.fetch_materializations(dw_key(NS, table), limit=100).records
            out[table.dw_name] = max(
                r.asset_materialization.metadata["classify_connections"].value  # type: ignore[union-attr]
                for r in records
            )
    return out


# "postgres-fast-paths": batches of 5 rows, the split classify from 1 key and the load's classify
# from a 1-row DW, so that the small sample tables take the paths a million-row table takes (COPY
# streams, helper connections, the delta classified at load time)
@pytest.mark.parametrize("kind", ["duckdb", "postgres", "postgres-fast-paths"])
def test_shuffled_dates_and_rerun_equal_the_in_order_dw(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    snapshots = list(generate(start=START, days=DAYS, scale=0.02))
    write_snapshots(snapshots, str(tmp_path / "backups"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MARINA_", "DAGSTER_"))}
    env.update(MARINA_HOME=str(tmp_path), DAGSTER_HOME=str(tmp_path / "dagster_home"))
    (tmp_path / "dagster_home").mkdir()
    target: dict = {"kind": kind, "path": tmp_path / "warehouse.duckdb"}
    if kind.startswith("postgres"):
        dsn = request.getfixturevalue("pg_dsn")
        env.update(MARINA_WAREHOUSE="postgres", MARINA_POSTGRES_DSN=dsn)
        target = {"kind": "postgres", "dsn": dsn}
    if kind == "postgres-fast-paths":
        env.update(
            MARINA_BATCH_ROWS="5",
            MARINA_POSTGRES_SPLIT_MIN_ROWS="1",
            MARINA_POSTGRES_PRECLASSIFY_MIN_ROWS="1",
        )

    for i in ORDER:
        _materialize(env, START + timedelta(i))

    truth = expected_state(snapshots)
    preclassified: set[str] = set()
    with open_warehouse(**target) as wh:
        for table in NS.tables:
            got, want = _dw_state(wh, table), truth[table.dw_name]
            assert got.keys() == want.keys(), table.dw_name
            diff = [k for k in want if got[k] != want[k]]
            assert not diff, (
                f"{table.dw_name}: {len(diff)} rows differ, e.g. {got[diff[0]]} != {want[diff[0]]}"
            )
        deleted = sum(r.is_deleted for t in NS.tables for r in truth[t.dw_name].values())
        assert deleted, "the history must include deletes for this test to mean anything"
        marks = {r[0] for r in wh.fetchall("SELECT LAST_BACKUP_DATE FROM MARINA_WATERMARKS")}
        assert marks == {START + timedelta(DAYS - 1)}
        if kind == "postgres-fast-paths":
            assert _stream_partitions(wh) > 0
        if kind.startswith("postgres"):
            # the loads after the first date classified against a DW that their merges then found
            # changed (each was a replay): the DW above is right because they classified again
            preclassified = {r[0] for r in wh.fetchall("SELECT TABLE_NAME FROM MARINA_PRECLASSIFIED")}
    if kind.startswith("postgres"):
        split = {t for t, n in _classify_connections(tmp_path / "dagster_home").items() if n > 1}
        # every NetSuite table but the one with a two-column key, when the thresholds allow it
        assert len(split) == (11 if kind == "postgres-fast-paths" else 0), split
        assert (
            (preclassified and preclassified <= split) if kind == "postgres-fast-paths" else not preclassified
        )
