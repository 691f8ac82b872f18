"""View and calendar checks pass on the generated truth and fail on each injected fault."""

from __future__ import annotations

from datetime import date

from marina_assets.checks import views as vw
from marina_assets.views.catalog import VIEWS, view
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse


def _all(wh: DuckDBWarehouse) -> dict[str, bool]:
    out = {
        "calendar": vw.calendar_covers_data(wh).passed,
        "occupancy": vw.occupancy_between_0_and_100(wh).passed,
        "revenue": vw.revenue_equals_booking_payments(wh).passed,
        "journal": vw.debits_equal_credits(wh).passed,
        "report": vw.totals_equal_type_views(wh).passed,
    }
    out.update({f"counts {v.name}": vw.counts_not_negative(wh, v).passed for v in VIEWS if v.count_columns})
    return out


def _failing(wh: DuckDBWarehouse) -> set[str]:
    return {name for name, ok in _all(wh).items() if not ok}


def test_every_view_check_passes_on_the_generated_data(views_duckdb: DuckDBWarehouse) -> None:
    assert _failing(views_duckdb) == set()


def test_occupancy_over_100_percent_fails_the_occupancy_check(views_duckdb: DuckDBWarehouse) -> None:
    # boats stay in slips that are then marked inactive: one active slip left per pier
    views_duckdb.execute(
        "UPDATE DW_MOLO_SLIPS SET IS_ACTIVE = FALSE "
        "WHERE ID NOT IN (SELECT MIN(ID) FROM DW_MOLO_SLIPS GROUP BY PIER_ID)"
    )
    outcome = vw.occupancy_between_0_and_100(views_duckdb)
    assert not outcome.passed and outcome.metadata["worst_pct"] > 100
    assert _failing(views_duckdb) == {"occupancy"}


def test_an_unbalanced_journal_fails_the_journal_check(views_duckdb: DuckDBWarehouse) -> None:
    views_duckdb.execute(
        "UPDATE DW_NS_TRANSACTION_ACCT_LINES SET DEBIT = COALESCE(DEBIT, 0) + 10 WHERE ID = ("
        "SELECT MIN(a.ID) FROM DW_NS_TRANSACTION_ACCT_LINES a JOIN DW_NS_TRANSACTIONS t "
        "ON t.ID = a.TRANSACTION AND t.TRAN_TYPE = 'Journal' AND t.IS_DELETED = 0 WHERE a.IS_DELETED = 0)"
    )
    outcome = vw.debits_equal_credits(views_duckdb)
    assert not outcome.passed and outcome.metadata["unbalanced"] == 1
    assert _failing(views_duckdb) == {"journal"}


def test_bookings_lost_by_the_view_fail_the_revenue_check(views_duckdb: DuckDBWarehouse) -> None:
    # a location deleted upstream: the view drops its days, the payments still count them
    views_duckdb.execute(
        "UPDATE DW_STELLAR_LOCATIONS SET IS_DELETED = 1 WHERE ID = (SELECT MIN(b.LOCATION_ID) "
        "FROM DW_STELLAR_BOOKINGS b JOIN DW_STELLAR_BOOKING_PAYMENTS p ON p.BOOKING_ID = b.ID "
        "WHERE p.STATUS = 'captured' AND p.IS_DELETED = 0 AND b.IS_DELETED = 0)"
    )
    assert "revenue" in _failing(views_duckdb)


def test_a_type_missing_from_the_report_fails_the_report_check(views_duckdb: DuckDBWarehouse) -> None:
    views_duckdb.execute("UPDATE DW_NS_TRANSACTION_TYPES SET IS_DELETED = 1 WHERE CODE = 'Journal'")
    outcome = vw.totals_equal_type_views(views_duckdb)
    assert not outcome.passed and set(outcome.metadata) == {"Journal"}


def test_a_negative_count_fails_the_count_check(views_duckdb: DuckDBWarehouse) -> None:
    # a broken view definition: replace the slip counts by a copy with one negative count
    views_duckdb.execute("CREATE TABLE SLIP_COUNT_COPY AS SELECT * FROM DW_MOLO_DAILY_SLIP_COUNT_VW")
    views_duckdb.execute(
        "UPDATE SLIP_COUNT_COPY SET AVAILABLE_SLIPS = -1 WHERE CALENDAR_DATE = "
        "(SELECT MIN(CALENDAR_DATE) FROM SLIP_COUNT_COPY)"
    )
    views_duckdb.execute(
        "CREATE OR REPLACE VIEW DW_MOLO_DAILY_SLIP_COUNT_VW AS SELECT * FROM SLIP_COUNT_COPY"
    )
    outcome = vw.counts_not_negative(views_duckdb, view("DW_MOLO_DAILY_SLIP_COUNT_VW"))
    assert not outcome.passed and outcome.metadata["AVAILABLE_SLIPS"] > 0
    assert outcome.metadata["TOTAL_SLIPS"] == 0


def test_a_calendar_gap_or_short_range_fails_the_calendar_check(views_duckdb: DuckDBWarehouse) -> None:
    views_duckdb.execute(
        "DELETE FROM DW_CALENDAR WHERE CALENDAR_DATE = (SELECT MIN(CALENDAR_DATE) + 10 FROM DW_CALENDAR)"
    )
    assert "misses 1 day" in vw.calendar_covers_data(views_duckdb).description
    views_duckdb.execute(
        "DELETE FROM DW_CALENDAR WHERE CALENDAR_DATE < (SELECT MIN(CALENDAR_DATE) + 11 FROM DW_CALENDAR)"
    )
    views_duckdb.execute(
        "UPDATE DW_MOLO_RESERVATIONS SET ARRIVAL_DATE = $d WHERE ID = "
        "(SELECT MIN(ID) FROM DW_MOLO_RESERVATIONS)",
        {"d": date(2001, 1, 1)},
    )
    outcome = vw.calendar_covers_data(views_duckdb)
    assert not outcome.passed and "2001-01-01" in outcome.description
