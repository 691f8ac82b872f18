"""The raw inspector behind `marina-etl parse`: any backup file -> JSON Lines, untyped.

It needs no catalog: every CSV member of a ZIP, a `.csv`/`.csv.gz` file, or every table of a
MySQL dump becomes `<table>.jsonl` (`<database>.<table>.jsonl` when the dump holds more than one
database), one JSON object per record, keys = the file's column names, values as in the file:

- dump: NULL -> null; integer literal -> integer; other numeric literal -> its text; quoted
  -> string, except invalid UTF-8 or a column the dump declares binary (binary, varbinary,
  *blob) -> {"hex": "…"}; `_binary '…'` and hex literals -> {"hex": "…"}; `b'…'` literals
  and values of `bit(n)` columns -> integer.
- CSV: unquoted empty field -> null, anything else -> string ({"hex"} if not UTF-8).

Records that cannot be read (wrong field count, broken quoting, an unreadable tuple) go to
`_rejects.jsonl` with table, line, reason and raw text. Output is written to `.partial` files
and renamed only when the whole input was read, so a failed run leaves no output that looks
complete. Column names of a dump come from, in order: the INSERT's column list, CREATE TABLE,
the schema dump, the catalog (when the source is known), else `col1`, `col2`, ….
"""

from __future__ import annotations

import json
import os
import posixpath
import re
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, TextIO

from marina_assets.catalog.model import SourceSystem
from marina_assets.parsing.archive import member_opener, member_stem, open_zip
from marina_assets.parsing.csv_tokenizer import iter_records
from marina_assets.parsing.events import BackupError
from marina_assets.parsing.limits import DEFAULT_LIMITS, ArchiveLimits, Budget, open_maybe_gzip
from marina_assets.parsing.mysqldump_raw import DumpColumn, Schema, TableDef, lookup, read_dump
from marina_assets.parsing.sql_values import Binary, Bits, Numeric, RawValue, iter_tuples

_SQL_START = re.compile(rb"\s*(?:--|/\*|#|CREATE|INSERT|REPLACE|SET|DROP|USE|LOCK|DELIMITER)", re.I)
_SAFE = re.compile(r"[^A-Za-z0-9_.$-]+")
REJECTS = "_rejects"
_LEGACY_DROP = re.compile(r"prod_resilient_\d{4}-\d{2}-\d{2}_\d{2}_\d{2}-(?P<table>.+)\.csv\.gz", re.I)


@dataclass
class TableSummary:
    name: str  # output stem
    source: str  # member or `db.table` it came from
    rows: int = 0
    rejects: int = 0
    path: str = ""
    final: str = ""  # output stem when it differs from `name` (decided once the input is read)


@dataclass
class Summary:
    kind: str  # csv_zip | csv | mysqldump
    tables: list[TableSummary] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # members that are not CSV


class _Output:
    """Per-table `.partial` JSON Lines files under `out`, renamed on `commit`."""

    def __init__(self, out: Path) -> None:
        self.out = out
        out.mkdir(parents=True, exist_ok=True)
        self.files: dict[str, TextIO] = {}
        self.used = {REJECTS}
        self.rejects = self._open(REJECTS)

    def _open(self, stem: str) -> TextIO:
        return open(self.out / f".{stem}.jsonl.partial", "w", encoding="utf-8")

    def unique(self, wanted: str) -> str:
        stem = _SAFE.sub("_", wanted).lstrip(".") or "_"
        name, n = stem, 1
        while name in self.used:
            n += 1
            name = f"{stem}~{n}"
        self.used.add(name)
        return name

    def table(self, stem: str) -> TextIO:
        if stem not in self.files:
            self.files[stem] = self._open(stem)
        return self.files[stem]

    def reject(self, table: str, line: int | None, reason: str, raw: str) -> None:
        self.rejects.write(
            json.dumps({"table": table, "line": line, "reason": reason, "raw": raw}, ensure_ascii=False)
            + "\n"
        )

    def commit(self, renames: dict[str, str]) -> dict[str, str]:
        """Close and rename `.stem.jsonl.partial` to `final.jsonl` ({stem: final}); {stem: path}."""
        paths = {}
        for stem, f in [*self.files.items(), (REJECTS, self.rejects)]:
            f.close()
            final = renames.get(stem, stem)
            target = self.out / f"{final}.jsonl"
            os.replace(self.out / f".{stem}.jsonl.partial", target)
            paths[stem] = str(target)
        return paths

    def abort(self) -> None:
        for stem, f in [*self.files.items(), (REJECTS, self.rejects)]:
            f.close()
            (self.out / f".{stem}.jsonl.partial").unlink(missing_ok=True)


