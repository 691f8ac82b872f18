"""`marina-etl parse` and the staging parser on dumps written by mariadb-dump itself.

The fixtures (see fixtures/parsing/README.md) were made once by a real MariaDB 10.11 server;
`given.json` holds the values the server was given. Every flavour must give them back.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from marina_assets.catalog.model import col, table
from marina_assets.parsing import sql_splitter
from marina_assets.parsing.events import BackupError
from marina_assets.parsing.inspect import inspect_file
from marina_assets.parsing.mysqldump import parse_mysqldump
from marina_assets.parsing.mysqldump_raw import read_schema
from marina_assets_tests.parsing.helpers import collect
from marina_assets_tests.parsing.inspect_helpers import MARIADB, given, run_parse

GIVEN = given("mariadb")

# every test on both fast paths: the C scanner's VALUES rewrite and the numpy proof (conftest.py)
pytestmark = pytest.mark.usefixtures("csv_reader")


def _same(column: str, got: object, want: object) -> None:
    if column == "balance" and want is not None:
        assert Decimal(str(got)) == Decimal(want)
    elif column == "ratio" and want is not None:
        assert float(got) == float(want)  # the server prints doubles its own way
    else:
        assert got == want, column


def _check_customers(rows: list[dict]) -> None:
    want = GIVEN["marina.customers"]
    assert len(rows) == len(want)
    for got, exp in zip(rows, want, strict=True):
        assert list(got) == list(exp)  # the dump's column names, in order
        for column in exp:
            _same(column, got[column], exp[column])


@pytest.mark.parametrize(
    "fixture",
    [
        "default.sql",
        "default.sql.gz",
        "skip_extended_insert.sql",
        "complete_insert.sql",
        "hex_blob.sql",
        "compact_replace.sql",
    ],
)
def test_every_flavour_gives_back_what_the_server_was_given(fixture: str, tmp_path: Path, capsys) -> None:
    got = run_parse(capsys, MARIADB / fixture, tmp_path / "out")
    assert got.code == 0, got.stderr
    assert got.files == {"customers.jsonl", "_rejects.jsonl"}  # the view is not a table
    _check_customers(got.table("customers"))
    assert got.rejects == []
    assert "customers" in got.stdout and " 6 " in got.stdout


def test_no_create_info_mapped_by_a_schema_only_dump(tmp_path: Path, capsys) -> None:
    got = run_parse(
        capsys, MARIADB / "no_create_info.sql", tmp_path / "o", "--schema", str(MARIADB / "schema_only.sql")
    )
    assert got.code == 0, got.stderr
    _check_customers(got.table("customers"))


def test_no_create_info_without_schema_is_positional_and_untyped(tmp_path: Path, capsys) -> None:
    got = run_parse(capsys, MARIADB / "no_create_info.sql", tmp_path / "o")
    rows = got.table("customers")
    first = GIVEN["marina.customers"][0]
    assert list(rows[0]) == [f"col{i}" for i in range(1, 13)]
    assert rows[0]["col1"] == 1 and rows[0]["col2"] == first["name"] and rows[0]["col10"] == first["note"]
    # undeclared binary: valid UTF-8 stays text, the rest is hex; the bit value is its raw byte
    assert rows[0]["col8"] == "ab" and rows[0]["col7"] == first["photo"] and rows[0]["col9"] == "\x05"


def test_two_databases_same_table_name_routines_not_data(tmp_path: Path, capsys) -> None:
    got = run_parse(capsys, MARIADB / "two_databases.sql", tmp_path / "o")
    assert got.code == 0, got.stderr
    assert got.files == {
        "marina.customers.jsonl",
        "harbor.customers.jsonl",
        "harbor.boats.jsonl",
        "_rejects.jsonl",
    }
    _check_customers(got.table("marina.customers"))  # the procedure's INSERT (id 98) is not data
    assert got.table("harbor.customers") == GIVEN["harbor.customers"]
    boats = got.table("harbor.boats")
    assert [b["id"] for b in boats] == list(range(1, 301))
    for b, w in zip(boats, GIVEN["harbor.boats"], strict=True):
        assert b["name"] == w["name"] and b["length"] == w["length"]


def test_small_read_chunks_change_nothing(tmp_path: Path, monkeypatch) -> None:
    whole = inspect_file(str(MARIADB / "two_databases.sql"), str(tmp_path / "a"))
    monkeypatch.setattr(sql_splitter, "_CHUNK", 7)  # every token straddles a chunk boundary
    small = inspect_file(str(MARIADB / "two_databases.sql"), str(tmp_path / "b"))
    assert [(t.name, t.rows) for t in whole.tables] == [(t.name, t.rows) for t in small.tables]
    for t in whole.tables:
        assert (tmp_path / "a" / f"{t.name}.jsonl").read_bytes() == (
            tmp_path / "b" / f"{t.name}.jsonl"
        ).read_bytes()


def test_every_cut_of_a_dump_is_an_error_never_a_short_success(tmp_path: Path, capsys) -> None:
    data = (MARIADB / "default.sql").read_bytes()
    for cut in range(0, len(data) - 1, 151):
        path = tmp_path / "cut.sql"
        path.write_bytes(data[:cut])
        got = run_parse(capsys, path, tmp_path / "o")
        assert got.code == 1, cut
        assert got.stderr.count("\n") == 1 and str(path) in got.stderr
    assert not any(p.name.endswith(".partial") for p in (tmp_path / "o").iterdir())


def test_truncated_gzip_names_the_file(tmp_path: Path, capsys) -> None:
    data = (MARIADB / "default.sql.gz").read_bytes()
    path = tmp_path / "prod_resilient_2025-11-17_05_00-DATA.sql.gz"
    path.write_bytes(data[: len(data) - 40])
    got = run_parse(capsys, path, tmp_path / "o")
    assert got.code == 1 and "corrupt or truncated" in got.stderr and path.name in got.stderr


# -- the staging parser (catalog-typed) on the same dumps ------------------------------------

CUSTOMERS = table(
    "STELLAR",
    "customers",
    [
        col("id", "int"),
        col("name", "str(40)"),
        col("balance", "dec(10,2)"),
        col("born", "date"),
        col("vip", "bool", nullable=False),
        col("seen", "ts"),
        col("note", "text"),
    ],
    pk="id",
)
BOATS = table(
    "STELLAR",
    "boats",
    [col("id", "int"), col("name", "str(60)", nullable=False), col("length", "dec(6,2)")],
    pk="id",
)


def _typed(fixture: str, tables=(CUSTOMERS,), **kw):
    return collect(parse_mysqldump(io.BytesIO((MARIADB / fixture).read_bytes()), fixture, list(tables), **kw))


def _expected_typed() -> list[dict]:
    out = []
    for r in GIVEN["marina.customers"]:
        born = r["born"] if r["born"] not in (None, "0000-00-00") else None
        seen = r["seen"] if r["seen"] not in (None, "0000-00-00 00:00:00") else None
        out.append(
            {
                "ID": r["id"],
                "NAME": r["name"],
                "BALANCE": None if r["balance"] is None else Decimal(r["balance"]),
                "BORN": date.fromisoformat(born) if born else None,
                "VIP": bool(r["vip"]),
                "SEEN": datetime.fromisoformat(seen) if seen else None,
                "NOTE": r["note"],
            }
        )
    return out


@pytest.mark.parametrize(
    "fixture",
    ["default.sql", "default.sql.gz", "skip_extended_insert.sql", "complete_insert.sql", "hex_blob.sql"],
)
def test_typed_staging_values(fixture: str) -> None:
    got = _typed(fixture)
    assert not got.failures and not got.rejects.get("customers")
    rows = [{k: v for k, v in r.items() if k != "SOURCE_LINE"} for r in got.rows["customers"]]
    assert rows == _expected_typed()
    report = got.reports["customers"]
    assert report.rows_read == 6 and report.extra_columns == ["photo", "code", "flags", "ratio", "big"]


def test_typed_no_create_info_by_catalog_order_fails_loudly_when_it_does_not_fit() -> None:
    # the catalog lists 7 columns, the dump's tuples have 12: every tuple is quarantined, none shifted
    got = _typed("no_create_info.sql")
    assert "customers" not in got.rows
    assert {r.reason for r in got.rejects["customers"]} == {"tuple has 12 values, the table has 7 columns"}


def test_typed_no_create_info_with_schema_dump() -> None:
    schema = read_schema(io.BytesIO((MARIADB / "schema_only.sql").read_bytes()), "schema_only.sql")
    got = _typed("no_create_info.sql", schema=schema)
    rows = [{k: v for k, v in r.items() if k != "SOURCE_LINE"} for r in got.rows["customers"]]
    assert rows == _expected_typed()


def test_typed_same_table_in_two_databases_is_ambiguous_other_tables_load() -> None:
    got = _typed("two_databases.sql", tables=(CUSTOMERS, BOATS))
    assert "ambiguous" in got.failures["customers"] and "marina" in got.failures["customers"]
    assert len(got.rows["boats"]) == 300 and got.rows["boats"][0]["NAME"] == GIVEN["harbor.boats"][0]["name"]
    assert got.reports["boats"].member == "two_databases.sql:harbor.boats"


def test_typed_several_insert_statements_keep_their_lines() -> None:
    got = _typed("net_buffer_4096.sql", tables=(BOATS,))
    rows = got.rows["boats"]
    assert [r["ID"] for r in rows] == list(range(1, 301))
    assert len({r["SOURCE_LINE"] for r in rows}) == 3  # three INSERT statements
    assert rows[6]["LENGTH"] is None and rows[0]["LENGTH"] == Decimal("1.25")


def test_typed_truncated_dump_raises_for_the_backup() -> None:
    data = (MARIADB / "default.sql").read_bytes()
    with pytest.raises(BackupError, match=r"incomplete|middle|inside"):
        collect(parse_mysqldump(io.BytesIO(data[: data.index(b"UNLOCK TABLES")]), "x.sql", [CUSTOMERS]))
