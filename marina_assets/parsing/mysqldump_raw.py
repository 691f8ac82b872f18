"""The raw layer of a MySQL dump: which statements carry tables and rows, untyped.

`read_dump` turns the statement stream into `TableDef` (a CREATE TABLE: column names and
declared types) and `Insert` (an INSERT/REPLACE: target, optional column list, where its
VALUES start) events, tracking `USE` so the same table name in two databases stays apart.
Everything else — SET, LOCK/UNLOCK, DROP, views, triggers, routines — is read and ignored;
nothing is ever executed. Both the staging parser and the inspect command sit on this layer.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import BinaryIO

from marina_assets.parsing.sql_splitter import iter_statements

_ID = rb"(?:`((?:[^`]|``)+)`|([A-Za-z0-9_$]+))"
_INSERT = re.compile(
    rb"(?:INSERT|REPLACE)\s+(?:(?:LOW_PRIORITY|DELAYED|HIGH_PRIORITY|IGNORE)\s+)*(?:INTO\s+)?"
    rb"(?:" + _ID + rb"\s*\.\s*)?" + _ID + rb"\s*(?:\((?P<cols>(?:[^)`]|`(?:[^`]|``)*`)*)\)\s*)?VALUES?\b\s*",
    re.I | re.S,
)
_CREATE = re.compile(
    rb"CREATE\s+(?:OR\s+REPLACE\s+)?(?:TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
    rb"(?:" + _ID + rb"\s*\.\s*)?" + _ID + rb"\s*\(",
    re.I | re.S,
)
_USE = re.compile(rb"USE\s+" + _ID + rb"\s*$", re.I | re.S)
_IDENT = re.compile(_ID)
_COLUMN = re.compile(rb"\s*" + _ID + rb"\s+([A-Za-z]+(?:\s*\([^)]*\))?)", re.S)
_NOT_COLUMNS = {
    "PRIMARY",
    "KEY",
    "UNIQUE",
    "INDEX",
    "CONSTRAINT",
    "FULLTEXT",
    "SPATIAL",
    "FOREIGN",
    "CHECK",
    "PERIOD",
}
BINARY_TYPES = {"binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob"}


def _name(m: re.Match[bytes], quoted: int, bare: int) -> str | None:
    raw = m.group(quoted) if m.group(quoted) is not None else m.group(bare)
    if raw is None:
        return None
    return raw.replace(b"``", b"`").decode("utf-8", errors="replace")


@dataclass(frozen=True)
class DumpColumn:
    name: str
    type: str  # declared type, lower case, e.g. `varchar(40)`, `blob`, `bit(3)`

    @property
    def is_binary(self) -> bool:
        return self.type.split("(")[0] in BINARY_TYPES

    @property
    def is_bit(self) -> bool:
        return self.type.split("(")[0] == "bit"


@dataclass(frozen=True)
class TableDef:
    database: str | None
    table: str
    columns: list[DumpColumn]
    line: int


@dataclass(frozen=True)
class Insert:
    database: str | None
    table: str
    columns: list[str] | None  # --complete-insert column list
    line: int
    text: bytes  # the whole statement
    values_at: int  # offset of the first `(` of the VALUES list in text
    plain: bool  # the splitter proved the VALUES list plain (see sql_splitter.plain_values)
    csv: tuple[bytes, int] | None = None  # that list as CSV + tuple count, if the splitter made it


DumpEvent = TableDef | Insert


def split_definitions(body: bytes) -> list[bytes]:
    """Top-level comma-separated parts of a CREATE TABLE body (quotes and parens respected)."""
    parts, depth, start, quote, i = [], 0, 0, None, 0
    while i < len(body):
        c = body[i : i + 1]
        if quote:
            if c == b"\\" and quote != b"`":
                i += 1
            elif c == quote:
                quote = None
        elif c in (b"'", b'"', b"`"):
            quote = c
        elif c == b"(":
            depth += 1
        elif c == b")":
            depth -= 1
        elif c == b"," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
        i += 1
    parts.append(body[start:])
    return parts


def create_table_columns(stmt: bytes, body_at: int) -> list[DumpColumn]:
    body = stmt[body_at : stmt.rindex(b")")]
    columns = []
    for part in split_definitions(body):
        m = _COLUMN.match(part)
        if not m:
            continue
        bare = m.group(2)
        if bare is not None and bare.decode().upper() in _NOT_COLUMNS:
            continue
        name = _name(m, 1, 2) or ""
        columns.append(DumpColumn(name, re.sub(rb"\s+", b"", m.group(3)).decode().lower()))
    return columns


def column_list(cols: bytes) -> list[str]:
    return [_name(m, 1, 2) or "" for m in _IDENT.finditer(cols)]


def read_dump(stream: BinaryIO, name: str) -> Iterator[DumpEvent]:
    """TableDef and Insert events of a decompressed dump stream (BackupError if incomplete)."""
    database: str | None = None
    for st in iter_statements(stream, name):
        head = st.text[:16].upper()
        if head.startswith((b"INSERT", b"REPLACE")):
            m = _INSERT.match(st.text)
            if m is None:
                yield Insert(database, "", None, st.line, st.text, -1, False)  # unreadable: caller reports
                continue
            db = _name(m, 1, 2) or database
            cols = column_list(m.group("cols")) if m.group("cols") is not None else None
            plain = st.plain_at == m.end()
            csv = st.csv if plain else None
            yield Insert(db, _name(m, 3, 4) or "", cols, st.line, st.text, m.end(), plain, csv)
        elif head.startswith(b"CREATE"):
            m = _CREATE.match(st.text)
            if m is not None:
                yield TableDef(
                    _name(m, 1, 2) or database,
                    _name(m, 3, 4) or "",
                    create_table_columns(st.text, m.end()),
                    st.line,
                )
        elif head.startswith(b"USE"):
            m = _USE.match(st.text)
            if m is not None:
                database = _name(m, 1, 2)


Schema = Mapping[tuple[str | None, str], list[DumpColumn]]


def read_schema(stream: BinaryIO, name: str) -> dict[tuple[str | None, str], list[DumpColumn]]:
    """{(database, table): columns} from a schema-only dump (`mysqldump --no-data`)."""
    return {(ev.database, ev.table): ev.columns for ev in read_dump(stream, name) if isinstance(ev, TableDef)}


def lookup(schema: Schema, database: str | None, table: str) -> list[DumpColumn] | None:
    """Columns of `table`: exact database match first, else the only table of that name."""
    if (database, table) in schema:
        return schema[(database, table)]
    same = [cols for (_, t), cols in schema.items() if t.lower() == table.lower()]
    return same[0] if len(same) == 1 else None
