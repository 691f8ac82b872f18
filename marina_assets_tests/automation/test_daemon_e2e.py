"""The real `dagster-daemon` with PostgreSQL instance storage: backfill, sensors, pools.

One daemon process (its own process group, stopped by pid even on failure) on a temporary
DAGSTER_HOME whose `dagster.yaml` is `deploy/dagster.yaml` (PostgreSQL storage on the test
cluster, queued runs, pool limit 1) and a temporary MARINA_HOME with DuckDB:

1. an asset backfill of NetSuite's STG + DW over 5 days: STG one run per date, DW one run
   applying the dates ascending; the DW equals five sequential daily runs (the generator's truth);
2. the sensors are switched on with `dagster sensor start`; a new day's NetSuite backup lands
   in the folder; the sensor launches `netsuite_only` for that date and the new DW rows are there.

The five STG runs of the backfill are queued at once and all write the one DuckDB file: the
pool (limit 1) serialises their steps, so none fails on DuckDB's writer lock.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from urllib.parse import urlparse

import dagster as dg
import pytest

from marina_assets.catalog import system
from marina_assets.catalog.audit import CHANGED_BACKUP_DATE, DELETED_DATE, IS_DELETED
from marina_assets.sample_data import ExpectedRow, expected_state, generate, write_snapshots
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse

pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
SCALE = 0.02
DAYS = 6  # 5 backfilled + 1 dropped while the sensors watch
NS = system("NS")
TIMEOUT = 300.0


def wait_for(what: str, done: Callable[[], bool], log: Path, timeout: float = TIMEOUT) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if done():
            return
        time.sleep(1.0)
    tail = log.read_text(errors="replace")[-4000:] if log.exists() else ""
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}\n--- daemon log ---\n{tail}")


def run_failures(instance: dg.DagsterInstance, runs) -> str:
    """The failure messages of the failed runs, for the assertion message."""
    out = []
    for r in runs:
        if r.status != dg.DagsterRunStatus.FAILURE:
            continue
        for e in instance.all_logs(r.run_id):
            ev = e.dagster_event
            if ev and ev.event_type_value in ("STEP_FAILURE", "RUN_FAILURE"):
                data = ev.step_failure_data if ev.event_type_value == "STEP_FAILURE" else None
                error = data.error.to_string() if data and data.error else ""
                out.append(f"{r.job_name} {ev.event_type_value}: {ev.message} {error}"[:3000])
    return "\n".join(out)


def dw_state(wh: DuckDBWarehouse, table) -> dict[tuple, ExpectedRow]:
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


def assert_dw_equals(wh: DuckDBWarehouse, tables, truth) -> None:
    for t in tables:
        got, want = dw_state(wh, t), truth[t.dw_name]
        assert got == want, f"{t.dw_name}: {len(got)} rows, expected {len(want)}"


@pytest.fixture()
def daemon(tmp_path: Path, pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Path, Path]]:
    home, dagster_home = tmp_path / "marina", tmp_path / "dagster_home"
    pg = urlparse(pg_dsn)
    dagster_home.mkdir(parents=True)
    shutil.copy(REPO / "deploy" / "dagster.yaml", dagster_home / "dagster.yaml")
    (tmp_path / "workspace.yaml").write_text(
        "load_from:\n  - python_module:\n      module_name: marina_assets.definitions\n"
        f"      attribute: defs\n      working_directory: {REPO}\n"
    )
    env = {
        "MARINA_HOME": str(home),
        "DAGSTER_HOME": str(dagster_home),
        "DAGSTER_PG_HOST": pg.hostname or "127.0.0.1",
        "DAGSTER_PG_PORT": str(pg.port),
        "DAGSTER_PG_DB": pg.path.lstrip("/"),
        "DAGSTER_PG_USERNAME": pg.username or "postgres",
        "DAGSTER_PG_PASSWORD": "unused-with-trust-auth",
        "MARINA_SENSOR_INTERVAL_SECONDS": "1",
        "MARINA_SENSORS_DEFAULT_STATUS": "stopped",  # phase 1 runs with the sensors off
        "MARINA_RETRY_DELAY_SECONDS": "1",
        "DAGSTER_TELEMETRY_DISABLED": "1",
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    for k in [k for k in os.environ if k.startswith(("MARINA_S3_", "MARINA_SMTP_"))] + [
        "MARINA_WAREHOUSE",
        "MARINA_DUCKDB_PATH",
        "MARINA_BACKUP_DIR",
    ]:
        monkeypatch.delenv(k, raising=False)
    log = tmp_path / "daemon.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "dagster-daemon"), "run", "-w", str(tmp_path / "workspace.yaml")],
            cwd=tmp_path,
            env=dict(os.environ),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the code server and runs go with it
        )
    try:
        yield home, log
    finally:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
        kill_leftovers(str(dagster_home))


def kill_leftovers(marker: str) -> None:
    """Kill, by pid, any process of this test still running on its DAGSTER_HOME (a code server
    orphaned by a CLI): the marker is this test's unique temporary path."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(entry.name), signal.SIGKILL)


