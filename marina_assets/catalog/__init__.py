"""The table catalog: every source system and table the pipeline knows, validated on import.

`SYSTEMS` is the single source of truth. Per-system table lists live in `molo.py`,
`stellar.py` and `netsuite.py`; this module assembles them and refuses a catalog that would
produce an illegal or ambiguous warehouse (see `validate`).
"""

from __future__ import annotations

from collections.abc import Iterable

from marina_assets.catalog import molo, netsuite, stellar
from marina_assets.catalog.audit import RESERVED_COLUMN_NAMES
from marina_assets.catalog.identifiers import identifier_problem
from marina_assets.catalog.model import Column, ColumnType, Kind, SourceSystem, Table

__all__ = [
    "SYSTEMS",
    "Column",
    "ColumnType",
    "Kind",
    "SourceSystem",
    "Table",
    "all_tables",
    "system",
    "validate",
]


class CatalogError(ValueError):
    """The catalog describes something the warehouse cannot hold."""


MOLO = SourceSystem(
    code="MOLO",
    label="MOLO marina operations",
    backup_format="csv_zip",
    object_pattern=r"molo_backup_(?P<date>\d{4}-\d{2}-\d{2})_(?P<time>\d{2}-\d{2}-\d{2})\.zip",
    object_name_format="molo_backup_%Y-%m-%d_%H-%M-%S.zip",
    tables=molo.TABLES,
)

STELLAR = SourceSystem(
    code="STELLAR",
    label="Stellar Business boat rentals",
    backup_format="mysqldump",
    object_pattern=r"prod_resilient_(?P<date>\d{4}-\d{2}-\d{2})_(?P<time>\d{2}_\d{2})-DATA\.sql\.gz",
    object_name_format="prod_resilient_%Y-%m-%d_%H_%M-DATA.sql.gz",
    tables=stellar.TABLES,
)

NETSUITE = SourceSystem(
    code="NS",
    label="NetSuite general ledger",
    backup_format="csv_zip",
    object_pattern=r"netsuite_export_(?P<date>\d{4}-\d{2}-\d{2})_(?P<time>\d{2}-\d{2}-\d{2})\.zip",
    object_name_format="netsuite_export_%Y-%m-%d_%H-%M-%S.zip",
    tables=netsuite.TABLES,
)

SYSTEMS: tuple[SourceSystem, ...] = (MOLO, STELLAR, NETSUITE)


def system(code: str) -> SourceSystem:
    for s in SYSTEMS:
        if s.code == code.upper() or s.asset_prefix == code.lower():
            return s
    raise KeyError(f"unknown source system {code!r}; known: {[s.code for s in SYSTEMS]}")


def all_tables() -> Iterable[Table]:
    for s in SYSTEMS:
        yield from s.tables


def _table_problems(t: Table, tables_by_source: dict[str, Table]) -> list[str]:
    where = f"{t.system}.{t.source}"
    problems: list[str] = []
    for name in (t.stg_name, t.dw_name):
        why = identifier_problem(name)
        if why:
            problems.append(f"{where}: table name {name} {why}")
    seen: set[str] = set()
    seen_sources: set[str] = set()
    for c in t.columns:
        why = identifier_problem(c.name)
        if why:
            problems.append(f"{where}.{c.source}: column name {c.name} {why}")
        if c.name in RESERVED_COLUMN_NAMES:
            problems.append(f"{where}.{c.source}: {c.name} collides with a pipeline audit column")
        if c.name in seen:
            problems.append(f"{where}: warehouse column {c.name} declared twice")
        if c.source.lower() in seen_sources:
            problems.append(f"{where}: source column {c.source} declared twice")
        seen.add(c.name)
        seen_sources.add(c.source.lower())
        if c.type.kind is Kind.VARCHAR and not (c.type.length and 0 < c.type.length <= 4000):
            problems.append(f"{where}.{c.source}: varchar length must be 1..4000 (use text beyond)")
        if c.type.kind is Kind.DECIMAL and not (
            c.type.precision and 0 < c.type.precision <= 38 and 0 <= (c.type.scale or 0) <= c.type.precision
        ):
            problems.append(f"{where}.{c.source}: decimal precision/scale out of range")
        if c.ref is not None:
            parent = tables_by_source.get(c.ref)
            if parent is None:
                problems.append(f"{where}.{c.source}: references unknown table {c.ref}")
            elif len(parent.primary_key) != 1:
                problems.append(f"{where}.{c.source}: references {c.ref}, whose key is composite")
    if not t.primary_key:
        problems.append(f"{where}: no primary key")
    for k in t.key_columns:
        if k.type.kind is Kind.TEXT:
            problems.append(f"{where}: key column {k.name} cannot be unbounded text")
    return problems


def validate(systems: Iterable[SourceSystem] = SYSTEMS) -> None:
    """Raise CatalogError listing every problem, so one run shows them all."""
    problems: list[str] = []
    names: dict[str, str] = {}
    for s in systems:
        by_source = {t.source: t for t in s.tables}
        if len(by_source) != len(s.tables):
            problems.append(f"{s.code}: a source table is declared twice")
        for t in s.tables:
            if t.system != s.code:
                problems.append(f"{t.source}: declared with system {t.system}, listed under {s.code}")
            problems.extend(_table_problems(t, by_source))
            for name in (t.stg_name, t.dw_name):
                if name in names:
                    problems.append(f"{name} produced by both {names[name]} and {s.code}.{t.source}")
                names[name] = f"{s.code}.{t.source}"
    if problems:
        raise CatalogError("table catalog is invalid:\n  " + "\n  ".join(problems))


validate()
