"""A process killed with SIGKILL in the middle of a load or a merge leaves the previous state.

The child (`crash_child.py`) signals through a file once it is inside its transaction and then
blocks; the parent kills it and inspects the warehouse. No sleeps, no timing assumptions.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from marina_assets.warehouse.merger import merge_table
from marina_assets.warehouse.schema import ensure_schema
from marina_assets_tests.warehouse.support import T, dw, open_warehouse, stage

pytestmark = pytest.mark.integration

D0, D1 = date(2025, 11, 1), date(2025, 11, 2)
ROOT = Path(__file__).resolve().parents[2]


def _run_child_until_inside(phase: str, backend: dict, tmp_path: Path, day: date) -> None:
    sync = tmp_path / f"{phase}.sync"
    target = str(backend.get("path") or backend["dsn"])
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "marina_assets_tests.warehouse.crash_child",
            phase,
            backend["kind"],
            target,
            str(sync),
            day.isoformat(),
        ],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # wait for the child's signal file, or for the child to die without writing it
        while not sync.exists():
            try:
                child.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"child exited early: {child.stderr.read().decode()[-2000:]}")
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
    assert child.returncode == -signal.SIGKILL


def test_killed_load_keeps_the_dates_previous_rows(backend: dict, tmp_path: Path) -> None:
    with open_warehouse(**backend) as wh:
        ensure_schema(wh, [T])
        stage(wh, D0, [(1, "old", None, None, None), (2, "old", None, None, None)])
    _run_child_until_inside("load", backend, tmp_path, D0)
    with open_warehouse(**backend) as wh:
        rows = wh.fetchall("SELECT ID, NAME, LOAD_RUN_ID FROM STG_MOLO_WIDGETS ORDER BY ID")
        assert rows == [(1, "old", f"run-{D0}"), (2, "old", f"run-{D0}")]
        # and the next load of the date succeeds normally
        stage(wh, D0, [(3, "again", None, None, None)], run="retry")
        assert wh.fetchall("SELECT ID, LOAD_RUN_ID FROM STG_MOLO_WIDGETS") == [(3, "retry")]


def _kill_the_merge_then_rerun_it(backend: dict, tmp_path: Path, phase: str) -> None:
    """Kill the merge of D1 in `phase` (see crash_child): the DW and the watermark stay D0's, and
    the merge then runs again normally (through the helpers for merge_split)."""
    with open_warehouse(**backend) as wh:
        ensure_schema(wh, [T])
        stage(wh, D0, [(1, "a", None, None, None), (2, "b", None, None, None)])
        merge_table(wh, T, D0, "r0")
        before = dw(wh)
        stage(wh, D1, [(1, "changed", None, None, None), (3, "new", None, None, None)])
    _run_child_until_inside(phase, backend, tmp_path, D1)
    split = phase == "merge_split"
    with open_warehouse(**backend) as wh:
        assert dw(wh) == before
        assert wh.fetchall("SELECT LAST_BACKUP_DATE FROM MARINA_WATERMARKS") == [(D0,)]
        if split:
            wh.readers.min_rows = 0  # type: ignore[attr-defined]
        r = merge_table(wh, T, D1, "r1")
        assert (r.inserted, r.updated, r.deleted) == (1, 1, 1)
        if split:  # new helpers: the dead process's hold nothing
            assert wh.readers.runs == 1 and r.classify_connections == 2  # type: ignore[attr-defined]


def test_killed_merge_leaves_the_dw_as_before(backend: dict, tmp_path: Path) -> None:
    _kill_the_merge_then_rerun_it(backend, tmp_path, "merge")


def test_killed_split_classify_leaves_the_dw_as_before(pg_dsn: str, tmp_path: Path) -> None:
    """PostgreSQL: killed while its helper connections hold the merge's snapshot."""
    _kill_the_merge_then_rerun_it({"kind": "postgres", "dsn": pg_dsn}, tmp_path, "merge_split")
