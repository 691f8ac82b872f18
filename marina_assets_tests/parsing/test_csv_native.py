"""The C scanner (`csv_native`) judged against the exact tokenizer: for any member, the same
typed rows, the same physical lines, the same rejects with the same reasons and raw text."""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime
from decimal import Decimal
from unittest.mock import patch

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marina_assets.catalog.model import col, table
from marina_assets.parsing import csv_member, csv_native
from marina_assets.parsing.csv_member import read_csv_bytes
from marina_assets.parsing.events import Reset
from marina_assets_tests.parsing.helpers import Collected, collect

pytestmark = pytest.mark.skipif(csv_native._csvscan is None, reason="the _csvscan extension is not built")

T = table(
    "MOLO",
    "Mix",
    [
        col("Id", "int"),
        col("Name", "str(12)"),
        col("Notes", "text"),
        col("Amount", "dec(10,2)"),
        col("Day", "date"),
        col("At", "ts"),
        col("Ok", "bool"),
    ],
    pk="Id",
)
HEADER = ["Id", "Name", "Notes", "Amount", "Day", "At", "Ok"]


def _give_up(*args: object, **kwargs: object):
    raise csv_member._FastPathGaveUp
    yield


def exact(data: bytes) -> Collected:
    """Every record through the byte tokenizer and typing.py: the reference."""
    with patch.dict(os.environ, {"MARINA_CSV_NATIVE": "0"}), patch.object(csv_member, "_fast", _give_up):
        return collect(read_csv_bytes(T, data, "Mix.csv"))


def native(data: bytes, block: int = csv_native.BLOCK_BYTES) -> tuple[Collected, int]:
    with patch.dict(os.environ, {"MARINA_CSV_NATIVE": "1"}), patch.object(csv_native, "BLOCK_BYTES", block):
        events = list(read_csv_bytes(T, data, "Mix.csv"))
    return collect(events), sum(isinstance(e, Reset) for e in events)


def same(a: Collected, b: Collected) -> None:
    assert a.failures == b.failures
    assert a.rows == b.rows
    got = [(r.line, r.reason, r.raw) for r in a.rejects.get("Mix", [])]
    want = [(r.line, r.reason, r.raw) for r in b.rejects.get("Mix", [])]
    assert got == want
    ra, rb = a.reports["Mix"], b.reports["Mix"]
    assert (ra.rows_read, ra.rows_rejected, ra.missing_columns, ra.extra_columns) == (
        rb.rows_read,
        rb.rows_rejected,
        rb.missing_columns,
        rb.extra_columns,
    )


def test_the_extension_is_built_where_a_compiler_exists() -> None:
    # without it members still load (through Arrow's reader), only slower: CI must notice
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler on this machine")
    assert csv_native.available()


def test_typed_values_as_typing_converts_them() -> None:
    data = (
        "Id,Name,Notes,Amount,Day,At,Ok\r\n"
        '1,"",,-0.5,2024-02-29,2024-02-29 23:59:59.123456,TRUE\r\n'
        '2,,"a ""q"", b\r\nc",+12,0000-00-00,0000-00-00 00:00:00,n\r\n'
        "3,é€,x,99999999.99,9999-12-31,1970-01-01T00:00,yEs\r\n"
        "-9223372036854775808,z,,0,0001-01-01,0001-01-01,0\r\n"
    ).encode()
    got, resets = native(data)
    assert resets == 0 and not got.rejects
    rows = [{k: v for k, v in r.items()} for r in got.rows["Mix"]]
    assert rows[0] == {
        "ID": 1,
        "NAME": "",
        "NOTES": None,
        "AMOUNT": Decimal("-0.50"),
        "DAY": date(2024, 2, 29),
        "AT": datetime(2024, 2, 29, 23, 59, 59, 123456),
        "OK": True,
        "SOURCE_LINE": 2,
    }
    assert rows[1]["NOTES"] == 'a "q", b\r\nc' and rows[1]["AMOUNT"] == Decimal("12.00")
    assert (rows[1]["DAY"], rows[1]["AT"], rows[1]["OK"]) == (None, None, False)
    assert [r["SOURCE_LINE"] for r in rows] == [2, 3, 5, 6]
    assert rows[2]["NAME"] == "é€" and rows[2]["AT"] == datetime(1970, 1, 1)
    assert rows[3]["ID"] == -(2**63) and rows[3]["AT"] == datetime(1, 1, 1)
    same(got, exact(data))


