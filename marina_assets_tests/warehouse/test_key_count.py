"""The loader tells the merge whether a key repeats; the merge checks it and falls back if not."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest

from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.merger import merge_table
from marina_assets.warehouse.pipeline_log import staged_unique_rows
from marina_assets_tests.warehouse.support import T, dw, stage

pytestmark = pytest.mark.integration

D0 = date(2025, 11, 1)


def test_loader_records_distinct_keys_only_when_no_key_repeats(wh: Warehouse) -> None:
    unique = stage(wh, D0, [(1, "a", None, None, None), (2, "b", None, None, None)])
    assert unique.distinct_keys == 2
    assert staged_unique_rows(wh, T, D0) == 2

    D1 = date(2025, 11, 2)
    repeated = stage(wh, D1, [(1, "a", None, None, None), (1, "b", None, None, None)])
    assert repeated.distinct_keys is None
    assert staged_unique_rows(wh, T, D1) is None
    r = merge_table(wh, T, D0, "m0")
    assert (r.inserted, r.duplicates, r.snapshot_rows) == (2, 0, 2)
    r = merge_table(wh, T, D1, "m1")
    assert (r.duplicates, r.snapshot_rows) == (1, 1)
    assert dw(wh)[1][0] == "b"  # the later line wins


def test_merge_dedupes_when_staged_rows_repeat_a_key_the_log_says_is_unique(wh: Warehouse) -> None:
    stage(wh, D0, [(1, "a", Decimal("1"), None, None), (2, "b", None, None, None)])
    # rows of another run for the same date (not how the loader leaves STG, but possible by hand)
    wh.insert_rows(
        T.stg_name,
        [*T.column_names, "SOURCE_LINE", "BACKUP_DATE", "LOAD_RUN_ID", "LOADED_AT"],
        [(1, "a2", Decimal("2"), None, None, 9, D0, "by-hand", datetime(2025, 11, 1))],
    )
    r = merge_table(wh, T, D0, "m0")
    assert (r.inserted, r.duplicates, r.snapshot_rows) == (2, 1, 2)
    assert dw(wh)[1][:2] == ("a2", Decimal("2.00"))


@pytest.mark.parametrize(
    "chunks",
    [
        [[3, 1, 2], [5, -4]],  # unique across chunks, negative
        [[3, 1, 2], [2, 7]],  # a repeat across chunks
        [[None, 1], [2, None]],  # two NULLs: one value, as in GROUP BY
        [[None], [1, 2]],
        [[], []],
        [[9, 9, 9]],
    ],
)
def test_integer_keys_are_counted_as_count_distinct_does(chunks: list[list[int | None]]) -> None:
    import pyarrow as pa
    import pyarrow.compute as pc

    from marina_assets.staging.loader import _distinct_integers

    column = pa.chunked_array(chunks, type=pa.int64())
    assert _distinct_integers(column) == pc.count_distinct(column, mode="all").as_py()
