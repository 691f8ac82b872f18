"""Merge semantics on a real DuckDB file: multi-day sequences with known answers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from marina_assets.catalog.model import col, table
from marina_assets.parsing.events import Batch, Finished, TableReport
from marina_assets.parsing.typing import arrow_schema
from marina_assets.staging.loader import load_backup
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse
from marina_assets.warehouse.merger import MergePolicy, merge_table
from marina_assets.warehouse.schema import ensure_schema

T = table(
    "MOLO",
    "Widgets",
    [
        col("Id", "int"),
        col("Name", "str(50)"),
        col("Price", "dec(12,2)"),
        col("Seen", "date"),
        col("Active", "bool"),
    ],
    pk="Id",
)
D0 = date(2025, 11, 1)


def _stage(wh: DuckDBWarehouse, day: date, rows: list[tuple], run: str | None = None) -> None:
    schema = arrow_schema(T)
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in T.columns]
    arrays = [pa.array(list(c), type=f.type) for c, f in zip(cols, schema, strict=False)]
    arrays.append(pa.array(range(2, len(rows) + 2), pa.int64()))
    batch = pa.RecordBatch.from_arrays(arrays, schema=schema)
    events = [Batch(T, batch), Finished(T, TableReport("Widgets.csv", rows_read=len(rows)))]
    load_backup(wh, tables=[T], backup_date=day, run_id=run or f"run-{day}", events=events)


def _dw(wh: DuckDBWarehouse) -> dict[int, tuple]:
    rows = wh.fetchall(
        "SELECT ID, NAME, PRICE, SEEN, ACTIVE, IS_DELETED, DELETED_DATE, CHANGED_BACKUP_DATE "
        "FROM DW_MOLO_WIDGETS"
    )
    return {r[0]: r[1:] for r in rows}


@pytest.fixture()
def wh(tmp_path: Path):
    w = DuckDBWarehouse(tmp_path / "wh.duckdb")
    ensure_schema(w, [T])
    yield w
    w.close()


def test_insert_update_null_flips_delete_revive(wh: DuckDBWarehouse) -> None:
    d1, d2, d3 = D0, D0 + timedelta(1), D0 + timedelta(2)
    _stage(
        wh,
        d1,
        [(1, "a", Decimal("1.00"), D0, True), (2, "b", None, None, False), (3, "c", Decimal("3"), D0, None)],
    )
    r1 = merge_table(wh, T, d1, "r1")
    assert (r1.inserted, r1.updated, r1.deleted, r1.revived) == (3, 0, 0, 0)

    # 1: value -> NULL; 2: NULL -> value; 3 deleted; 4 new
    _stage(
        wh,
        d2,
        [
            (1, None, Decimal("1.00"), D0, True),
            (2, "b", Decimal("2.50"), None, False),
            (4, "d", None, None, None),
        ],
    )
    r2 = merge_table(wh, T, d2, "r2")
    assert (r2.inserted, r2.updated, r2.deleted, r2.revived) == (1, 2, 1, 0)

    # 3 comes back unchanged; 1 unchanged; 2 unchanged; 4 unchanged
    _stage(
        wh,
        d3,
        [
            (1, None, Decimal("1.00"), D0, True),
            (2, "b", Decimal("2.50"), None, False),
            (3, "c", Decimal("3"), D0, None),
            (4, "d", None, None, None),
        ],
    )
    r3 = merge_table(wh, T, d3, "r3")
    assert (r3.inserted, r3.updated, r3.deleted, r3.revived) == (0, 0, 0, 1)

    assert _dw(wh) == {
        1: (None, Decimal("1.00"), D0, True, 0, None, d2),
        2: ("b", Decimal("2.50"), None, False, 0, None, d2),
        3: ("c", Decimal("3.00"), D0, None, 0, None, d3),
        4: ("d", None, None, None, 0, None, d2),
    }


def test_legacy_sentinels_are_ordinary_values(wh: DuckDBWarehouse) -> None:
    # NVL(x, -999999) = NVL(NULL, -999999) made the legacy merge miss these changes
    _stage(wh, D0, [(1, "@#NULL#@", Decimal("-999999"), date(1900, 1, 1), True)])
    merge_table(wh, T, D0, "r1")
    d2 = D0 + timedelta(1)
    _stage(wh, d2, [(1, None, None, None, True)])
    r = merge_table(wh, T, d2, "r2")
    assert r.updated == 1
    assert _dw(wh)[1][:3] == (None, None, None)


def test_soft_deleted_row_keeps_values_and_dates(wh: DuckDBWarehouse) -> None:
    rows = [(i, f"n{i}", Decimal(i), D0, True) for i in range(1, 31)]
    _stage(wh, D0, rows)
    merge_table(wh, T, D0, "r1")
    d2 = D0 + timedelta(1)
    _stage(wh, d2, rows[1:])
    r = merge_table(wh, T, d2, "r2")
    assert r.deleted == 1 and r.live_rows == 29
    assert _dw(wh)[1] == ("n1", Decimal("1.00"), D0, True, 1, d2, d2)


def test_duplicate_keys_last_line_wins_and_losers_are_rejected(wh: DuckDBWarehouse) -> None:
    _stage(
        wh, D0, [(1, "first", None, None, None), (2, "x", None, None, None), (1, "second", None, None, None)]
    )
    r = merge_table(wh, T, D0, "r1")
    assert r.duplicates == 1 and r.inserted == 2
    assert _dw(wh)[1][0] == "second"
    rejects = wh.fetchall("SELECT STAGE, LINE_NUMBER, REASON FROM MARINA_REJECTS")
    assert rejects == [("merge", 2, "duplicate key in the snapshot: line 2 superseded by line 4")]


def test_empty_snapshot_holds_deletes(wh: DuckDBWarehouse) -> None:
    _stage(wh, D0, [(i, "x", None, None, None) for i in range(1, 6)])
    merge_table(wh, T, D0, "r1")
    d2 = D0 + timedelta(1)
    _stage(wh, d2, [])
    r = merge_table(wh, T, d2, "r2")
    assert (r.deleted, r.deletes_held, r.live_rows) == (0, 5, 5)
    assert "looks empty or truncated" in r.message


def test_mass_delete_guard(wh: DuckDBWarehouse) -> None:
    _stage(wh, D0, [(i, "x", None, None, None) for i in range(1, 101)])
    merge_table(wh, T, D0, "r1")
    d2 = D0 + timedelta(1)
    _stage(wh, d2, [(i, "x", None, None, None) for i in range(1, 31)])
    assert merge_table(wh, T, d2, "r2").deletes_held == 70
    d3 = d2 + timedelta(1)
    _stage(wh, d3, [(i, "x", None, None, None) for i in range(1, 31)])
    assert merge_table(wh, T, d3, "r3", MergePolicy(max_delete_ratio=0.9)).deleted == 70


def test_older_backup_is_not_applied_unless_rebuilding(wh: DuckDBWarehouse) -> None:
    d2 = D0 + timedelta(1)
    _stage(wh, D0, [(1, "old", None, None, None)])
    _stage(wh, d2, [(1, "new", None, None, None)])
    merge_table(wh, T, d2, "r2")
    r = merge_table(wh, T, D0, "r1")
    assert r.status == "skipped_older"
    assert _dw(wh)[1][0] == "new"
    assert merge_table(wh, T, D0, "r3", MergePolicy(rebuild=True)).updated == 1
    assert _dw(wh)[1][0] == "old"


def test_rerunning_a_partition_changes_nothing(wh: DuckDBWarehouse) -> None:
    _stage(wh, D0, [(1, "a", None, None, None), (2, "b", None, None, None)])
    merge_table(wh, T, D0, "r1")
    before = _dw(wh)
    _stage(wh, D0, [(1, "a", None, None, None), (2, "b", None, None, None)], run="again")
    r = merge_table(wh, T, D0, "r2")
    assert (r.inserted, r.updated, r.deleted, r.revived) == (0, 0, 0, 0)
    assert _dw(wh) == before
    assert wh.fetchall("SELECT COUNT(*) FROM STG_MOLO_WIDGETS WHERE BACKUP_DATE = $d", {"d": D0}) == [(2,)]


def test_unstaged_date_is_reported_not_merged(wh: DuckDBWarehouse) -> None:
    r = merge_table(wh, T, D0, "r1")
    assert r.status == "no_staging"
    assert wh.fetchall("SELECT COUNT(*) FROM DW_MOLO_WIDGETS") == [(0,)]


def test_failed_merge_rolls_back_whole_table(wh: DuckDBWarehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    _stage(wh, D0, [(1, "a", None, None, None)])
    merge_table(wh, T, D0, "r1")
    d2 = D0 + timedelta(1)
    _stage(wh, d2, [(1, "changed", None, None, None), (2, "new", None, None, None)])
    from marina_assets.warehouse import merger

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("connection dropped")

    monkeypatch.setattr(merger.pipeline_log, "set_watermark", boom)
    with pytest.raises(RuntimeError):
        merge_table(wh, T, d2, "r2")
    assert _dw(wh) == {1: ("a", None, None, None, 0, None, D0)}
