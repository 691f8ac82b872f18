"""Table definitions generated from the catalog: STG, DW and the pipeline's own tables.

`TableDef` is the dialect-neutral shape of one physical table; `create_table_sql` renders it.
The pipeline tables (rejects, load log, watermarks) are declared here as data, next to the
functions that derive STG_* and DW_* definitions from a catalog `Table`.
"""

from __future__ import annotations

from dataclasses import dataclass

from marina_assets.catalog import audit
from marina_assets.catalog.model import ColumnType, Kind, Table
from marina_assets.warehouse.dialects import Dialect


@dataclass(frozen=True)
class ColumnDef:
    name: str
    type: ColumnType
    nullable: bool = True
    default: str | None = None  # a SQL literal every dialect reads alike


@dataclass(frozen=True)
class TableDef:
    name: str
    columns: tuple[ColumnDef, ...]
    primary_key: tuple[str, ...] = ()
    temporary: bool = False  # Oracle global temporary table (rows vanish at COMMIT)
    partition_by: str | None = None  # list-partitioned by this column (PostgreSQL STG)

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)


def _v(n: int) -> ColumnType:
    return ColumnType(Kind.VARCHAR, length=n)


_INT = ColumnType(Kind.INTEGER)
_DATE = ColumnType(Kind.DATE)
_TS = ColumnType(Kind.TIMESTAMP)

REJECTS = TableDef(
    "MARINA_REJECTS",
    (
        ColumnDef("SOURCE_SYSTEM", _v(10), False),
        ColumnDef("TABLE_NAME", _v(30), False),
        ColumnDef("BACKUP_DATE", _DATE, False),
        ColumnDef("STAGE", _v(10), False),  # parse | merge
        ColumnDef("MEMBER_NAME", _v(400)),
        ColumnDef("LINE_NUMBER", _INT),
        ColumnDef("RAW_RECORD", ColumnType(Kind.TEXT)),
        ColumnDef("REASON", _v(4000), False),
        ColumnDef("LOAD_RUN_ID", _v(64), False),
        ColumnDef("REJECTED_AT", _TS, False),
    ),
)

LOAD_LOG = TableDef(
    "MARINA_LOAD_LOG",
    (
        ColumnDef("LOAD_RUN_ID", _v(64), False),
        ColumnDef("SOURCE_SYSTEM", _v(10), False),
        ColumnDef("TABLE_NAME", _v(30), False),
        ColumnDef("BACKUP_DATE", _DATE, False),
        ColumnDef("LAYER", _v(3), False),  # STG | DW
        ColumnDef("STATUS", _v(20), False),
        ColumnDef("ROWS_READ", _INT),
        ColumnDef("ROWS_LOADED", _INT),
        ColumnDef("ROWS_REJECTED", _INT),
        ColumnDef("ROWS_INSERTED", _INT),
        ColumnDef("ROWS_UPDATED", _INT),
        ColumnDef("ROWS_DELETED", _INT),
        ColumnDef("ROWS_REVIVED", _INT),
        ColumnDef("DELETES_HELD", _INT),
        ColumnDef("ROWS_LIVE", _INT),  # DW: live rows after the merge
        ColumnDef("STARTED_AT", _TS, False),
        ColumnDef("FINISHED_AT", _TS, False),
        ColumnDef("MESSAGE", _v(4000)),
        # STG: the number of distinct keys among the rows loaded, when the loader counted them
        # (it does when no key repeats); lets the merge skip its duplicate-key scan
        ColumnDef("DISTINCT_KEYS", _INT),
    ),
)

WATERMARKS = TableDef(
    "MARINA_WATERMARKS",
    (
        ColumnDef("TABLE_NAME", _v(30), False),
        ColumnDef("LAST_BACKUP_DATE", _DATE, False),
        ColumnDef("UPDATED_AT", _TS, False),
    ),
    primary_key=("TABLE_NAME",),
)

PIPELINE_TABLES = (REJECTS, LOAD_LOG, WATERMARKS)