def test_backfill_and_sensors_through_the_real_daemon(daemon) -> None:
    from dagster._core.execution.backfill import BulkActionStatus, PartitionBackfill
    from dagster._core.utils import make_new_backfill_id

    from marina_assets.assets.keys import dw_key, stg_key
    from marina_assets.definitions import build_definitions

    home, log = daemon
    start = date.today() - timedelta(days=DAYS - 1)
    snaps = list(generate(start=start, days=DAYS, scale=SCALE))
    backups = home / "backups"
    write_snapshots(snaps[:5], str(backups), systems=[NS])
    days = [s.backup_date.isoformat() for s in snaps]

    instance = dg.DagsterInstance.get()
    repo = build_definitions().get_repository_def()
    keys = [stg_key(NS, t) for t in NS.tables] + [dw_key(NS, t) for t in NS.tables]
    backfill = PartitionBackfill.from_asset_partitions(
        backfill_id=make_new_backfill_id(),
        asset_graph=repo.asset_graph,
        partition_names=days[:5],
        asset_selection=keys,
        backfill_timestamp=time.time(),
        tags={},
        dynamic_partitions_store=instance,
        all_partitions=False,
        title="5-day NetSuite backfill",
        description=None,
        run_config=None,
    )
    instance.add_backfill(backfill)

    def backfill_done() -> bool:
        b = instance.get_backfill(backfill.backfill_id)
        if b.status in (BulkActionStatus.FAILED, BulkActionStatus.CANCELED):
            runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
            raise AssertionError(f"backfill {b.status}: {b.error}\n{run_failures(instance, runs)}")
        return b.status in (BulkActionStatus.COMPLETED_SUCCESS, BulkActionStatus.COMPLETED)

    t0 = time.monotonic()
    wait_for("the 5-day backfill", backfill_done, log)
    print(f"backfill finished in {time.monotonic() - t0:.0f} s")
    runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/backfill": backfill.backfill_id}))
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs)
    with DuckDBWarehouse(home / "warehouse.duckdb") as wh:
        assert_dw_equals(wh, NS.tables, expected_state(snaps[:5]))
        merges = wh.fetchall(
            "SELECT TABLE_NAME, LOAD_RUN_ID, BACKUP_DATE FROM MARINA_LOAD_LOG WHERE LAYER = 'DW' "
            "ORDER BY FINISHED_AT"
        )
        stg_runs = wh.fetchall("SELECT COUNT(DISTINCT LOAD_RUN_ID) FROM MARINA_LOAD_LOG WHERE LAYER = 'STG'")
        skipped = wh.fetchall(
            "SELECT COUNT(*) FROM MARINA_LOAD_LOG WHERE LAYER = 'DW' AND STATUS <> 'merged'"
        )
    # STG: one run per date, in parallel. DW: every table applied each date exactly once, oldest
    # first (the self-dependency orders the runs; each run applies its range ascending), and
    # never an older date after a newer one (no "skipped_older")
    for t in NS.tables:
        applied = [d for name, _, d in merges if name == t.dw_name]
        assert applied == [s.backup_date for s in snaps[:5]], t.dw_name
    dw_runs = {r for _, r, _ in merges}
    print(f"backfill: 5 STG runs, {len(dw_runs)} DW run(s)")
    assert 1 <= len(dw_runs) <= 5
    assert skipped == [(0,)]
    assert stg_runs == [(5,)]

    # phase 2: sensors on (the operator's CLI), a new day's NetSuite backup lands in the folder
    cli = subprocess.Popen(
        [str(BIN / "dagster"), "sensor", "start", "--start-all", "-w", str(log.parent / "workspace.yaml")],
        env=dict(os.environ),
        cwd=log.parent,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        _, err = cli.communicate(timeout=180)
    finally:
        # the CLI's own process group: also any code server it started and left behind
        with contextlib.suppress(ProcessLookupError):
            os.killpg(cli.pid, signal.SIGKILL)
        cli.wait(timeout=30)
    assert cli.returncode == 0, err[-2000:]
    write_snapshots(snaps[5:], str(backups), systems=[NS])

    def sensor_run_done() -> bool:
        runs = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/partition": days[5]}))
        failed = [r for r in runs if r.status == dg.DagsterRunStatus.FAILURE]
        assert not failed, run_failures(instance, failed)
        return any(
            r.job_name == "netsuite_only"
            and r.status == dg.DagsterRunStatus.SUCCESS
            and r.tags.get("dagster/sensor_name") == "netsuite_backup_sensor"
            for r in runs
        )

    t0 = time.monotonic()
    wait_for("the sensor-launched run", sensor_run_done, log)
    print(f"sensor-launched run finished {time.monotonic() - t0:.0f} s after the drop")
    with DuckDBWarehouse(home / "warehouse.duckdb") as wh:
        assert_dw_equals(wh, NS.tables, expected_state(snaps))
        new_rows = wh.fetchall(
            "SELECT COUNT(*) FROM DW_NS_TRANSACTIONS WHERE CHANGED_BACKUP_DATE = $d",
            {"d": snaps[5].backup_date},
        )
    assert new_rows[0][0] > 0
