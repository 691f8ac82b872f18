"""The row hash (PostgreSQL): a fast "unchanged" test that never changes what the merge does.

Equal hash => unchanged; an unequal or NULL hash is confirmed column by column, so rows staged
before the column existed, or hashed by another function, never count as updates.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pyarrow as pa
import pytest

from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.merger import merge_table
from marina_assets.warehouse.row_hash import RowHasher
from marina_assets_tests.warehouse.support import T, batch_of, dw, stage

D0, D1, D2 = date(2025, 11, 1), date(2025, 11, 2), date(2025, 11, 3)
ROWS = [
    (1, "a", Decimal("1.00"), date(2025, 1, 1), True),
    (2, "b", None, None, None),
    (3, "c", Decimal("3.50"), date(2025, 1, 3), False),
]


def test_hash_is_deterministic_and_sees_every_value_column() -> None:
    h = RowHasher()
    try:
        first = h.hashes(T, batch_of(T, ROWS)).to_pylist()
        assert first == RowHasher().hashes(T, batch_of(T, ROWS)).to_pylist()  # a new connection
        assert len(set(first)) == 3
        for i, changed in enumerate(
            [
                (1, "a ", Decimal("1.00"), date(2025, 1, 1), True),  # trailing blank
                (1, "a", None, date(2025, 1, 1), True),  # value -> NULL
                (1, "a", Decimal("1.00"), date(2025, 1, 2), True),
                (1, "a", Decimal("1.00"), date(2025, 1, 1), None),
            ]
        ):
            assert h.hashes(T, batch_of(T, [changed])).to_pylist()[0] != first[0], i
        # the key is not hashed: the join compares it anyway
        assert h.hashes(T, batch_of(T, [(99, *ROWS[0][1:])])).to_pylist()[0] == first[0]
        # a column missing from the file is hashed as the NULL it is stored as
        full = batch_of(T, [(2, "b", None, None, None)])
        no_price = full.drop_columns(["PRICE"])
        assert h.hashes(T, no_price).to_pylist() == h.hashes(T, full).to_pylist()
        assert h.hashes(T, full).type == pa.int64()
    finally:
        h.close()


@pytest.fixture()
def pg(wh: Warehouse) -> Warehouse:
    if not wh.dialect.row_hash:
        pytest.skip("the row hash is PostgreSQL's")
    return wh


def _dw_hashes(wh: Warehouse) -> dict[int, int | None]:
    return dict(wh.fetchall(f"SELECT ID, ROW_HASH FROM {T.dw_name}"))


def test_stg_and_dw_carry_the_hash(pg: Warehouse) -> None:
    stage(pg, D0, ROWS)
    merge_table(pg, T, D0, "r0")
    staged = dict(pg.fetchall(f"SELECT ID, ROW_HASH FROM {T.stg_name}"))
    assert None not in staged.values()
    assert _dw_hashes(pg) == staged


def test_one_changed_column_updates_and_a_rerun_updates_nothing(pg: Warehouse) -> None:
    stage(pg, D0, ROWS)
    merge_table(pg, T, D0, "r0")
    changed = [ROWS[0], (2, "b", None, date(2025, 2, 2), None), ROWS[2]]  # NULL -> value in one column
    stage(pg, D1, changed)
    r = merge_table(pg, T, D1, "r1")
    assert (r.updated, r.inserted, r.deleted) == (1, 0, 0)
    assert dw(pg)[2] == ("b", None, date(2025, 2, 2), None, 0, None, D1)
    rerun = merge_table(pg, T, D1, "r1-again")
    assert (rerun.updated, rerun.inserted, rerun.deleted, rerun.revived) == (0, 0, 0, 0)


def test_null_or_foreign_hash_is_compared_exactly(pg: Warehouse) -> None:
    """Rows merged before the hash existed (NULL) or hashed differently: no spurious update."""
    stage(pg, D0, ROWS)
    merge_table(pg, T, D0, "r0")
    before = dw(pg)
    pg.execute(f"UPDATE {T.dw_name} SET ROW_HASH = NULL WHERE ID = 1")
    pg.execute(f"UPDATE {T.dw_name} SET ROW_HASH = ROW_HASH + 1 WHERE ID = 2")  # another function
    stage(pg, D1, [ROWS[0], ROWS[1], (3, "c", Decimal("3.51"), date(2025, 1, 3), False)])
    pg.execute(f"UPDATE {T.stg_name} SET ROW_HASH = NULL WHERE ID = 3")  # staged without a hash
    r = merge_table(pg, T, D1, "r1")
    assert (r.updated, r.inserted, r.deleted) == (1, 0, 0)  # only the real change, found exactly
    after = dw(pg)
    assert after[1] == before[1] and after[2] == before[2]  # untouched, audit columns included
    assert after[3][1] == Decimal("3.51") and after[3][-1] == D1
    # the confirmed-equal rows took the snapshot's hash: the next merge skips them by hash
    staged = dict(pg.fetchall(f"SELECT ID, ROW_HASH FROM {T.stg_name} WHERE BACKUP_DATE = %(d)s", {"d": D1}))
    hashes = _dw_hashes(pg)
    assert hashes[1] == staged[1] and hashes[2] == staged[2]


def test_skips_the_replace_delete_only_when_no_other_run_staged_the_date(wh: Warehouse) -> None:
    stage(wh, D0, ROWS, run="first")
    stage(wh, D0, ROWS[:1], run="second")  # a re-load replaces the date's rows
    assert wh.fetchall(f"SELECT ID, LOAD_RUN_ID FROM {T.stg_name}") == [(1, "second")]
    stage(wh, D2, ROWS[1:], run="third")  # another date: left alone
    assert sorted(wh.fetchall(f"SELECT ID, LOAD_RUN_ID FROM {T.stg_name}")) == [
        (1, "second"),
        (2, "third"),
        (3, "third"),
    ]