def _hash_column(dialect: Dialect | None) -> tuple[ColumnDef, ...]:
    if dialect is None or not dialect.row_hash:
        return ()
    name, type_, nullable = audit.ROW_HASH_COLUMN
    return (ColumnDef(name, type_, nullable),)


def stg_def(table: Table, dialect: Dialect | None = None) -> TableDef:
    """STG_*: every catalog column nullable (the quarantine enforces NOT NULL), plus lineage."""
    cols = tuple(ColumnDef(c.name, c.type, True) for c in table.columns)
    extra = tuple(ColumnDef(n, t, nullable) for n, t, nullable in audit.STG_COLUMNS)
    partitioned = dialect is not None and dialect.stg_partitioned
    # rows inserted through STG itself (by hand) belong to stream 0
    stream = (ColumnDef(*audit.LOAD_STREAM_COLUMN, default="0"),) if partitioned else ()
    by = audit.BACKUP_DATE if partitioned else None
    return TableDef(table.stg_name, cols + extra + _hash_column(dialect) + stream, partition_by=by)


def dw_def(table: Table, dialect: Dialect | None = None) -> TableDef:
    """DW_*: catalog columns with their nullability, enforced primary key, audit columns."""
    cols = tuple(ColumnDef(c.name, c.type, c.nullable) for c in table.columns)
    extra = tuple(ColumnDef(n, t, nullable) for n, t, nullable in audit.DW_COLUMNS)
    return TableDef(table.dw_name, cols + extra + _hash_column(dialect), table.primary_key)


def _default(c: ColumnDef) -> str:
    return "" if c.default is None else f" DEFAULT {c.default}"


def column_sql(dialect: Dialect, c: ColumnDef) -> str:
    return f"{c.name} {dialect.column_type(c.type)}{_default(c)}{'' if c.nullable else ' NOT NULL'}"


def create_table_sql(dialect: Dialect, t: TableDef, *, if_not_exists: bool = True) -> str:
    if t.temporary:
        return create_global_temporary_sql(dialect, t)
    lines = [f"    {column_sql(dialect, c)}" for c in t.columns]
    if t.primary_key:
        lines.append(f"    CONSTRAINT PK_{t.name[:27]} PRIMARY KEY ({', '.join(t.primary_key)})")
    # Oracle (before 23ai) has no IF NOT EXISTS; ensure_schema only creates what is missing anyway
    guard = "IF NOT EXISTS " if if_not_exists and dialect.create_if_not_exists else ""
    partitions = f" PARTITION BY LIST ({t.partition_by})" if t.partition_by else ""
    return f"CREATE TABLE {guard}{t.name} (\n" + ",\n".join(lines) + f"\n){partitions}"


def snapshot_def(table: Table, name: str) -> TableDef:
    """The scratch table a merge fills with the deduped snapshot (catalog columns + line)."""
    cols = tuple(ColumnDef(c.name, c.type, True) for c in table.columns)
    return TableDef(name, (*cols, ColumnDef(audit.SOURCE_LINE, _INT, True)), temporary=True)


def create_global_temporary_sql(dialect: Dialect, t: TableDef) -> str:
    """Oracle's transaction-scoped scratch table: defined once, rows vanish at COMMIT."""
    lines = [f"    {column_sql(dialect, c)}" for c in t.columns]
    return f"CREATE GLOBAL TEMPORARY TABLE {t.name} (\n" + ",\n".join(lines) + "\n) ON COMMIT DELETE ROWS"


def add_column_sql(dialect: Dialect, table_name: str, c: ColumnDef) -> str:
    # additive change: new catalog columns arrive nullable so existing rows stay valid
    spec = f"{c.name} {dialect.column_type(c.type)}{_default(c)}"
    return (
        f"ALTER TABLE {table_name} ADD ({spec})"
        if dialect.add_column_parens
        else (f"ALTER TABLE {table_name} ADD {spec}")
    )
