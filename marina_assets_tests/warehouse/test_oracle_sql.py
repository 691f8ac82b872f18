"""Oracle without a server: the generated DDL and SP_MERGE_<TABLE> procedures, checked as text
and parsed statement by statement with sqlglot's Oracle dialect (it cannot parse PL/SQL units
whole, so the procedure's skeleton is checked here and each SQL statement in it by sqlglot)."""

from __future__ import annotations

import re
from datetime import date

import pyarrow as pa
import pytest
import sqlglot
from sqlglot import exp

from marina_assets.catalog import all_tables
from marina_assets.catalog.model import Kind, col, table
from marina_assets.parsing.events import Batch, Finished, TableReport
from marina_assets.staging.loader import LoadPolicy, load_backup
from marina_assets.warehouse.ddl import add_column_sql, create_table_sql
from marina_assets.warehouse.dialects import ORACLE
from marina_assets.warehouse.oracle_backend import (
    OracleSettings,
    OracleWarehouse,
    connect_kwargs,
    oracle_settings_from_env,
)
from marina_assets.warehouse.oracle_procedures import (
    create_procedure_sql,
    guard_plsql,
    procedure_name,
    procedure_sql,
)
from marina_assets.warehouse.schema import table_defs
from marina_assets.warehouse.sql_files import generate
from marina_assets.warehouse.sql_text import created_object, split_statements
from marina_assets_tests.warehouse.support import T, batch_of

TABLES = list(all_tables())
EXPECTED_KIND = {
    "fill_snapshot": exp.Insert,
    "reject_duplicates": exp.Insert,
    "revive": exp.Merge,
    "update": exp.Merge,
    "insert": exp.Insert,
    "pending_deletes": exp.Select,
    "delete": exp.Update,
    "live_count": exp.Select,
    "watermark": exp.Merge,
    "log": exp.Insert,
}
PLSQL_NAMES = re.compile(r"^(p|v)_[a-z_]+$")


def _parse(sql: str) -> exp.Expression:
    parsed = sqlglot.parse(sql, read="oracle", error_level=sqlglot.ErrorLevel.RAISE)
    assert len(parsed) == 1, sql
    return parsed[0]


def _identifiers_upper(tree: exp.Expression) -> list[str]:
    bad = []
    for node in tree.find_all(exp.Column, exp.Table):
        name = node.name
        if name and not PLSQL_NAMES.match(name) and name not in ("t", "s", "r", "w") and name != name.upper():
            bad.append(name)
    return bad


@pytest.mark.parametrize("tbl", TABLES, ids=lambda t: t.dw_name)
def test_every_procedure_statement_parses_as_oracle(tbl) -> None:
    for step, sql in procedure_sql(tbl).statements().items():
        tree = _parse(sql)
        assert isinstance(tree, EXPECTED_KIND[step]), (tbl.dw_name, step, type(tree))
        assert not _identifiers_upper(tree), (step, _identifiers_upper(tree))
        assert "NVL" not in sql.upper() and "-999999" not in sql and "@#NULL#@" not in sql


def test_procedure_skeleton_is_well_formed_and_in_order() -> None:
    for tbl in TABLES:
        text = create_procedure_sql(tbl)
        name = procedure_name(tbl)
        assert text.startswith(f"CREATE OR REPLACE PROCEDURE {name} (\n    p_backup_date IN DATE,")
        assert text.endswith(f"END {name};")
        body = re.sub(r"'(?:[^']|'')*'", "''", text)  # string literals cannot confuse the counts
        # every BEGIN and CASE closed by an END, every IF by an END IF
        openers = len(re.findall(r"\bBEGIN\b", body)) + len(re.findall(r"\bCASE\b", body))
        assert openers == len(re.findall(r"\bEND\b(?! IF)", body))
        assert len(re.findall(r"(?<!END )\bIF\b", body)) == body.count("END IF") == 3
        declared = set(re.findall(r"^\s+(v_\w+) ", body.split("BEGIN", 1)[0], re.M))
        used = set(re.findall(r"\bv_\w+", body))
        assert used <= declared, used - declared
        # dedupe (into the scratch table) strictly before any MERGE into the DW table: no ORA-30926
        assert body.index(f"INSERT INTO TMP_{tbl.dw_name[3:]}") < body.index(f"MERGE INTO {tbl.dw_name}")
        assert "COMMIT" not in body  # the caller's transaction covers the table
        assert len(name) <= 128 and len(f"TMP_{tbl.dw_name[3:]}") <= 30


