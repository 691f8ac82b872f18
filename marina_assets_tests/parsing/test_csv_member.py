"""CSV members: PostgreSQL COPY NULL semantics, header matching, quarantine with line numbers."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest
from hypothesis import given
from hypothesis import strategies as st

from marina_assets.catalog.model import col, table
from marina_assets.parsing.csv_member import _breaks_per_row, read_csv_bytes, read_csv_member
from marina_assets.parsing.events import Reset
from marina_assets_tests.parsing.helpers import collect

pytestmark = pytest.mark.usefixtures("csv_reader")  # every test on both readers (conftest.py)

T = table(
    "MOLO",
    "Boats",
    [
        col("Id", "int"),
        col("Name", "str(20)"),
        col("Hull", "str(12)"),
        col("Length", "dec(6,2)"),
        col("Built", "date"),
        col("Seen", "ts"),
        col("Active", "bool"),
    ],
    pk="Id",
)


def _parse(text: str | bytes):
    data = text.encode("utf-8") if isinstance(text, str) else text
    return collect(read_csv_bytes(T, data, "Boats.csv"))


@pytest.mark.parametrize("eol", ["\r\n", "\n", "\r"])
@pytest.mark.parametrize("bom", ["", "\ufeff"])
def test_null_versus_empty_string_and_line_endings(eol: str, bom: str) -> None:
    text = (
        bom
        + eol.join(
            [
                "Id,Name,Hull,Length,Built,Seen,Active",
                '1,"",0042,12.50,2024-05-01,2025-01-02 03:04:05,True',
                "2,,,,,,",
                '3,"a, ""b""",X,1,2024-05-01,2025-01-02T03:04:05,F',
            ]
        )
        + eol
    )
    got = _parse(text)
    assert not got.rejects and not got.failures
    rows = [{k: v for k, v in r.items() if k != "SOURCE_LINE"} for r in got.rows["Boats"]]
    assert rows == [
        {
            "ID": 1,
            "NAME": "",
            "HULL": "0042",
            "LENGTH": Decimal("12.50"),
            "BUILT": date(2024, 5, 1),
            "SEEN": datetime(2025, 1, 2, 3, 4, 5),
            "ACTIVE": True,
        },
        {"ID": 2, "NAME": None, "HULL": None, "LENGTH": None, "BUILT": None, "SEEN": None, "ACTIVE": None},
        {
            "ID": 3,
            "NAME": 'a, "b"',
            "HULL": "X",
            "LENGTH": Decimal("1.00"),
            "BUILT": date(2024, 5, 1),
            "SEEN": datetime(2025, 1, 2, 3, 4, 5),
            "ACTIVE": False,
        },
    ]
    assert [r["SOURCE_LINE"] for r in got.rows["Boats"]] == [2, 3, 4]


def test_columns_matched_by_name_extra_reported_missing_null() -> None:
    got = _parse("Active,Name,Id,Colour\nT,x,7,red\n")
    assert got.rows["Boats"][0]["ID"] == 7 and got.rows["Boats"][0]["NAME"] == "x"
    assert got.rows["Boats"][0]["LENGTH"] is None
    rep = got.reports["Boats"]
    assert rep.extra_columns == ["Colour"]
    assert rep.missing_columns == ["Hull", "Length", "Built", "Seen"]


def test_missing_primary_key_column_fails_the_table_naming_file_and_column() -> None:
    got = _parse("Name,Hull\nx,y\n")
    assert got.failures == {"Boats": "Boats.csv: primary key column(s) Id missing from the header"}


def test_bad_records_are_quarantined_with_physical_lines_never_shifted() -> None:
    text = (
        "Id,Name,Hull,Length,Built,Seen,Active\n"
        '1,"multi\nline",h,1,2024-01-01,,T\n'  # lines 2-3
        "2,short\n"  # line 4: too few fields
        "3,a,b,1,2024-01-01,,T,extra\n"  # line 5: too many
        "4,a,b,abc,2024-01-01,,T\n"  # line 6: bad number
        "5,a,b,1,2024-02-30,,T\n"  # line 7: bad date
        "6,a,b,1,2024-01-01,,maybe\n"  # line 8: bad boolean
        ",a,b,1,2024-01-01,,T\n"  # line 9: empty key
        "8,ok,b,1,2024-01-01,,T\n"  # line 10
    )
    got = _parse(text)
    assert [(r["ID"], r["SOURCE_LINE"]) for r in got.rows["Boats"]] == [(1, 2), (8, 10)]
    rejects = {r.line: r.reason for r in got.rejects["Boats"]}
    assert set(rejects) == {4, 5, 6, 7, 8, 9}
    assert rejects[4] == "record has 2 fields, the header has 7"
    assert "'abc' is not a number" in rejects[6]
    assert "primary key column Id is empty" in rejects[9]
    assert got.reports["Boats"].rows_read == 8 and got.reports["Boats"].rows_rejected == 6
    assert next(r for r in got.rejects["Boats"] if r.line == 4).raw == "2,short"


