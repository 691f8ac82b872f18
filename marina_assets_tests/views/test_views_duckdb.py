"""Every view's numbers on DuckDB equal the expectation computed in Python from the generator."""

from __future__ import annotations

import pytest

from marina_assets.views.catalog import VIEWS
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse
from marina_assets_tests.views.compare import differences
from marina_assets_tests.views.expected_views import EXPECTED, Truth


def test_every_view_has_an_independent_expectation() -> None:
    assert sorted(EXPECTED) == sorted(v.name for v in VIEWS)
    assert len(VIEWS) == 21


def test_every_view_equals_its_python_expectation(views_duckdb: DuckDBWarehouse, view_truth: Truth) -> None:
    problems = [p for v in VIEWS for p in differences(views_duckdb, v.name, view_truth)]
    assert not problems, "\n".join(problems)


def test_every_view_has_rows(views_duckdb: DuckDBWarehouse) -> None:
    empty = [v.name for v in VIEWS if views_duckdb.fetchall(f"SELECT COUNT(*) FROM {v.name}") == [(0,)]]
    assert not empty


def test_documented_columns_are_the_engines_columns(views_duckdb: DuckDBWarehouse) -> None:
    for v in VIEWS:
        got = tuple(r[0] for r in views_duckdb.fetchall(f"DESCRIBE {v.name}"))
        assert got == v.column_names, v.name


def test_soft_deleted_rows_are_ignored(views_duckdb: DuckDBWarehouse, view_truth: Truth) -> None:
    # reviving every deleted reservation changes the raw rate view: deleted rows were left out
    before = views_duckdb.fetchall("SELECT COUNT(*) FROM DW_MOLO_RATE_OVER_LINEAR_FOOT")[0][0]
    deleted = views_duckdb.fetchall("SELECT COUNT(*) FROM DW_MOLO_RESERVATIONS WHERE IS_DELETED = 1")[0][0]
    assert deleted > 0
    views_duckdb.execute("UPDATE DW_MOLO_RESERVATIONS SET IS_DELETED = 0")
    after = views_duckdb.fetchall("SELECT COUNT(*) FROM DW_MOLO_RATE_OVER_LINEAR_FOOT")[0][0]
    assert after > before


@pytest.mark.parametrize("name", ["DW_MOLO_DAILY_SLIP_OCCUPANCY_VW", "DW_STELLAR_DAILY_RENTALS_VW"])
def test_daily_views_list_every_day_of_their_span(views_duckdb: DuckDBWarehouse, name: str) -> None:
    day = "CALENDAR_DATE" if "MOLO" in name else "RENTAL_DATE"
    first, last, days = views_duckdb.fetchall(
        f"SELECT MIN({day}), MAX({day}), COUNT(DISTINCT {day}) FROM {name}"
    )[0]
    assert days == (last - first).days + 1


def test_the_comparison_catches_a_wrong_number(views_duckdb: DuckDBWarehouse, view_truth: Truth) -> None:
    views_duckdb.execute(
        "UPDATE DW_STELLAR_BOOKING_PAYMENTS SET AMOUNT = AMOUNT + 1 "
        "WHERE ID = (SELECT MIN(ID) FROM DW_STELLAR_BOOKING_PAYMENTS "
        "WHERE STATUS = 'captured' AND IS_DELETED = 0)"
    )
    assert differences(views_duckdb, "DW_STELLAR_DAILY_RENTALS_VW", view_truth)
