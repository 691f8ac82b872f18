"""DW_CALENDAR: one row per day, so daily views need no engine-specific date series.

The range covers the data the daily views read (the earliest reservation arrival, booking
departure and NetSuite transaction date) through a year past the later of today and the
latest such date. It is rebuilt whole on every materialization, in one transaction.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, timedelta
from typing import Any

import pyarrow as pa

from marina_assets.catalog.model import ColumnType, Kind
from marina_assets.views.catalog import CALENDAR_TABLE
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.ddl import ColumnDef, TableDef, create_table_sql

_INT = ColumnType(Kind.INTEGER)
_DATE = ColumnType(Kind.DATE)

CALENDAR = TableDef(
    CALENDAR_TABLE,
    (
        ColumnDef("CALENDAR_DATE", _DATE, False),
        ColumnDef("NEXT_DATE", _DATE, False),
        ColumnDef("YEAR_NUMBER", _INT, False),
        ColumnDef("QUARTER_NUMBER", _INT, False),
        ColumnDef("MONTH_NUMBER", _INT, False),
        ColumnDef("DAY_OF_MONTH", _INT, False),
        ColumnDef("ISO_DAY_OF_WEEK", _INT, False),
        ColumnDef("ISO_WEEK_NUMBER", _INT, False),
        ColumnDef("DAY_NAME", ColumnType(Kind.VARCHAR, length=9), False),
        ColumnDef("MONTH_NAME", ColumnType(Kind.VARCHAR, length=9), False),
        ColumnDef("YEAR_MONTH", ColumnType(Kind.VARCHAR, length=7), False),
        ColumnDef("IS_WEEKEND", _INT, False),
    ),
    primary_key=("CALENDAR_DATE",),
)

CALENDAR_DOCS = {
    "CALENDAR_DATE": "the day",
    "NEXT_DATE": "the day after (for half-open timestamp ranges: ts >= CALENDAR_DATE AND ts < NEXT_DATE)",
    "YEAR_NUMBER": "calendar year",
    "QUARTER_NUMBER": "quarter 1-4",
    "MONTH_NUMBER": "month 1-12",
    "DAY_OF_MONTH": "day 1-31",
    "ISO_DAY_OF_WEEK": "1 = Monday .. 7 = Sunday",
    "ISO_WEEK_NUMBER": "ISO 8601 week number",
    "DAY_NAME": "English day name",
    "MONTH_NAME": "English month name",
    "YEAR_MONTH": "'YYYY-MM'",
    "IS_WEEKEND": "1 on Saturday and Sunday, else 0",
}

# (table, date column) pairs whose range the calendar must cover: what the daily views read
DATA_DATES: tuple[tuple[str, str], ...] = (
    ("DW_MOLO_RESERVATIONS", "ARRIVAL_DATE"),
    ("DW_MOLO_RESERVATIONS", "DEPARTURE_DATE"),
    ("DW_STELLAR_BOOKINGS", "DEPARTURE_DATE"),
    ("DW_NS_TRANSACTIONS", "TRANDATE"),
)
DAYS_AHEAD = 365
_ARROW = {Kind.DATE: pa.date32(), Kind.INTEGER: pa.int64(), Kind.VARCHAR: pa.string()}


def calendar_rows(start: date, end: date) -> Iterator[tuple[Any, ...]]:
    """One row per day from `start` to `end` inclusive, in CALENDAR column order."""
    day = start
    while day <= end:
        iso = day.isocalendar()
        yield (
            day,
            day + timedelta(days=1),
            day.year,
            (day.month - 1) // 3 + 1,
            day.month,
            day.day,
            iso.weekday,
            iso.week,
            day.strftime("%A"),
            day.strftime("%B"),
            f"{day.year:04d}-{day.month:02d}",
            1 if iso.weekday >= 6 else 0,
        )
        day += timedelta(days=1)


def data_range(
    wh: Warehouse, pairs: Sequence[tuple[str, str]] = DATA_DATES
) -> tuple[date | None, date | None]:
    """Earliest and latest live date among `pairs` (tables not created yet are skipped)."""
    existing = wh.existing_columns()
    lows: list[date] = []
    highs: list[date] = []
    for table, column in pairs:
        if column not in existing.get(table, set()):
            continue
        low, high = wh.fetchall(f"SELECT MIN({column}), MAX({column}) FROM {table} WHERE IS_DELETED = 0")[0]
        if low is not None:
            lows.append(_as_date(low))
            highs.append(_as_date(high))
    return (min(lows) if lows else None, max(highs) if highs else None)


def _as_date(value: Any) -> date:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def calendar_span(wh: Warehouse, today: date) -> tuple[date, date]:
    low, high = data_range(wh)
    start = min(low, today) if low else today
    end = max(high, today) if high else today
    return start, end + timedelta(days=DAYS_AHEAD)


def build_calendar(wh: Warehouse, *, start: date, end: date) -> int:
    """Replace DW_CALENDAR with the days `start` .. `end`; returns the number of days."""
    if end < start:
        raise ValueError(f"calendar end {end} is before its start {start}")
    rows = list(calendar_rows(start, end))
    columns = list(zip(*rows, strict=True))
    batch = pa.RecordBatch.from_arrays(
        [
            pa.array(values, type=_ARROW[c.type.kind])
            for values, c in zip(columns, CALENDAR.columns, strict=True)
        ],
        names=list(CALENDAR.column_names),
    )
    exists = CALENDAR.name in wh.existing_columns()
    with wh.transaction():
        if not exists:  # no IF NOT EXISTS: Oracle before 23ai lacks it
            wh.execute(create_table_sql(wh.dialect, CALENDAR, if_not_exists=False))
        wh.execute(f"DELETE FROM {CALENDAR.name}")
        wh.insert_arrow(CALENDAR.name, batch, {})
    return len(rows)