def _hex(b: bytes) -> dict[str, str]:
    return {"hex": b.hex()}


def _text(b: bytes) -> str | dict[str, str]:
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        return _hex(b)


def dump_value(v: RawValue, column: DumpColumn | None) -> Any:
    """One raw dump value as JSON (see the module docstring)."""
    if v is None or isinstance(v, Numeric):
        return None if v is None else str(v)
    if isinstance(v, Bits):
        return int(v)
    if isinstance(v, int):
        return v
    if column is not None and column.is_bit:
        return int.from_bytes(v, "big")
    if isinstance(v, Binary) or (column is not None and column.is_binary):
        return _hex(v)
    return _text(v)


def detect(path: str, head: bytes) -> str:
    """csv_zip | mysqldump | csv, from the name first, then the content."""
    name = path.lower()
    if head[:4] == b"PK\x03\x04" or name.endswith(".zip"):
        return "csv_zip"
    if name.endswith((".sql", ".sql.gz", ".dump", ".dump.gz")):
        return "mysqldump"
    if name.endswith((".csv", ".csv.gz")):
        return "csv"
    return "mysqldump" if _SQL_START.match(head) else "csv"


def sniff(path: str, f: BinaryIO) -> str:
    """`detect` on an open file (gunzipping its head when needed); leaves `f` at its start."""
    head = f.read(4096)
    if head[:2] == b"\x1f\x8b":
        head = _gunzip_head(head)
    f.seek(0)
    return detect(path, head)


