"""Merge semantics on real engines (a DuckDB file and the PostgreSQL cluster), known answers."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from marina_assets.catalog.model import col, table
from marina_assets.warehouse import merger
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.merger import MergePolicy, merge_table
from marina_assets.warehouse.schema import ensure_schema
from marina_assets_tests.warehouse.support import T, count, dw, stage

pytestmark = pytest.mark.integration

D0 = date(2025, 11, 1)
D1, D2, D3 = D0 + timedelta(1), D0 + timedelta(2), D0 + timedelta(3)


def _counts(r: merger.MergeResult) -> tuple[int, int, int, int]:
    return (r.inserted, r.updated, r.deleted, r.revived)


def test_insert_update_null_flips_delete_revive(wh: Warehouse) -> None:
    stage(
        wh,
        D0,
        [(1, "a", Decimal("1.00"), D0, True), (2, "b", None, None, False), (3, "c", Decimal("3"), D0, None)],
    )
    assert _counts(merge_table(wh, T, D0, "r1")) == (3, 0, 0, 0)

    # 1: value -> NULL; 2: NULL -> value; 3 deleted; 4 new
    stage(
        wh,
        D1,
        [
            (1, None, Decimal("1.00"), D0, True),
            (2, "b", Decimal("2.50"), None, False),
            (4, "d", None, None, None),
        ],
    )
    assert _counts(merge_table(wh, T, D1, "r2")) == (1, 2, 1, 0)

    # 3 comes back unchanged; the others are unchanged
    stage(
        wh,
        D2,
        [
            (1, None, Decimal("1.00"), D0, True),
            (2, "b", Decimal("2.50"), None, False),
            (3, "c", Decimal("3"), D0, None),
            (4, "d", None, None, None),
        ],
    )
    assert _counts(merge_table(wh, T, D2, "r3")) == (0, 0, 0, 1)

    # 3 comes back a second time after another delete, changed on the way
    stage(wh, D3, [(1, None, Decimal("1.00"), D0, True), (2, "b", Decimal("2.50"), None, False)])
    merge_table(wh, T, D3, "r4")
    d4 = D3 + timedelta(1)
    stage(wh, d4, [(1, None, Decimal("1.00"), D0, False), (3, "c2", Decimal("3"), D0, None)])
    r = merge_table(wh, T, d4, "r5")
    assert _counts(r) == (0, 1, 1, 1)

    assert dw(wh) == {
        1: (None, Decimal("1.00"), D0, False, 0, None, d4),
        2: ("b", Decimal("2.50"), None, False, 1, d4, d4),
        3: ("c2", Decimal("3.00"), D0, None, 0, None, d4),
        4: ("d", None, None, None, 1, D3, D3),
    }


def test_legacy_sentinels_are_ordinary_values(wh: Warehouse) -> None:
    # NVL(x, -999999) = NVL(NULL, -999999) made the legacy merge miss these changes, both ways
    stage(
        wh,
        D0,
        [(1, "@#NULL#@", Decimal("-999999"), date(1900, 1, 1), True), (2, None, None, None, None)],
    )
    merge_table(wh, T, D0, "r1")
    stage(
        wh,
        D1,
        [(1, None, None, None, True), (2, "@#NULL#@", Decimal("-999999"), date(1900, 1, 1), None)],
    )
    r = merge_table(wh, T, D1, "r2")
    assert r.updated == 2
    got = dw(wh)
    assert got[1][:3] == (None, None, None)
    assert got[2][:3] == ("@#NULL#@", Decimal("-999999.00"), date(1900, 1, 1))
    # and a sentinel changing into another real value is a change too
    stage(wh, D2, [(1, None, None, None, True), (2, "@#NULL#@x", Decimal("-999998"), date(1900, 1, 2), None)])
    assert merge_table(wh, T, D2, "r3").updated == 1


def test_soft_deleted_row_keeps_values_and_dates(wh: Warehouse) -> None:
    rows = [(i, f"n{i}", Decimal(i), D0, True) for i in range(1, 31)]
    stage(wh, D0, rows)
    merge_table(wh, T, D0, "r1")
    stage(wh, D1, rows[1:])
    r = merge_table(wh, T, D1, "r2")
    assert r.deleted == 1 and r.live_rows == 29
    assert dw(wh)[1] == ("n1", Decimal("1.00"), D0, True, 1, D1, D1)


def test_duplicate_keys_last_line_wins_and_losers_are_rejected(wh: Warehouse) -> None:
    stage(
        wh,
        D0,
        [
            (1, "first", None, None, None),
            (2, "x", None, None, None),
            (1, "second", None, None, None),
            (1, "third", None, None, None),
        ],
    )
    r = merge_table(wh, T, D0, "r1")
    assert r.duplicates == 2 and r.inserted == 2
    assert dw(wh)[1][0] == "third"
    rejects = wh.fetchall(
        "SELECT STAGE, LINE_NUMBER, RAW_RECORD, REASON FROM MARINA_REJECTS ORDER BY LINE_NUMBER"
    )
    assert rejects == [
        ("merge", 2, "ID = 1", "duplicate key in the snapshot: line 2 superseded by line 5"),
        ("merge", 4, "ID = 1", "duplicate key in the snapshot: line 4 superseded by line 5"),
    ]
    # re-running the date replaces, not duplicates, the merge rejects
    merge_table(wh, T, D0, "r2")
    assert count(wh, "SELECT COUNT(*) FROM MARINA_REJECTS") == 2


def test_empty_snapshot_holds_deletes(wh: Warehouse) -> None:
    stage(wh, D0, [(i, "x", None, None, None) for i in range(1, 6)])
    merge_table(wh, T, D0, "r1")
    stage(wh, D1, [])
    r = merge_table(wh, T, D1, "r2")
    assert (r.deleted, r.deletes_held, r.live_rows) == (0, 5, 5)
    assert "looks empty or truncated" in r.message


def test_empty_snapshot_of_a_table_allowed_to_be_empty_deletes(wh: Warehouse) -> None:
    e = table("MOLO", "Holds", [col("Id", "int"), col("Note", "str(20)")], pk="Id", allow_empty=True)
    ensure_schema(wh, [e])
    stage(wh, D0, [(1, "x"), (2, "y")], tbl=e)
    merge_table(wh, e, D0, "r1")
    stage(wh, D1, [], tbl=e)
    r = merge_table(wh, e, D1, "r2")
    assert (r.deleted, r.deletes_held, r.live_rows) == (2, 0, 0)


def test_mass_delete_guard(wh: Warehouse) -> None:
    stage(wh, D0, [(i, "x", None, None, None) for i in range(1, 101)])
    merge_table(wh, T, D0, "r1")
    stage(wh, D1, [(i, "x", None, None, None) for i in range(1, 31)])
    assert merge_table(wh, T, D1, "r2").deletes_held == 70
    stage(wh, D2, [(i, "x", None, None, None) for i in range(1, 31)])
    assert merge_table(wh, T, D2, "r3", MergePolicy(max_delete_ratio=0.9)).deleted == 70


def test_older_backup_after_newer_replays_staged_history_in_order(wh: Warehouse) -> None:
    day = {
        D0: [(1, "a0", None, None, None), (2, "b0", None, None, None)],
        D1: [(1, "a1", None, None, None), (3, "c1", None, None, None)],
        D2: [(1, "a1", None, None, None), (2, "b2", None, None, None), (3, "c1", None, None, None)],
    }
    for d in (D0, D1, D2):
        stage(wh, d, day[d])
        merge_table(wh, T, d, f"in-order-{d}")
    in_order = dw(wh)

    # a fresh warehouse gets the same backups newest first
    wh.execute("DELETE FROM DW_MOLO_WIDGETS")
    wh.execute("DELETE FROM MARINA_WATERMARKS")
    wh.execute("DELETE FROM MARINA_LOAD_LOG WHERE LAYER = 'DW'")
    for d in (D2, D1, D0):
        r = merge_table(wh, T, d, f"shuffled-{d}")
        assert r.status == ("merged" if d == D2 else "replayed")
    assert dw(wh) == in_order
    assert in_order[2] == ("b2", None, None, None, 0, None, D2)  # deleted on D1, revived on D2


def test_older_backup_is_not_applied_when_history_is_pruned(wh: Warehouse) -> None:
    stage(wh, D0, [(1, "old", None, None, None)])
    merge_table(wh, T, D0, "r0")
    stage(wh, D2, [(1, "new", None, None, None)])
    merge_table(wh, T, D2, "r2")
    wh.execute(f"DELETE FROM STG_MOLO_WIDGETS WHERE BACKUP_DATE = {wh.dialect.bind('d')}", {"d": D0})
    stage(wh, D1, [(1, "middle", None, None, None)])
    r = merge_table(wh, T, D1, "r1")
    assert r.status == "skipped_older"
    assert dw(wh)[1][0] == "new"
    r = merge_table(wh, T, D1, "r3", MergePolicy(rebuild=True))
    assert r.updated == 1 and dw(wh)[1][0] == "middle"


def test_rerunning_a_partition_changes_nothing(wh: Warehouse) -> None:
    stage(wh, D0, [(1, "a", None, None, None), (2, "b", None, None, None)])
    merge_table(wh, T, D0, "r1")
    before = dw(wh)
    stage(wh, D0, [(1, "a", None, None, None), (2, "b", None, None, None)], run="again")
    r = merge_table(wh, T, D0, "r2")
    assert _counts(r) == (0, 0, 0, 0)
    assert dw(wh) == before
    b = wh.dialect.bind
    assert count(wh, f"SELECT COUNT(*) FROM STG_MOLO_WIDGETS WHERE BACKUP_DATE = {b('d')}", d=D0) == 2


def test_unstaged_date_is_reported_not_merged(wh: Warehouse) -> None:
    r = merge_table(wh, T, D0, "r1")
    assert r.status == "no_staging"
    assert count(wh, "SELECT COUNT(*) FROM DW_MOLO_WIDGETS") == 0


def test_failed_merge_rolls_back_whole_table(wh: Warehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    stage(wh, D0, [(1, "a", None, None, None)])
    merge_table(wh, T, D0, "r1")
    stage(wh, D1, [(1, "changed", None, None, None), (2, "new", None, None, None)])

    def boom(*_a: object, **_k: object) -> None:
        raise RuntimeError("connection dropped")

    monkeypatch.setattr(merger.pipeline_log, "set_watermark", boom)
    with pytest.raises(RuntimeError):
        merge_table(wh, T, D1, "r2")
    assert dw(wh) == {1: ("a", None, None, None, 0, None, D0)}
    monkeypatch.undo()
    assert merge_table(wh, T, D1, "r3").inserted == 1


def test_load_log_records_merge_counts(wh: Warehouse) -> None:
    stage(wh, D0, [(1, "a", None, None, None), (2, "b", None, None, None)])
    merge_table(wh, T, D0, "r1")
    stage(wh, D1, [(2, "b2", None, None, None), (3, "c", None, None, None)])
    merge_table(wh, T, D1, "r2")
    rows = wh.fetchall(
        "SELECT STATUS, ROWS_INSERTED, ROWS_UPDATED, ROWS_DELETED, ROWS_REVIVED, ROWS_LIVE "
        f"FROM MARINA_LOAD_LOG WHERE LAYER = 'DW' AND LOAD_RUN_ID = {wh.dialect.bind('r')}",
        {"r": "r2"},
    )
    assert rows == [("merged", 1, 1, 1, 0, 2)]


def test_merge_fails_when_it_applies_other_rows_than_the_delta(
    wh: Warehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    if wh.merges_in_database:
        pytest.skip("Oracle applies the delta in its stored procedure, tested by the Oracle suite")
    stage(wh, D0, [(1, "a", None, None, None)])
    merge_table(wh, T, D0, "r1")
    stage(wh, D1, [(1, "changed", None, None, None), (2, "new", None, None, None)])
    execute = wh.execute

    def row_changes_under_the_classify(sql: str, params: object = None) -> int:
        if sql.startswith("MERGE INTO"):  # key 1 was classified U (live); now it is not
            execute("UPDATE DW_MOLO_WIDGETS SET IS_DELETED = 1 WHERE ID = 1")
        return execute(sql, params)

    monkeypatch.setattr(wh, "execute", row_changes_under_the_classify)
    with pytest.raises(RuntimeError, match=r"applied 1 rows where the delta asked for 2"):
        merge_table(wh, T, D1, "r2")
    monkeypatch.undo()
    assert dw(wh) == {1: ("a", None, None, None, 0, None, D0)}  # the whole table rolled back
    assert count(wh, "SELECT COUNT(*) FROM MARINA_LOAD_LOG WHERE LAYER = 'DW'") == 1
    assert _counts(merge_table(wh, T, D1, "r3")) == (1, 1, 0, 0)