def test_statements_inside_the_procedure_text_all_parse() -> None:
    tbl = next(t for t in TABLES if any(c.type.kind is Kind.TEXT for c in t.value_columns))
    body = create_procedure_sql(tbl).split("BEGIN", 1)[1]
    sql_chunks = []
    for chunk in re.split(r";\s*\n", body):  # each chunk ends with one statement, maybe after IF/comments
        lines = chunk.strip().splitlines()
        starts = [
            i for i, line in enumerate(lines) if re.match(r"\s*(SELECT|INSERT|UPDATE|DELETE|MERGE)\b", line)
        ]
        if starts:
            sql_chunks.append("\n".join(lines[starts[0] :]))
    assert len(sql_chunks) == 16
    for chunk in sql_chunks:
        _parse(chunk)


def test_null_safe_comparison_is_decode_and_clobs_have_their_own_rule() -> None:
    tbl = next(t for t in TABLES if any(c.type.kind is Kind.TEXT for c in t.value_columns))
    update = procedure_sql(tbl).update
    for c in tbl.value_columns:
        if c.type.kind is Kind.TEXT:
            assert f"DBMS_LOB.COMPARE(t.{c.name}, s.{c.name}) <> 0" in update
            assert f"DECODE(t.{c.name}," not in update
        else:
            assert f"DECODE(t.{c.name}, s.{c.name}, 0, 1) = 1" in update


def test_guard_matches_the_python_rule_for_allow_empty() -> None:
    strict = table("MOLO", "A", [col("Id", "int")], pk="Id")
    lenient = table("MOLO", "B", [col("Id", "int")], pk="Id", allow_empty=True)
    assert "v_truncated := TRUE;" in guard_plsql(strict).split("ELSIF")[0]
    assert "v_truncated := FALSE;" in guard_plsql(lenient).split("ELSIF")[0]
    assert "v_pending / v_live_before > p_max_delete_ratio" in guard_plsql(strict)


def test_oracle_ddl_parses_and_uses_oracle_types() -> None:
    for td in table_defs(ORACLE, TABLES):
        sql = create_table_sql(ORACLE, td)
        assert isinstance(_parse(sql), exp.Create), td.name
        assert "IF NOT EXISTS" not in sql and "BOOLEAN" not in sql and "BIGINT" not in sql
        if td.temporary:
            assert sql.startswith("CREATE GLOBAL TEMPORARY TABLE") and sql.endswith("ON COMMIT DELETE ROWS")
    alter = add_column_sql(ORACLE, "DW_MOLO_BOATS", table_defs(ORACLE, TABLES[:1])[3].columns[1])
    assert alter.startswith("ALTER TABLE DW_MOLO_BOATS ADD (") and isinstance(_parse(alter), exp.Alter)


def test_generated_oracle_scripts_split_into_parseable_objects() -> None:
    files = generate(ORACLE)
    procs = [n for n in files if n.startswith("20_merges/")]
    assert len(procs) == len(TABLES)
    mine = {
        n: t for n, t in files.items() if n.startswith(("10_tables/", "20_merges/"))
    }  # views: their own tests
    for name, text in mine.items():
        statements = split_statements(text)
        assert statements, name
        for s in statements:
            kind, obj = created_object(s) or ("?", "?")
            if name.startswith("20_merges/"):
                assert (kind, obj) == ("PROCEDURE", name.removeprefix("20_merges/").removesuffix(".sql"))
                assert text.rstrip().endswith("\n/")
            else:
                assert kind == "TABLE"
                _parse(s)