def test_varchar_overflow_is_rejected_not_truncated() -> None:
    got = _parse("Id,Name\n1,abcdefghijklmnopqrstuvwxyz\n")
    assert got.rejects["Boats"][0].reason == "column Name: 26 characters exceeds varchar(20)"


def test_python_csv_writer_output_round_trips() -> None:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["Id", "Name", "Hull"])
    w.writerow([1, 'say "hi",\nthere', "007"])
    got = _parse(buf.getvalue())
    assert got.rows["Boats"][0]["NAME"] == 'say "hi",\nthere'
    assert got.rows["Boats"][0]["HULL"] == "007"


def test_blank_line_inside_a_member_does_not_shift_line_numbers() -> None:
    got = _parse('Id,Name\n1,a\n\n2,b\n3,"x\ny"\n4,c\n')
    assert [(r["ID"], r["SOURCE_LINE"]) for r in got.rows["Boats"]] == [(1, 2), (2, 4), (3, 5), (4, 7)]


def test_values_arrow_will_not_convert_still_convert_through_the_text_path() -> None:
    """Arrow's typed reader refuses these; the text path converts them as `typing` rules say."""
    got = _parse(
        "Id,Length,Built,Seen,Active\n"
        "1,12.555,0000-00-00,2025-01-02 03:04:05,tRuE\n"  # half-even rounding, zero date, odd casing
        '2,"",2024-05-01,,no\n'  # a quoted empty number is NULL too
    )
    assert not got.rejects
    rows = [{k: v for k, v in r.items() if k in ("LENGTH", "BUILT", "ACTIVE")} for r in got.rows["Boats"]]
    assert rows == [
        {"LENGTH": Decimal("12.56"), "BUILT": None, "ACTIVE": True},
        {"LENGTH": None, "BUILT": date(2024, 5, 1), "ACTIVE": False},
    ]


def test_a_reject_found_after_typed_batches_shows_the_record_text(csv_reader: str) -> None:
    """The whole member converts but the key is empty on one row: the reject's raw text is the
    record as written, not typed values re-rendered. Arrow's typed path has to hand over to its
    text path for that (four typed batches taken back); the C scanner keeps each record's bytes."""
    good = "".join(f"{i},n{i},,{i}.5,2024-01-01,2025-01-02 03:04:05,Y\n" for i in range(1, 5000))
    data = ("Id,Name,Hull,Length,Built,Seen,Active\n" + good + ",late,,07.50,2024-01-01,,N\n").encode()
    events = list(read_csv_member(T, "Boats.csv", lambda: io.BytesIO(data), batch_rows=1000))
    assert sum(isinstance(e, Reset) for e in events) == (1 if csv_reader == "arrow" else 0)
    got = collect(iter(events))
    assert len(got.rows["Boats"]) == 4999
    (bad,) = got.rejects["Boats"]
    assert (bad.line, bad.raw) == (5001, ",late,,07.50,2024-01-01,,N")
    assert got.reports["Boats"].rows_read == 5000


@given(
    st.lists(st.one_of(st.none(), st.text(alphabet="ab\r\n", max_size=6)), min_size=1, max_size=12),
    st.integers(0, 11),
)
def test_line_breaks_per_value_are_counted_like_a_reader_counts_lines(values, start) -> None:
    arr = pa.array(values, pa.string()).slice(min(start, len(values) - 1))
    got = _breaks_per_row(arr)
    want = [0 if v is None else v.count("\n") + v.count("\r") - v.count("\r\n") for v in arr.to_pylist()]
    assert (got.tolist() if got is not None else [0] * len(arr)) == want
