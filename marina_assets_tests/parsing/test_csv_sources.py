"""CSV from real writers (PostgreSQL COPY, Python's csv module) and legacy Stellar .csv.gz drops."""

from __future__ import annotations

import csv
import gzip
import io
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from marina_assets.catalog.model import col, table
from marina_assets.parsing import PARSERS
from marina_assets.parsing.csv_gz import table_of
from marina_assets_tests.parsing.helpers import collect
from marina_assets_tests.parsing.inspect_helpers import POSTGRES, given, run_parse

BOATS = table(
    "MOLO",
    "boats",
    [
        col("id", "int"),
        col("name", "text"),
        col("hull", "str(20)"),
        col("length", "dec(8,2)"),
        col("built", "date"),
        col("seen", "ts"),
        col("active", "bool"),
    ],
    pk="id",
)
GIVEN = given("postgres")

pytestmark = pytest.mark.usefixtures("csv_reader")  # every test on both readers (conftest.py)


def test_postgres_copy_csv_inspected_as_written(tmp_path: Path, capsys) -> None:
    got = run_parse(capsys, POSTGRES / "boats_copy.csv", tmp_path / "o")
    assert got.code == 0, got.stderr
    rows = got.table("boats_copy")
    assert [r["id"] for r in rows] == [str(g["id"]) for g in GIVEN]
    for r, g in zip(rows, GIVEN, strict=True):
        assert (
            r["name"] == g["name"] and r["hull"] == g["hull"]
        )  # "" stays "", NULL is null, 'NULL' and \N are text
        assert (r["built"] is None) == (g["built"] is None)
        if g["length"] is not None:
            assert Decimal(r["length"]) == Decimal(g["length"])


def test_postgres_copy_csv_typed_for_staging() -> None:
    data = (POSTGRES / "boats_copy.csv").read_bytes()
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as z:
        z.writestr("boats.csv", data)
    got = collect(PARSERS["csv_zip"](io.BytesIO(zipped.getvalue()), "molo.zip", [BOATS]))
    assert not got.rejects and not got.failures
    for r, g in zip(got.rows["boats"], GIVEN, strict=True):
        assert r["NAME"] == g["name"] and r["HULL"] == g["hull"]
        assert r["LENGTH"] == (
            None if g["length"] is None else Decimal(g["length"]).quantize(Decimal("0.01"))
        )
        assert r["BUILT"] == (None if g["built"] is None else date.fromisoformat(g["built"]))
        assert r["SEEN"] == (None if g["seen"] is None else datetime.fromisoformat(g["seen"]))
        assert r["ACTIVE"] == g["active"]


def test_python_csv_module_output(tmp_path: Path, capsys) -> None:
    values = [["1", 'say "hi",\nthere', "007", " x "], ["2", "", "a\r\nb", "ünï"], ["3", "NULL", "\\N", ","]]
    for dialect in ("excel", "unix"):
        buf = io.StringIO(newline="")
        w = csv.writer(buf, dialect=dialect)
        w.writerow(["id", "name", "hull", "note"])
        w.writerows(values)
        path = tmp_path / f"{dialect}.csv"
        path.write_bytes(buf.getvalue().encode())
        got = run_parse(capsys, path, tmp_path / dialect)
        rows = got.table(dialect)
        # the csv module writes "" unquoted in excel dialect (it cannot tell NULL from empty), quoted in unix
        empty = "" if dialect == "unix" else None
        assert [list(r.values()) for r in rows] == [values[0], ["2", empty, "a\r\nb", "ünï"], values[2]]


def test_csv_rejects_go_to_the_rejects_file_and_exit_is_zero(tmp_path: Path, capsys) -> None:
    path = tmp_path / "Boats.csv"
    path.write_bytes(b'id,name\n1,a\n2\n3,"unterminated\n4,d\n')
    got = run_parse(capsys, path, tmp_path / "o")
    assert got.code == 0
    assert got.table("Boats") == [{"id": "1", "name": "a"}]
    assert got.rejects[0] == {
        "table": "Boats",
        "line": 3,
        "reason": "record has 1 fields, the header has 2",
        "raw": "2",
    }
    assert got.rejects[1]["line"] == 4 and got.rejects[1]["reason"] == "unterminated quoted field"


# -- legacy Stellar per-table .csv.gz drops --------------------------------------------------

LOCATIONS = table(
    "STELLAR", "locations", [col("id", "int"), col("name", "str(40)"), col("tax_rate", "dec(6,4)")], pk="id"
)


class _NoSeek(io.RawIOBase):
    def __init__(self, data: bytes) -> None:
        self._b = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        return self._b.readinto(b)


def test_legacy_csv_gz_drop_naming_and_parse() -> None:
    assert table_of("prod_resilient_2024-03-01_05_00-locations.csv.gz") == "locations"
    assert table_of("s3://bucket/drops/locations.csv.gz") == "locations"
    assert table_of("prod_resilient_2024-03-01_05_00-DATA.sql.gz") is None
    data = gzip.compress(b'\xef\xbb\xbfid,name,tax_rate\r\n1,"Dock, A",0.0825\r\n2,"",\r\n3,x,abc\r\n')
    name = "prod_resilient_2024-03-01_05_00-locations.csv.gz"
    for stream in (io.BytesIO(data), _NoSeek(data)):
        got = collect(PARSERS["csv_gz"](stream, name, [LOCATIONS]))
        assert [(r["ID"], r["NAME"], r["TAX_RATE"]) for r in got.rows["locations"]] == [
            (1, "Dock, A", Decimal("0.0825")),
            (2, "", None),
        ]
        assert got.rejects["locations"][0].line == 4
    # a catalog table this object does not carry is simply not reported by it
    assert collect(PARSERS["csv_gz"](io.BytesIO(data), "bookings.csv.gz", [LOCATIONS])).rows == {}


def test_legacy_csv_gz_inspected(tmp_path: Path, capsys) -> None:
    path = tmp_path / "prod_resilient_2024-03-01_05_00-locations.csv.gz"
    path.write_bytes(gzip.compress(b"id,name\n1,a\n2,\n"))
    got = run_parse(capsys, path, tmp_path / "o")
    assert got.code == 0 and got.table("locations") == [{"id": "1", "name": "a"}, {"id": "2", "name": None}]


def test_tokenizer_gives_the_same_records_whatever_the_read_size(monkeypatch) -> None:
    from marina_assets.parsing import csv_tokenizer

    data = (
        b'\xef\xbb\xbfa,b,c\r\n1,"x""y,\r\nz",\r\n2,,""\r3,"q"tail,4\n"unterminated,5\n6,"end"""'
        + (POSTGRES / "boats_copy.csv").read_bytes()
    )
    whole = list(csv_tokenizer.iter_records(io.BytesIO(data)))
    for size in (1, 2, 3, 7):
        monkeypatch.setattr(csv_tokenizer, "_CHUNK", size)
        assert list(csv_tokenizer.iter_records(io.BytesIO(data))) == whole, size
    assert whole[1].fields == [b"1", b'x"y,\r\nz', None] and whole[1].line == 2
    assert whole[2].fields == [b"2", None, b""] and whole[3].error == "characters after a closing quote"