def inspect_file(
    path: str,
    out_dir: str,
    *,
    system: SourceSystem | None = None,
    schema: Schema | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> Summary:
    """Write `path`'s tables as JSON Lines under `out_dir`; BackupError when unreadable."""
    out = _Output(Path(out_dir))
    try:
        with open(path, "rb") as f:
            kind = sniff(path, f)
            if kind == "csv_zip":
                summary = _zip(f, path, out, limits)
            elif kind == "mysqldump":
                summary = _dump(f, path, out, system, schema, limits)
            else:
                summary = Summary("csv")
                base = posixpath.basename(path)
                legacy = _LEGACY_DROP.fullmatch(base)  # prod_resilient_<date>_<time>-<table>.csv.gz
                stem = legacy.group("table") if legacy else re.sub(r"\.csv(\.gz)?$", "", base, flags=re.I)
                summary.tables.append(_csv(open_maybe_gzip(f, path, limits), out.unique(stem), path, out))
    except BaseException:
        out.abort()
        raise
    renames = {t.name: t.final or t.name for t in summary.tables}
    paths = out.commit(renames)
    for t in summary.tables:
        t.path = paths.get(t.name, "")
        t.name = renames[t.name]
    return summary


def _gunzip_head(data: bytes) -> bytes:
    """The first decompressed bytes of a gzip head, to sniff the format (b"" if unreadable:
    then the name decides and reading the whole file reports what is wrong)."""
    try:
        return zlib.decompressobj(31).decompress(data, 4096)
    except zlib.error:
        return b""


def _csv(stream: BinaryIO, stem: str, source: str, out: _Output) -> TableSummary:
    summary = TableSummary(stem, source)
    f = out.table(stem)
    keys: list[str] = []
    for rec in iter_records(stream):
        if not keys:
            keys = _keys([_text(x or b"") for x in rec.fields])
            if rec.error:
                raise BackupError(f"{source}: header line is unreadable ({rec.error})")
            continue
        if rec.fields == [None] and not rec.raw:
            continue  # blank line
        reason = rec.error
        if reason is None and len(rec.fields) != len(keys):
            reason = f"record has {len(rec.fields)} fields, the header has {len(keys)}"
        if reason is not None:
            summary.rejects += 1
            out.reject(stem, rec.line, reason, rec.raw.decode("utf-8", errors="backslashreplace"))
            continue
        values = [None if x is None else _text(x) for x in rec.fields]
        f.write(json.dumps(dict(zip(keys, values, strict=True)), ensure_ascii=False) + "\n")
        summary.rows += 1
    return summary


def _keys(names: Iterable[Any]) -> list[str]:
    keys: list[str] = []
    for n in names:
        k = n if isinstance(n, str) else json.dumps(n)
        base, i = k, 1
        while k in keys:
            i += 1
            k = f"{base}~{i}"
        keys.append(k)
    return keys


def _zip(f: BinaryIO, path: str, out: _Output, limits: ArchiveLimits) -> Summary:
    summary = Summary("csv_zip")
    budget = Budget(limits, path)
    with open_zip(f, path) as archive:
        for info in archive.infolist():
            if info.is_dir():
                continue
            stem, ext = member_stem(info)
            if ext != ".csv":
                summary.skipped.append(info.filename)
                continue
            opener = member_opener(archive, info, path, budget)
            with opener() as member:
                summary.tables.append(_csv(member, out.unique(stem), f"{path}:{info.filename}", out))
    return summary


@dataclass
class _DumpTable:
    summary: TableSummary
    database: str | None
    table: str
    columns: list[DumpColumn] | None = None


def _dump(
    f: BinaryIO,
    path: str,
    out: _Output,
    system: SourceSystem | None,
    schema: Schema | None,
    limits: ArchiveLimits,
) -> Summary:
    summary = Summary("mysqldump")
    tables: dict[tuple[str | None, str], _DumpTable] = {}
    defs: dict[tuple[str | None, str], list[DumpColumn]] = {}

    def state(db: str | None, name: str) -> _DumpTable:
        key = (db, name)
        if key not in tables:
            internal = f"t{len(tables) + 1}"  # final names depend on how many databases there are
            tables[key] = _DumpTable(TableSummary(internal, f"{db}.{name}" if db else name), db, name)
            summary.tables.append(tables[key].summary)
            out.table(internal)  # a table without rows still gets its (empty) file
        return tables[key]

    for ev in read_dump(open_maybe_gzip(f, path, limits), path):
        if isinstance(ev, TableDef):
            defs[(ev.database, ev.table)] = ev.columns
            state(ev.database, ev.table)
            continue
        if ev.values_at < 0:
            raise BackupError(f"{path}: line {ev.line}: unreadable INSERT statement")
        t = state(ev.database, ev.table)
        columns, guessed = _dump_columns(
            ev.columns, defs.get((ev.database, ev.table)), schema, ev.database, ev.table, system
        )
        sink = out.table(t.summary.name)
        for tup in iter_tuples(ev.text, ev.values_at):
            cols = columns if columns is not None else t.columns
            if guessed and cols is not None and len(tup.values) != len(cols):
                cols = t.columns  # the catalog's names do not fit this table: positions it is
            reason = tup.error
            if reason is None and cols is not None and len(tup.values) != len(cols):
                reason = f"tuple has {len(tup.values)} values, the table has {len(cols)} columns"
            if reason is not None:
                t.summary.rejects += 1
                out.reject(
                    t.summary.source, ev.line, reason, tup.raw.decode("utf-8", errors="backslashreplace")
                )
                continue
            if cols is None:  # nothing names the columns: positions it is
                cols = t.columns = [DumpColumn(f"col{i + 1}", "") for i in range(len(tup.values))]
            keys = _keys(c.name for c in cols)
            row = {k: dump_value(v, c) for k, c, v in zip(keys, cols, tup.values, strict=True)}
            sink.write(json.dumps(row, ensure_ascii=False) + "\n")
            t.summary.rows += 1
    several = len({db for db, _ in tables if db}) > 1
    for t in tables.values():
        t.summary.final = out.unique(f"{t.database}.{t.table}" if several and t.database else t.table)
    return summary


def _dump_columns(
    listed: list[str] | None,
    created: list[DumpColumn] | None,
    schema: Schema | None,
    database: str | None,
    table: str,
    system: SourceSystem | None,
) -> tuple[list[DumpColumn] | None, bool]:
    """(columns, guessed): guessed when only the catalog names them (it may not fit the dump)."""
    declared = created or (lookup(schema, database, table) if schema is not None else None)
    if listed is not None:
        by_name = {c.name.lower(): c for c in declared or []}
        return [by_name.get(n.lower(), DumpColumn(n, "")) for n in listed], False
    if declared is not None:
        return declared, False
    if system is not None:
        for t in system.tables:
            if t.source.lower() == table.lower():
                return [DumpColumn(c.source, "") for c in t.columns], True
    return None, False


def print_summary(summary: Summary, write: Any = print) -> None:
    width = max([len(t.name) for t in summary.tables] + [5])
    write(f"{'table':<{width}}  {'rows':>10}  {'rejects':>8}  file")
    for t in summary.tables:
        write(f"{t.name:<{width}}  {t.rows:>10,}  {t.rejects:>8,}  {t.path}")
    for name in summary.skipped:
        write(f"skipped (not a CSV member): {name}")


def read_schema_file(
    path: str, limits: ArchiveLimits = DEFAULT_LIMITS
) -> dict[tuple[str | None, str], list[DumpColumn]]:
    with open(path, "rb") as f:
        return {
            (ev.database, ev.table): ev.columns
            for ev in read_dump(open_maybe_gzip(f, path, limits), path)
            if isinstance(ev, TableDef)
        }
