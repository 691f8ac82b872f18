"""What differs between warehouse engines, declared as data plus a few functions.

A `Dialect` carries the physical type for each logical catalog type and the handful of SQL
spellings that really differ (NULL-safe comparison, current timestamp, bind markers, how a
transaction-scoped scratch table is made, how DDL is made idempotent). DDL and merge SQL are
generated from it; the pipeline never branches on the engine's name.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from marina_assets.catalog.model import ColumnType, Kind


def _distinct_standard(a: str, b: str, _type: ColumnType) -> str:
    return f"{a} IS DISTINCT FROM {b}"


def _distinct_oracle(a: str, b: str, type_: ColumnType) -> str:
    # DECODE treats two NULLs as equal, unlike `=`; CLOBs cannot go through DECODE.
    if type_.kind is Kind.TEXT:
        return (
            f"(({a} IS NULL AND {b} IS NOT NULL) OR ({a} IS NOT NULL AND {b} IS NULL) "
            f"OR DBMS_LOB.COMPARE({a}, {b}) <> 0)"
        )
    return f"DECODE({a}, {b}, 0, 1) = 1"


def _temp_duckdb(name: str, select: str) -> str:
    return f"CREATE OR REPLACE TEMP TABLE {name} AS {select}"


def _temp_postgres(name: str, select: str) -> str:
    # gone at COMMIT or ROLLBACK, so a failed merge never leaves a stale snapshot behind
    return f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {select}"


def _temp_oracle(name: str, select: str) -> str:
    # Oracle keeps a global temporary table per DW table (created with the schema, ON COMMIT
    # DELETE ROWS); filling it is an INSERT, not DDL, so it stays inside the transaction.
    return f"INSERT INTO {name} {select}"


@dataclass(frozen=True)
class Dialect:
    name: str
    types: Mapping[Kind, str]  # format strings over length / precision / scale
    distinct: Callable[[str, str, ColumnType], str]  # SQL that is true when a and b differ
    now: str  # current timestamp expression
    bind: Callable[[str], str]  # parameter name -> named bind marker
    temp_table: Callable[[str, str], str]  # (name, SELECT) -> statement making the scratch table
    text_cast: str = "VARCHAR"  # type to CAST a number into for string concatenation
    text_key_allowed: bool = True
    create_if_not_exists: bool = True  # `CREATE TABLE IF NOT EXISTS` is understood
    add_column_parens: bool = False  # ALTER TABLE t ADD (c type) instead of ADD c type
    # the scratch snapshot is a permanent global temporary table per DW table (Oracle), not a
    # temp table made and dropped inside the merge's transaction
    permanent_scratch: bool = False
    # STG is list-partitioned by BACKUP_DATE, a partition per date swapped in by its load
    # (`pg_partitions`). Without it, "rows of date D" scans rely on the engine's own pruning
    # (DuckDB's per-row-group min/max, Oracle's full scan of a table it is asked to keep small).
    stg_partitioned: bool = False
    # ANALYZE a freshly filled scratch table: PostgreSQL plans a join with a small delta as a
    # hash join over the whole DW table unless it knows the delta is small
    analyze_scratch: bool = False
    # STG and DW carry audit.ROW_HASH: the merge's classify join compares key + hash instead of
    # every column, and confirms only the rows whose hashes differ column by column. Worth it
    # where the row-at-a-time join is the merge's cost (PostgreSQL); DuckDB compares columns
    # vectorised and Oracle's procedure keeps its own statements.
    row_hash: bool = False
    # every DW table has a version its writing statements bump (`dw_versions`), so the load may
    # classify a date's keys against the DW and the merge use that delta while the version holds
    dw_versions: bool = False

    def column_type(self, type_: ColumnType) -> str:
        return self.types[type_.kind].format(
            length=type_.length, precision=type_.precision, scale=type_.scale
        )


DUCKDB = Dialect(
    name="duckdb",
    types={
        Kind.INTEGER: "BIGINT",
        Kind.DECIMAL: "DECIMAL({precision},{scale})",
        Kind.VARCHAR: "VARCHAR({length})",
        Kind.TEXT: "VARCHAR",
        Kind.DATE: "DATE",
        Kind.TIMESTAMP: "TIMESTAMP",
        Kind.BOOLEAN: "BOOLEAN",
    },
    distinct=_distinct_standard,
    now="CURRENT_TIMESTAMP::TIMESTAMP",
    bind=lambda name: f"${name}",
    temp_table=_temp_duckdb,
)

POSTGRES = Dialect(
    name="postgres",
    types={
        Kind.INTEGER: "BIGINT",
        Kind.DECIMAL: "NUMERIC({precision},{scale})",
        Kind.VARCHAR: "VARCHAR({length})",
        Kind.TEXT: "TEXT",
        Kind.DATE: "DATE",
        Kind.TIMESTAMP: "TIMESTAMP",
        Kind.BOOLEAN: "BOOLEAN",
    },
    distinct=_distinct_standard,
    now="LOCALTIMESTAMP",
    bind=lambda name: f"%({name})s",
    temp_table=_temp_postgres,
    text_cast="TEXT",
    analyze_scratch=True,
    row_hash=True,
    stg_partitioned=True,
    dw_versions=True,
)

ORACLE = Dialect(
    name="oracle",
    types={
        Kind.INTEGER: "NUMBER(19)",
        Kind.DECIMAL: "NUMBER({precision},{scale})",
        Kind.VARCHAR: "VARCHAR2({length} CHAR)",
        Kind.TEXT: "CLOB",
        Kind.DATE: "DATE",
        Kind.TIMESTAMP: "TIMESTAMP",
        Kind.BOOLEAN: "NUMBER(1)",
    },
    distinct=_distinct_oracle,
    now="LOCALTIMESTAMP",
    bind=lambda name: f":{name}",
    temp_table=_temp_oracle,
    text_cast="VARCHAR2(40)",
    text_key_allowed=False,
    create_if_not_exists=False,
    add_column_parens=True,
    permanent_scratch=True,
)

DIALECTS: Mapping[str, Dialect] = {d.name: d for d in (DUCKDB, POSTGRES, ORACLE)}
