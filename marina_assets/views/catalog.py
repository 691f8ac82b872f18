"""The 21 analytic views as data: legacy name, SQL file, tables read, documented columns.

Each `View` names the `.sql` file under `views/sql/` that holds its SELECT (hand-written,
portable SQL a DBA can read; `render.py` fills the few dialect tokens) and the catalog tables
and views it reads, from which its Dagster asset dependencies are derived. The 13 NetSuite
transaction-type views share one template (`ns_x_fin_transaction_type.sql`) and differ only
in the transaction type they select, declared here.

Column documentation is part of the definition: a test compares it with the columns the
engine reports, so the UI's column schema cannot drift from the SQL.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

CALENDAR_TABLE = "DW_CALENDAR"


@dataclass(frozen=True)
class ViewColumn:
    name: str
    type: str  # date | integer | decimal | varchar, for the documentation
    description: str
    count: bool = False  # a count or quantity that can never be negative (checked)


@dataclass(frozen=True)
class View:
    name: str  # legacy view name, as the BI tools know it
    system: str  # MOLO | STELLAR | NS: the source system whose group the view joins
    sql_file: str  # file under views/sql/
    reads: tuple[str, ...]  # catalog tables read (source names of `system`)
    columns: tuple[ViewColumn, ...]
    description: str
    reads_views: tuple[str, ...] = ()  # other views read
    uses_calendar: bool = False
    tokens: Mapping[str, str] = field(default_factory=dict)  # template values, e.g. TRAN_TYPE

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def count_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.count)


def _c(name: str, type_: str, description: str, *, count: bool = False) -> ViewColumn:
    return ViewColumn(name, type_, description, count)


_OCCUPANCY_RULE = (
    "a reservation occupies its slip the nights ARRIVAL_DATE .. DEPARTURE_DATE - 1 when its status "
    "counts as occupied (DW_MOLO_RESERVATION_STATUSES.COUNTS_AS_OCCUPIED)"
)
_MARINA = _c("MARINA_LOCATION_ID", "integer", "marina (DW_MOLO_MARINA_LOCATIONS.ID) of the slip's pier")
_MARINA_NAME = _c("MARINA_NAME", "varchar", "DW_MOLO_MARINA_LOCATIONS.NAME")
_NIGHT = _c("CALENDAR_DATE", "date", "the night (DW_CALENDAR.CALENDAR_DATE)")

MOLO_VIEWS: tuple[View, ...] = (
    View(
        name="DW_MOLO_DAILY_SLIP_COUNT_VW",
        system="MOLO",
        sql_file="dw_molo_daily_slip_count_vw.sql",
        reads=("Slips", "Piers", "MarinaLocations", "Reservations", "ReservationStatus"),
        uses_calendar=True,
        description=(
            "Slip inventory per marina per night, from the first arrival to the last departure of "
            f"occupying reservations: {_OCCUPANCY_RULE}."
        ),
        columns=(
            _NIGHT,
            _MARINA,
            _MARINA_NAME,
            _c("TOTAL_SLIPS", "integer", "live slips marked active (IS_ACTIVE)", count=True),
            _c("OCCUPIED_SLIPS", "integer", "distinct live slips occupied that night", count=True),
            _c("AVAILABLE_SLIPS", "integer", "active slips not occupied that night", count=True),
            _c("INACTIVE_SLIPS", "integer", "live slips not marked active", count=True),
        ),
    ),
    View(
        name="DW_MOLO_DAILY_SLIP_OCCUPANCY_VW",
        system="MOLO",
        sql_file="dw_molo_daily_slip_occupancy_vw.sql",
        reads=(),
        reads_views=("DW_MOLO_DAILY_SLIP_COUNT_VW",),
        uses_calendar=True,
        description="Occupancy % per marina per night (occupied slips / active slips).",
        columns=(
            _NIGHT,
            _c("YEAR_NUMBER", "integer", "calendar year of the night"),
            _c("MONTH_NUMBER", "integer", "month 1-12 of the night"),
            _c("ISO_DAY_OF_WEEK", "integer", "1 = Monday .. 7 = Sunday"),
            _c("IS_WEEKEND", "integer", "1 on Saturday and Sunday nights, else 0"),
            _MARINA,
            _MARINA_NAME,
            _c("TOTAL_SLIPS", "integer", "active live slips (DW_MOLO_DAILY_SLIP_COUNT_VW)", count=True),
            _c("OCCUPIED_SLIPS", "integer", "occupied slips (DW_MOLO_DAILY_SLIP_COUNT_VW)", count=True),
            _c(
                "OCCUPANCY_PCT",
                "decimal",
                "ROUND(100 * OCCUPIED_SLIPS / TOTAL_SLIPS, 2); NULL when the marina has no active slip",
            ),
        ),
    ),
    View(
        name="DW_MOLO_DAILY_BOAT_LENGTHS_VW",
        system="MOLO",
        sql_file="dw_molo_daily_boat_lengths_vw.sql",
        reads=("Reservations", "ReservationStatus", "Slips", "Piers", "MarinaLocations", "Boats"),
        uses_calendar=True,
        description=(
            "Length distribution of the boats in each marina each night, in 10 ft bands; "
            f"{_OCCUPANCY_RULE}. A boat counts once per night and marina."
        ),
        columns=(
            _NIGHT,
            _MARINA,
            _MARINA_NAME,
            _c("LENGTH_BAND_ORDER", "integer", "1 (under 20 ft) .. 6 (60 ft and over), for sorting"),
            _c("LENGTH_BAND", "varchar", "boat length band: under 20 ft, 20-29 ft, ... 60 ft and over"),
            _c("BOATS", "integer", "distinct live boats of the band in the marina that night", count=True),
            _c("TOTAL_LENGTH_FT", "decimal", "sum of the boats' length overall (DW_MOLO_BOATS.LENGTH)"),
            _c("MIN_LENGTH_FT", "decimal", "shortest boat of the band, feet"),
            _c("MAX_LENGTH_FT", "decimal", "longest boat of the band, feet"),
            _c("AVG_LENGTH_FT", "decimal", "ROUND(average length, 2), feet"),
        ),
    ),
    View(
        name="DW_MOLO_RATE_OVER_LINEAR_FOOT",
        system="MOLO",
        sql_file="dw_molo_rate_over_linear_foot.sql",
        reads=("Reservations", "Boats", "ReservationStatus"),
        description="Rate and revenue per linear foot of boat, one row per live reservation (raw).",
        columns=(
            _c("RESERVATION_ID", "integer", "DW_MOLO_RESERVATIONS.ID"),
            _c("MARINA_LOCATION_ID", "integer", "marina of the reservation (DW_MOLO_RESERVATIONS)"),
            _c("BOAT_ID", "integer", "DW_MOLO_BOATS.ID"),
            _c("SLIP_ID", "integer", "DW_MOLO_SLIPS.ID"),
            _c("STATUS_NAME", "varchar", "reservation status name"),
            _c("COUNTS_AS_OCCUPIED", "integer", "1 when the status occupies the slip (a revenue stay)"),
            _c("ARRIVAL_DATE", "date", "first night"),
            _c("DEPARTURE_DATE", "date", "departure day (not a night of the stay)"),
            _c("NIGHTS", "integer", "DEPARTURE_DATE - ARRIVAL_DATE", count=True),
            _c("BOAT_LENGTH_FT", "decimal", "boat length overall, feet (> 0)"),
            _c("LENGTH_BAND", "varchar", "10 ft band of the boat length"),
            _c("RATE_TYPE", "varchar", "period RATE is quoted for: Daily, Weekly, Monthly, Seasonal, Annual"),
            _c("RATE", "decimal", "quoted rate per RATE_TYPE period"),
            _c("PERIOD_NIGHTS", "integer", "nights in a RATE_TYPE period: 1, 7, 30, 182, 365"),
            _c("TOTAL_AMOUNT", "decimal", "quoted total of the stay"),
            _c("RATE_PER_FOOT", "decimal", "ROUND(RATE / BOAT_LENGTH_FT, 4)"),
            _c("REVENUE_PER_FOOT", "decimal", "ROUND(TOTAL_AMOUNT / BOAT_LENGTH_FT, 4)"),
        ),
    ),
    View(
        name="DW_MOLO_RATE_OVER_LINEAR_FOOT_VW",
        system="MOLO",
        sql_file="dw_molo_rate_over_linear_foot_vw.sql",
        reads=(),
        reads_views=("DW_MOLO_RATE_OVER_LINEAR_FOOT",),
        description=(
            "Rate per linear foot by marina, boat length band and rate type, normalised to a nightly "
            "rate; revenue stays only (status counts as occupied)."
        ),
        columns=(
            _c("MARINA_LOCATION_ID", "integer", "marina of the reservations"),
            _c("LENGTH_BAND", "varchar", "10 ft band of the boat length"),
            _c("RATE_TYPE", "varchar", "rate period of the reservations"),
            _c("RESERVATIONS", "integer", "number of reservations in the group", count=True),
            _c("TOTAL_LINEAR_FT", "decimal", "sum of the boats' lengths, feet"),
            _c("TOTAL_REVENUE", "decimal", "sum of TOTAL_AMOUNT"),
            _c("REVENUE_PER_LINEAR_FOOT", "decimal", "ROUND(TOTAL_REVENUE / TOTAL_LINEAR_FT, 4)"),
            _c(
                "NIGHTLY_RATE_PER_FOOT",
                "decimal",
                "ROUND(average of RATE / PERIOD_NIGHTS / BOAT_LENGTH_FT, 4): nightly rate per foot",
            ),
            _c(
                "RATE_INDEX",
                "decimal",
                "NIGHTLY_RATE_PER_FOOT / the marina's reservation-weighted average of it, ROUND 4 "
                "(1.0 = marina average)",
            ),
        ),
    ),
)

STELLAR_VIEWS: tuple[View, ...] = (
    View(
        name="DW_STELLAR_DAILY_RENTALS_VW",
        system="STELLAR",
        sql_file="dw_stellar_daily_rentals_vw.sql",
        reads=("bookings", "booking_boats", "booking_payments", "locations"),
        uses_calendar=True,
        description=(
            "Bookings, revenue and boats rented per rental day (booking DEPARTURE_DATE) and location, "
            "every day from the first to the last departure."
        ),
        columns=(
            _c("RENTAL_DATE", "date", "rental day = DW_STELLAR_BOOKINGS.DEPARTURE_DATE"),
            _c("LOCATION_ID", "integer", "DW_STELLAR_LOCATIONS.ID of the booking"),
            _c("LOCATION_NAME", "varchar", "DW_STELLAR_LOCATIONS.NAME"),
            _c("BOOKINGS", "integer", "live bookings departing that day, any status", count=True),
            _c("CANCELLED_BOOKINGS", "integer", "of which cancelled or no-show", count=True),
            _c(
                "BOATS_RENTED",
                "integer",
                "distinct boats (STYLE_BOAT_ID) on the day's bookings that were not cancelled/no-show",
                count=True,
            ),
            _c("PASSENGERS", "integer", "sum of PARTY_SIZE (NULL counts 0)", count=True),
            _c("BOOKED_TOTAL", "decimal", "sum of the bookings' TOTAL"),
            _c("PAYMENTS", "integer", "captured live payments of the day's bookings", count=True),
            _c(
                "REVENUE",
                "decimal",
                "sum of AMOUNT of captured live payments (DW_STELLAR_BOOKING_PAYMENTS) of the day's "
                "bookings; refunds recorded as negative amounts reduce it",
            ),
        ),
    ),
)

# NetSuite transaction-type views: legacy suffix -> (Transaction.type code, what it reports)
NS_TYPE_VIEWS: tuple[tuple[str, str, str], ...] = (
    ("CASHSALE", "CashSale", "Cash sales (POS and cash receipts)"),
    ("CHECK", "Check", "Checks written"),
    ("INVOICE", "CustInvc", "Customer invoices"),
    ("CUST_PAYMENT", "CustPymt", "Customer payments (A/R collections)"),
    ("JOURNAL", "Journal", "Journal entries"),
    ("DEPOSIT", "Deposit", "Bank deposits"),
    ("CREDIT_CARD", "CardChrg", "Credit card charges"),
    ("VENDBILL", "VendBill", "Vendor bills"),
    ("VENDBILL_PAYMENT", "VendPymt", "Vendor bill payments"),
    ("VENDCRED", "VendCred", "Vendor credits"),
    ("CUST_CREDIT", "CustCred", "Customer credit memos"),
    ("CUST_REFUND", "CustRfnd", "Customer refunds"),
    ("CC_REFUND", "CardRfnd", "Credit card refunds"),
)

_NS_TXN_READS = (
    "Transaction",
    "TransactionLine",
    "TransactionAccountingLine",
    "AccountingPeriod",
    "Subsidiary",
    "Entity",
    "Currency",
)
_ENTITY_NAME = "DW_NS_ENTITIES.COMPANYNAME, else FIRSTNAME || ' ' || LASTNAME"
NS_TYPE_COLUMNS: tuple[ViewColumn, ...] = (
    _c("TRANSACTION_ID", "integer", "DW_NS_TRANSACTIONS.ID"),
    _c("DOCUMENT_NUMBER", "varchar", "TRANID: the document number"),
    _c("TRAN_DATE", "date", "TRANDATE: transaction date"),
    _c("TRAN_TYPE", "varchar", "NetSuite transaction type code"),
    _c("POSTING_PERIOD_ID", "integer", "DW_NS_ACCOUNTING_PERIODS.ID"),
    _c("PERIOD_NAME", "varchar", "posting period name, e.g. 'Nov 2025'"),
    _c("SUBSIDIARY_ID", "integer", "DW_NS_SUBSIDIARIES.ID"),
    _c("SUBSIDIARY_NAME", "varchar", "subsidiary name"),
    _c("ENTITY_ID", "integer", "customer, vendor or employee (DW_NS_ENTITIES.ID)"),
    _c("ENTITY_NAME", "varchar", _ENTITY_NAME),
    _c("CURRENCY_SYMBOL", "varchar", "transaction currency (DW_NS_CURRENCIES.SYMBOL)"),
    _c("EXCHANGE_RATE", "decimal", "rate to the base currency"),
    _c("STATUS", "varchar", "transaction status"),
    _c("MEMO", "varchar", "header memo"),
    _c("OTHER_REF_NUM", "varchar", "check or reference number"),
    _c("DUE_DATE", "date", "due date (invoices, bills)"),
    _c("IS_POSTING", "integer", "1 when the transaction posts to the ledger"),
    _c("IS_VOIDED", "integer", "1 when voided"),
    _c("FOREIGN_TOTAL", "decimal", "header total in the transaction currency (FOREIGNTOTAL)"),
    _c("LINE_COUNT", "integer", "live lines other than the main and tax lines", count=True),
    _c("LINES_NET_AMOUNT", "decimal", "sum of NETAMOUNT of those lines"),
    _c("DEBIT_TOTAL", "decimal", "sum of DEBIT of the live accounting (GL) lines, NULL as 0"),
    _c("CREDIT_TOTAL", "decimal", "sum of CREDIT of the live accounting (GL) lines, NULL as 0"),
)


def ns_type_view_name(suffix: str) -> str:
    return f"DW_NS_X_FIN_{suffix}_V"


NS_VIEWS: tuple[View, ...] = (
    *(
        View(
            name=ns_type_view_name(suffix),
            system="NS",
            sql_file="ns_x_fin_transaction_type.sql",
            reads=_NS_TXN_READS,
            tokens={"TRAN_TYPE": code},
            description=f"{label}: one row per live NetSuite transaction of type {code}, "
            "with its line and GL totals.",
            columns=NS_TYPE_COLUMNS,
        )
        for suffix, code, label in NS_TYPE_VIEWS
    ),
    View(
        name="DW_NS_X_FIN_DEPENTRY_V",
        system="NS",
        sql_file="dw_ns_x_fin_depentry_v.sql",
        reads=(
            "Transaction",
            "TransactionLine",
            "Entity",
            "Account",
            "Department",
            "Classification",
            "Location",
        ),
        description="Deposit lines: every live line (other than the main line) of live bank deposits.",
        columns=(
            _c("TRANSACTION_ID", "integer", "the deposit (DW_NS_TRANSACTIONS.ID)"),
            _c("DOCUMENT_NUMBER", "varchar", "deposit document number"),
            _c("TRAN_DATE", "date", "deposit date"),
            _c("SUBSIDIARY_ID", "integer", "DW_NS_SUBSIDIARIES.ID"),
            _c("LINE_ID", "integer", "DW_NS_TRANSACTION_LINES.ID"),
            _c("LINE_SEQUENCE_NUMBER", "integer", "line order within the deposit"),
            _c("ENTITY_ID", "integer", "payer (DW_NS_ENTITIES.ID)"),
            _c("ENTITY_NAME", "varchar", _ENTITY_NAME),
            _c("ACCOUNT_ID", "integer", "account of the line (EXPENSEACCOUNT)"),
            _c("ACCOUNT_NUMBER", "varchar", "DW_NS_ACCOUNTS.ACCTNUMBER"),
            _c("ACCOUNT_NAME", "varchar", "DW_NS_ACCOUNTS.FULLNAME"),
            _c("DEPARTMENT_NAME", "varchar", "DW_NS_DEPARTMENTS.NAME"),
            _c("CLASS_NAME", "varchar", "DW_NS_CLASSIFICATIONS.NAME"),
            _c("LOCATION_NAME", "varchar", "DW_NS_LOCATIONS.NAME"),
            _c("MEMO", "varchar", "line memo"),
            _c("NET_AMOUNT", "decimal", "NETAMOUNT of the line"),
            _c("FOREIGN_AMOUNT", "decimal", "amount in the transaction currency"),
            _c("IS_TAX_LINE", "integer", "1 for tax lines"),
            _c("IS_CLEARED", "integer", "1 when reconciled with the bank statement"),
        ),
    ),
    View(
        name="DW_NS_X_FIN_REPORT_V",
        system="NS",
        sql_file="dw_ns_x_fin_report_v.sql",
        reads=(
            "Transaction",
            "TransactionType",
            "TransactionLine",
            "TransactionAccountingLine",
            "AccountingPeriod",
            "Subsidiary",
        ),
        description=(
            "Consolidated financial summary per transaction type, posting period and subsidiary, "
            "computed from the base tables."
        ),
        columns=(
            _c("TRAN_TYPE", "varchar", "NetSuite transaction type code"),
            _c("TRAN_TYPE_NAME", "varchar", "DW_NS_TRANSACTION_TYPES.NAME"),
            _c("POSTING_PERIOD_ID", "integer", "DW_NS_ACCOUNTING_PERIODS.ID (NULL when unset)"),
            _c("PERIOD_NAME", "varchar", "posting period name"),
            _c("SUBSIDIARY_ID", "integer", "DW_NS_SUBSIDIARIES.ID"),
            _c("SUBSIDIARY_NAME", "varchar", "subsidiary name"),
            _c("TRANSACTIONS", "integer", "live transactions", count=True),
            _c("VOIDED_TRANSACTIONS", "integer", "of which voided", count=True),
            _c("FOREIGN_TOTAL", "decimal", "sum of FOREIGNTOTAL"),
            _c("LINES_NET_AMOUNT", "decimal", "sum of NETAMOUNT of live non-main, non-tax lines"),
            _c("DEBIT_TOTAL", "decimal", "sum of DEBIT of live accounting lines"),
            _c("CREDIT_TOTAL", "decimal", "sum of CREDIT of live accounting lines"),
        ),
    ),
)

VIEWS: tuple[View, ...] = MOLO_VIEWS + STELLAR_VIEWS + NS_VIEWS


def view(name: str) -> View:
    for v in VIEWS:
        if v.name == name:
            return v
    raise KeyError(f"unknown view {name!r}")


def in_dependency_order(views: tuple[View, ...] | list[View]) -> list[View]:
    """`views` with every view after the views it reads (those outside the list are ignored)."""
    names = {v.name for v in views}
    done: list[View] = []
    placed: set[str] = set()
    pending = list(views)
    while pending:
        for v in pending:
            if all(r in placed or r not in names for r in v.reads_views):
                done.append(v)
                placed.add(v.name)
                pending.remove(v)
                break
        else:
            raise ValueError(f"cycle among views {[v.name for v in pending]}")
    return done
