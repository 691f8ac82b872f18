"""The table catalog's vocabulary: logical types, columns, tables and source systems.

Every table the pipeline knows is one `Table` value. Everything else — DDL per dialect, the
STG loaders, the merge SQL, Dagster asset specs and column schemas, the sample-data generator —
is derived from these values, so adding a table is adding one entry to a source's catalog
module.

Naming scheme (derived, overridable per column/table):
- a source column `BoatTypeId` / `boat_type_id` becomes warehouse column `BOAT_TYPE_ID`;
- a source table `InvoiceItemSet` of MOLO becomes `STG_MOLO_INVOICE_ITEM_SET` and
  `DW_MOLO_INVOICE_ITEM_SET` unless the entry names its warehouse stem (`wh="INVOICE_ITEMS"`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from enum import StrEnum


class Kind(StrEnum):
    """Logical column types; each dialect maps them to physical types."""

    INTEGER = "integer"
    DECIMAL = "decimal"
    VARCHAR = "varchar"
    TEXT = "text"  # unbounded text: CLOB in Oracle, so change detection needs its own rule
    DATE = "date"
    TIMESTAMP = "timestamp"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class ColumnType:
    kind: Kind
    length: int | None = None  # VARCHAR characters
    precision: int | None = None  # DECIMAL
    scale: int | None = None  # DECIMAL

    def __str__(self) -> str:
        if self.kind is Kind.VARCHAR:
            return f"varchar({self.length})"
        if self.kind is Kind.DECIMAL:
            return f"decimal({self.precision},{self.scale})"
        return self.kind.value


def parse_type(spec: str) -> ColumnType:
    """Parse the compact type notation used in catalog entries.

    `int`, `dec(12,2)`, `str(100)`, `text`, `date`, `ts`, `bool`.
    """
    spec = spec.strip().lower()
    simple = {
        "int": Kind.INTEGER,
        "text": Kind.TEXT,
        "date": Kind.DATE,
        "ts": Kind.TIMESTAMP,
        "bool": Kind.BOOLEAN,
    }
    if spec in simple:
        return ColumnType(simple[spec])
    m = re.fullmatch(r"str\((\d+)\)", spec)
    if m:
        return ColumnType(Kind.VARCHAR, length=int(m.group(1)))
    m = re.fullmatch(r"dec\((\d+),\s*(\d+)\)", spec)
    if m:
        return ColumnType(Kind.DECIMAL, precision=int(m.group(1)), scale=int(m.group(2)))
    raise ValueError(f"unknown column type notation {spec!r}")


def warehouse_name(source_name: str) -> str:
    """`BoatTypeId` / `boat_type_id` / `Boat Type ID` -> `BOAT_TYPE_ID`."""
    s = re.sub(r"[^0-9A-Za-z]+", "_", source_name.strip())
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return re.sub(r"_+", "_", s).strip("_").upper()


@dataclass(frozen=True)
class Column:
    """One column: its name in the source file, its warehouse name and its logical type.

    `ref` names the catalog table (source name, same system) whose primary key this column
    references; `choices` lists the closed set of values a coded column takes. Both feed the
    documentation, the referential-integrity checks and the sample generator.
    """

    source: str
    type: ColumnType
    nullable: bool = True
    name: str = ""  # warehouse name; derived from `source` when empty
    ref: str | None = None
    choices: tuple[str, ...] | None = None
    description: str = ""
    gen: str | None = None  # generator hint, e.g. "email", "money", "length_ft"

    def __post_init__(self) -> None:
        if not self.name:
            object.__setattr__(self, "name", warehouse_name(self.source))


@dataclass(frozen=True)
class Table:
    """One table of a source system, as the backup delivers it and as the warehouse keeps it."""

    system: str  # MOLO | STELLAR | NS
    source: str  # CSV member stem (MOLO, NetSuite) or dump table name (Stellar)
    stem: str  # warehouse stem: STG_<system>_<stem>, DW_<system>_<stem>
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]  # warehouse column names
    lookup: bool = False  # small reference table; may legitimately be tiny
    allow_empty: bool = False  # an empty snapshot is normal, not a truncated backup
    soft_delete: bool = True
    sample_rows: int = 0  # approximate rows at generator scale 1
    description: str = ""

    @property
    def stg_name(self) -> str:
        return f"STG_{self.system}_{self.stem}"

    @property
    def dw_name(self) -> str:
        return f"DW_{self.system}_{self.stem}"

    @property
    def asset_name(self) -> str:
        """Dagster-friendly lower-case stem shared by the STG and DW asset keys."""
        return f"{self.system}_{self.stem}".lower()

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def key_columns(self) -> tuple[Column, ...]:
        by_name = {c.name: c for c in self.columns}
        return tuple(by_name[k] for k in self.primary_key)

    @property
    def single_integer_key(self) -> bool:
        """The key is one integer column: the PostgreSQL fast paths split and index by it."""
        return len(self.key_columns) == 1 and self.key_columns[0].type.kind is Kind.INTEGER

    @property
    def value_columns(self) -> tuple[Column, ...]:
        keys = set(self.primary_key)
        return tuple(c for c in self.columns if c.name not in keys)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"{self.stg_name} has no column {name}")


@dataclass(frozen=True)
class SourceSystem:
    """A system that drops a nightly backup: how to recognise it and which tables it holds."""

    code: str  # MOLO | STELLAR | NS
    label: str
    backup_format: str  # csv_zip | mysqldump
    # regex over the object's file name; must capture `date` (YYYY-MM-DD) and `time`
    object_pattern: str
    # strftime pattern used by the generator to write the legacy object names
    object_name_format: str
    tables: tuple[Table, ...] = field(default_factory=tuple)

    @property
    def asset_prefix(self) -> str:
        return {"NS": "netsuite"}.get(self.code, self.code.lower())

    def table(self, source_name: str) -> Table:
        for t in self.tables:
            if t.source == source_name:
                return t
        raise KeyError(f"{self.code} has no table {source_name!r}")


# -- compact constructors used by the per-system catalog modules ---------------------------


def col(
    source: str,
    type_spec: str,
    *,
    nullable: bool = True,
    name: str = "",
    ref: str | None = None,
    choices: tuple[str, ...] | list[str] | None = None,
    description: str = "",
    gen: str | None = None,
) -> Column:
    """Declare a column in compact notation: `col("BoatTypeId", "int", ref="BoatTypes")`."""
    return Column(
        source=source,
        type=parse_type(type_spec),
        nullable=nullable,
        name=name,
        ref=ref,
        choices=tuple(choices) if choices is not None else None,
        description=description,
        gen=gen,
    )


def table(
    system: str,
    source: str,
    columns: list[Column],
    *,
    pk: str | tuple[str, ...],
    stem: str = "",
    lookup: bool = False,
    allow_empty: bool = False,
    soft_delete: bool = True,
    rows: int = 0,
    description: str = "",
) -> Table:
    """Declare a table; `pk` uses source column names, like the columns do."""
    pk_sources = (pk,) if isinstance(pk, str) else tuple(pk)
    by_source = {c.source: c for c in columns}
    missing = [p for p in pk_sources if p not in by_source]
    if missing:
        raise ValueError(f"{system}.{source}: primary key column(s) {missing} not declared")
    # key columns are never NULL, whatever the entry says
    fixed = tuple(
        Column(**{**c.__dict__, "nullable": False}) if c.source in pk_sources else c for c in columns
    )
    return Table(
        system=system,
        source=source,
        stem=stem or warehouse_name(source),
        columns=fixed,
        primary_key=tuple(by_source[p].name for p in pk_sources),
        lookup=lookup,
        allow_empty=allow_empty,
        soft_delete=soft_delete,
        sample_rows=rows or (8 if lookup else 100),
        description=description,
    )
