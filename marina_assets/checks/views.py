"""Checks on the analytic views and the calendar: what a wrong dashboard would show first.

All are ERROR (a wrong number on a dashboard is an error); none blocks, as nothing is
downstream of a view except the occupancy view, which reads the slip counts it checks too.
The calendar check is blocking: a calendar that misses days makes daily views drop them.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from marina_assets.checks.model import CheckDef, Outcome
from marina_assets.views.calendar import CALENDAR, data_range
from marina_assets.views.catalog import NS_TYPE_VIEWS, View, ns_type_view_name
from marina_assets.warehouse.backend import Warehouse

OCCUPANCY_VIEW = "DW_MOLO_DAILY_SLIP_OCCUPANCY_VW"
RENTALS_VIEW = "DW_STELLAR_DAILY_RENTALS_VW"
JOURNAL_VIEW = ns_type_view_name("JOURNAL")
REPORT_VIEW = "DW_NS_X_FIN_REPORT_V"

CALENDAR_COVERS = CheckDef(
    "covers_data_dates",
    "ERROR",
    True,
    "DW_CALENDAR has every day, without gaps, from the earliest to the latest date the daily views read.",
)
OCCUPANCY = CheckDef("occupancy_between_0_and_100", "ERROR", False, "OCCUPANCY_PCT is between 0 and 100.")
COUNTS = CheckDef("counts_not_negative", "ERROR", False, "No count column of the view is negative.")
REVENUE = CheckDef(
    "revenue_equals_booking_payments",
    "ERROR",
    False,
    "Each day's REVENUE equals the captured live payments of the bookings departing that day, "
    "summed straight from DW_STELLAR_BOOKING_PAYMENTS.",
)
JOURNAL = CheckDef(
    "debits_equal_credits", "ERROR", False, "Every journal entry's GL debits equal its credits."
)
REPORT = CheckDef(
    "totals_equal_type_views",
    "ERROR",
    False,
    "Per transaction type, the report's count, total, debits and credits equal the sums of its type view.",
)


def _d(value: Any) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def calendar_covers_data(wh: Warehouse) -> Outcome:
    first, last, days = wh.fetchall(
        f"SELECT MIN(CALENDAR_DATE), MAX(CALENDAR_DATE), COUNT(DISTINCT CALENDAR_DATE) FROM {CALENDAR.name}"
    )[0]
    low, high = data_range(wh)
    if first is None:
        return Outcome(False, f"{CALENDAR.name} is empty")
    first, last = _d(first), _d(last)
    meta = {"first_date": first.isoformat(), "last_date": last.isoformat(), "days": int(days)}
    gaps = (last - first).days + 1 - int(days)
    if gaps:
        return Outcome(False, f"{CALENDAR.name} misses {gaps} day(s) between {first} and {last}", meta)
    if low is not None and (low < first or high > last):
        return Outcome(False, f"data spans {low} .. {high}, the calendar only {first} .. {last}", meta)
    return Outcome(True, f"{CALENDAR.name}: {days} days, {first} .. {last}", meta)


def occupancy_between_0_and_100(wh: Warehouse) -> Outcome:
    bad, worst = wh.fetchall(
        f"SELECT COUNT(*), MAX(OCCUPANCY_PCT) FROM {OCCUPANCY_VIEW} "
        "WHERE OCCUPANCY_PCT < 0 OR OCCUPANCY_PCT > 100"
    )[0]
    if bad:
        return Outcome(
            False,
            f"{bad} marina night(s) with occupancy outside 0-100% (up to {worst}%): occupied slips marked "
            "inactive, or a broken view",
            {"rows_out_of_range": int(bad), "worst_pct": float(worst)},
        )
    return Outcome(True, "occupancy within 0-100% on every marina night", {"rows_out_of_range": 0})


def counts_not_negative(wh: Warehouse, view: View) -> Outcome:
    columns = view.count_columns
    sums = ", ".join(f"SUM(CASE WHEN {c} < 0 THEN 1 ELSE 0 END)" for c in columns)
    row = wh.fetchall(f"SELECT {sums} FROM {view.name}")[0]
    negative = {c: int(n or 0) for c, n in zip(columns, row, strict=True)}
    bad = {c: n for c, n in negative.items() if n}
    if bad:
        return Outcome(False, f"{view.name}: negative counts in {', '.join(bad)}", negative)
    return Outcome(True, f"{view.name}: no negative count", negative)


def revenue_equals_booking_payments(wh: Warehouse) -> Outcome:
    in_view = {
        _d(d): Decimal(r or 0)
        for d, r in wh.fetchall(f"SELECT RENTAL_DATE, SUM(REVENUE) FROM {RENTALS_VIEW} GROUP BY RENTAL_DATE")
    }
    paid = {
        _d(d): Decimal(r or 0)
        for d, r in wh.fetchall(
            "SELECT b.DEPARTURE_DATE, SUM(p.AMOUNT) FROM DW_STELLAR_BOOKING_PAYMENTS p "
            "JOIN DW_STELLAR_BOOKINGS b ON b.ID = p.BOOKING_ID AND b.IS_DELETED = 0 "
            "WHERE p.IS_DELETED = 0 AND p.STATUS = 'captured' GROUP BY b.DEPARTURE_DATE"
        )
    }
    days = sorted(set(in_view) | set(paid))
    wrong = [d for d in days if in_view.get(d, Decimal(0)) != paid.get(d, Decimal(0))]
    meta = {
        "days": len(days),
        "days_wrong": len(wrong),
        "view_revenue": float(sum(in_view.values(), Decimal(0))),
        "payments": float(sum(paid.values(), Decimal(0))),
    }
    if wrong:
        d = wrong[0]
        return Outcome(
            False,
            f"{len(wrong)} day(s) where REVENUE differs from the booking payments, e.g. {d}: "
            f"{in_view.get(d, 0)} vs {paid.get(d, 0)}",
            meta,
        )
    return Outcome(True, f"revenue equals booking payments on all {len(days)} days", meta)


def debits_equal_credits(wh: Warehouse) -> Outcome:
    rows = wh.fetchall(
        f"SELECT TRANSACTION_ID, DEBIT_TOTAL, CREDIT_TOTAL FROM {JOURNAL_VIEW} "
        "WHERE DEBIT_TOTAL <> CREDIT_TOTAL ORDER BY TRANSACTION_ID"
    )
    if rows:
        t, d, c = rows[0]
        return Outcome(
            False,
            f"{len(rows)} unbalanced journal entr(ies), e.g. transaction {t}: debits {d}, credits {c}",
            {"unbalanced": len(rows), "first_transaction": int(t)},
        )
    return Outcome(True, "every journal entry balances", {"unbalanced": 0})


def _totals(row: tuple[Any, ...]) -> tuple[int, Decimal, Decimal, Decimal]:
    n, total, debit, credit = row
    return int(n or 0), Decimal(total or 0), Decimal(debit or 0), Decimal(credit or 0)


def totals_equal_type_views(wh: Warehouse) -> Outcome:
    wrong: dict[str, str] = {}
    for suffix, code, _ in NS_TYPE_VIEWS:
        name = ns_type_view_name(suffix)
        from_view = _totals(
            wh.fetchall(
                f"SELECT COUNT(*), SUM(FOREIGN_TOTAL), SUM(DEBIT_TOTAL), SUM(CREDIT_TOTAL) FROM {name}"
            )[0]
        )
        from_report = _totals(
            wh.fetchall(
                f"SELECT SUM(TRANSACTIONS), SUM(FOREIGN_TOTAL), SUM(DEBIT_TOTAL), SUM(CREDIT_TOTAL) "
                f"FROM {REPORT_VIEW} WHERE TRAN_TYPE = {wh.dialect.bind('c')}",
                {"c": code},
            )[0]
        )
        if from_view != from_report:
            wrong[code] = f"{name} {from_view} vs report {from_report}"
    if wrong:
        return Outcome(False, "report totals differ from the type views: " + "; ".join(wrong.values()), wrong)
    return Outcome(
        True, f"report totals equal the {len(NS_TYPE_VIEWS)} type views", {"types": len(NS_TYPE_VIEWS)}
    )