class _FakeCursor:
    """Records executemany calls; refuses the rows listed in `refuse` like batcherrors would."""

    def __init__(self, log: list, refuse: set[int]) -> None:
        self.log, self.refuse, self._errors = log, refuse, []

    def __enter__(self) -> _FakeCursor:
        return self

    def __exit__(self, *a: object) -> None:
        pass

    def executemany(self, sql: str, data: pa.Table | list, batcherrors: bool = False) -> None:
        self.log.append((sql, data))
        err = type("E", (), {})
        self._errors = []
        for i in sorted(self.refuse) if batcherrors else []:
            e = err()
            e.offset, e.message = i, "ORA-12899: value too large for column"
            self._errors.append(e)

    def getbatcherrors(self) -> list:
        return self._errors

    def execute(self, sql: str, params: dict) -> None:
        self.log.append((sql, params))
        self.rowcount = 0

    def fetchall(self) -> list[tuple]:
        return [(1,)]  # the load log's "another run staged this date" count: replace as usual


class _FakeConnection:
    def __init__(self, refuse: set[int]) -> None:
        self.log: list = []
        self.refuse = refuse

    def cursor(self) -> _FakeCursor:
        return _FakeCursor(self.log, self.refuse)

    def commit(self) -> None:
        self.log.append(("COMMIT", None))

    def rollback(self) -> None:
        self.log.append(("ROLLBACK", None))


def test_array_insert_quarantines_refused_rows_with_their_line() -> None:
    con = _FakeConnection(refuse={1})
    wh = OracleWarehouse(OracleSettings("u", "dsn"), connection=con)
    rows = [(1, "a", None, None, True), (2, "b" * 60, None, None, False), (3, "c", None, None, None)]
    batch = batch_of(T, rows, first_line=10)
    out = load_backup(
        wh,
        tables=[T],
        backup_date=date(2025, 11, 1),
        run_id="r",
        events=[Batch(T, batch), Finished(T, TableReport("Widgets.csv", rows_read=3))],
        policy=LoadPolicy(max_reject_ratio=0.5),
    )[T.stg_name]
    assert (out.status, out.rows_loaded, out.rows_rejected) == ("loaded", 2, 1)
    sql, data = con.log[0]
    assert sql.startswith(
        "INSERT INTO STG_MOLO_WIDGETS (ID, NAME, PRICE, SEEN, ACTIVE, SOURCE_LINE, BACKUP_DATE"
    )
    assert ":1, :2" in sql
    assert data.column("ACTIVE").to_pylist() == [1, 0, None]  # NUMBER(1), not a Python bool
    (rejects,) = [p for s, p in con.log if s.startswith("INSERT INTO MARINA_REJECTS")]
    (row,) = rejects
    # system, table, date, stage, member, line, raw, reason: the refused row is found by its offset
    assert row[:6] == ("MOLO", "STG_MOLO_WIDGETS", date(2025, 11, 1), "parse", "Widgets", 11)
    assert (
        "'NAME': 'bbbb" in row[6]
        and row[7] == "refused by the warehouse: ORA-12899: value too large for column"
    )
    assert con.log[-1] == ("COMMIT", None)


def test_connection_settings_come_from_the_environment_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARINA_ORACLE_USER", "marina")
    monkeypatch.setenv("MARINA_ORACLE_PASSWORD", "s3cret")
    monkeypatch.setenv("MARINA_ORACLE_DSN", "marina_high")
    monkeypatch.setenv("MARINA_ORACLE_CONFIG_DIR", "/w")
    monkeypatch.setenv("MARINA_ORACLE_WALLET_LOCATION", "/w")
    monkeypatch.setenv("MARINA_ORACLE_WALLET_PASSWORD", "w4llet")
    s = oracle_settings_from_env()
    assert "s3cret" not in repr(s) and "w4llet" not in repr(s) and s.describe() == "marina@marina_high"
    kw = connect_kwargs(s)
    assert kw == {
        "user": "marina",
        "password": "s3cret",
        "dsn": "marina_high",
        "config_dir": "/w",
        "wallet_location": "/w",
        "wallet_password": "w4llet",
    }
    monkeypatch.delenv("MARINA_ORACLE_CONFIG_DIR")
    monkeypatch.delenv("MARINA_ORACLE_WALLET_LOCATION")
    assert set(connect_kwargs(oracle_settings_from_env())) == {"user", "password", "dsn"}  # walletless TLS
    monkeypatch.delenv("MARINA_ORACLE_PASSWORD")
    with pytest.raises(ConnectionError, match="MARINA_ORACLE_PASSWORD"):
        oracle_settings_from_env()