@pytest.mark.parametrize(
    ("column", "value"),
    [
        ("Amount", "12.555"),  # more decimals than the scale: typing rounds half-even
        ("Amount", "1e3"),
        ("Amount", " 7.5"),  # whitespace: typing trims
        ("Amount", "123456789.00"),  # too big for dec(10,2): a reject
        ("Id", "9223372036854775808"),  # out of int64: a reject
        ("Day", "2023-02-29"),  # not a date: a reject
        ("Day", "01/02/2024"),  # another format typing accepts
        ("At", "2024-01-01 10:20:30.1234567"),
        ("At", "2024-01-01 24:00:00"),
        ("At", "01/02/2024 03:04 PM"),
        ("Ok", "maybe"),
        ("Ok", "vrai"),
        ("Name", "x" * 13),  # longer than str(12): a reject
    ],
)
def test_values_the_scanner_leaves_to_typing(column: str, value: str) -> None:
    rows = [["1", "a", "n", "1.00", "2024-01-01", "2024-01-01 00:00:00", "t"] for _ in range(40)]
    for i, r in enumerate(rows):
        r[0] = str(i + 1)
    rows[25][HEADER.index(column)] = value
    data = "\n".join(",".join(r) for r in [HEADER, *rows]).encode()
    for block in (64, 1 << 20):  # the odd value in a later block, and in the only block
        got, resets = native(data, block)
        assert resets == 0  # a value problem never re-reads the member
        same(got, exact(data))


def test_structural_problems_hand_the_member_to_the_exact_tokenizer() -> None:
    for bad in ['5,a"b,,1,,,', '5,"a"b,,1,,,', "5,a,,1", "5,\xff,,1,,,"]:
        data = b"Id,Name,Notes,Amount,Day,At,Ok\n1,a,,1,,,\n" + bad.encode("latin-1") + b"\n6,b,,2,,,\n"
        got, resets = native(data)
        assert resets == 1
        same(got, exact(data))
        assert [r.line for r in got.rejects["Mix"]] == [3]


def test_unterminated_quote_at_the_end_of_the_member() -> None:
    data = b'Id,Name,Notes,Amount,Day,At,Ok\n1,a,,1,,,\n2,b,"never closed\n'
    got, _ = native(data)
    same(got, exact(data))
    assert got.rejects["Mix"][0].reason == "unterminated quoted field"


CELL = {
    "Id": st.one_of(st.integers(-(2**63), 2**63 - 1).map(str), st.sampled_from(["", "x", "+4", " 3"])),
    "Name": st.text(alphabet='ab"é,\r\n ', max_size=14),
    "Notes": st.text(alphabet='xy",\r\n€\t', max_size=30),
    "Amount": st.one_of(
        st.decimals(-(10**8) + 1, 10**8 - 1, places=2).map(str),
        st.sampled_from(["", "1.5", "7.", ".5", "1.005", "-0", "abc", "1e2"]),
    ),
    "Day": st.one_of(
        st.dates().map(str), st.sampled_from(["", "0000-00-00", "2024-13-01", "2024-02-30", "3/4/2024"])
    ),
    "At": st.one_of(
        st.datetimes().map(lambda d: d.isoformat(sep=" ")),
        st.datetimes().map(lambda d: d.strftime("%Y-%m-%dT%H:%M")),
        st.sampled_from(["", "2024-01-01", "0000-00-00 00:00:00", "2024-01-01 7:00:00"]),
    ),
    "Ok": st.sampled_from(["", "true", "F", "YES", "n", "1", "0", "no!", "Yes"]),
}


def _quote(value: str, force: bool) -> str:
    if force or value == "" or any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value


@st.composite
def members(draw: st.DrawFn) -> bytes:
    eol = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    order = draw(st.permutations(HEADER))
    records = draw(st.lists(st.fixed_dictionaries(CELL), max_size=25))
    lines = [",".join(order)]
    for rec in records:
        cells = []
        for name in order:
            v = rec[name]
            null = v == "" and draw(st.booleans())  # unquoted empty: NULL; quoted: ""
            cells.append("" if null else _quote(v, draw(st.booleans())))
        lines.append(",".join(cells))
    if lines[1:] and draw(st.booleans()):
        lines.insert(draw(st.integers(1, len(lines))), "")  # a blank line
    text = eol.join(lines) + (eol if draw(st.booleans()) else "")
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=members(), block=st.sampled_from([1, 2, 3, 7, 64, 1 << 20]))
def test_any_member_reads_as_the_exact_tokenizer_reads_it(data: bytes, block: int) -> None:
    got, _ = native(data, block)
    same(got, exact(data))
