"""Snapshots written as the real nightly backups, byte for byte reproducible.

- MOLO and NetSuite (`csv_zip`): a deflated ZIP with one `<source>.csv` member per table,
  header = source column names in catalog order, rows in key order. A field is quoted (`"`,
  inner quotes doubled) when it contains `,` `"` CR or LF, has leading or trailing whitespace,
  or is the empty string (`""`); NULL is an unquoted empty field. MOLO writes CRLF, booleans
  `True`/`False` and a UTF-8 BOM; NetSuite writes LF, `T`/`F` and no BOM.
- Stellar (`mysqldump`): a gzipped mysqldump 8.0 text: header comments, `/*!...*/` prologue,
  per table (alphabetical, as mysqldump orders them) DROP/CREATE TABLE with MySQL types and
  extended INSERTs of at most 1000 rows and ~1 MB per line, then the epilogue. Strings are
  escaped exactly like `mysql_real_escape_string` (NUL, quotes, backslash, CR, LF, Ctrl-Z).

Object names follow each system's legacy `object_name_format` at a fixed time of day
(`BACKUP_TIMES`). ZIP member timestamps are that time, gzip's mtime is 0, so the same snapshot
always gives the same bytes. A table missing from a snapshot (not generated) is left out of the
backup; a generated table without rows is written empty.
"""

from __future__ import annotations

import gzip
import io
import os
import re
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import Any

from marina_assets.catalog import SYSTEMS
from marina_assets.catalog.model import Column, Kind, SourceSystem, Table
from marina_assets.sample_data.generator import Key, Row, Snapshot

BACKUP_TIMES: Mapping[str, time] = {"MOLO": time(6, 15), "STELLAR": time(5, 0), "NS": time(6, 30)}
DEFAULT_BACKUP_TIME = time(6, 0)
INSERT_MAX_ROWS = 1000
INSERT_MAX_BYTES = 1_000_000
DUMP_HOST = "prod-resilient.cluster-c4marina01.us-east-1.rds.amazonaws.com"
DUMP_DATABASE = "prod_resilient"

Formatter = Callable[[Any], str]


@dataclass(frozen=True)
class CsvDialect:
    line_end: str
    true: str
    false: str
    bom: bool


CSV_DIALECTS: Mapping[str, CsvDialect] = {
    "MOLO": CsvDialect("\r\n", "True", "False", bom=True),
    "NS": CsvDialect("\n", "T", "F", bom=False),
}


def backup_time(system: SourceSystem) -> time:
    return BACKUP_TIMES.get(system.code, DEFAULT_BACKUP_TIME)


def backup_object_name(system: SourceSystem, backup_date: date) -> str:
    """The legacy object name of `system`'s backup taken on `backup_date`."""
    return datetime.combine(backup_date, backup_time(system)).strftime(system.object_name_format)


def write_backup(system: SourceSystem, snapshot: Snapshot) -> tuple[str, bytes]:
    """(object name, file bytes) of `system`'s backup holding `snapshot`."""
    name = backup_object_name(system, snapshot.backup_date)
    tables = [t for t in system.tables if t.dw_name in snapshot.tables]
    taken = datetime.combine(snapshot.backup_date, backup_time(system))
    if system.backup_format == "csv_zip":
        dialect = CSV_DIALECTS.get(system.code, CSV_DIALECTS["MOLO"])
        return name, _zip_csv(tables, snapshot.tables, dialect, taken)
    if system.backup_format == "mysqldump":
        return name, _gzip_dump(tables, snapshot.tables, taken)
    raise ValueError(f"{system.code}: no writer for backup format {system.backup_format!r}")


def write_snapshots(
    snapshots: Iterable[Snapshot], out: str, systems: Sequence[SourceSystem] = SYSTEMS
) -> list[str]:
    """Write every system's backup of every snapshot to a directory or an `s3://bucket/prefix`.

    Returns the written paths (local) or `s3://bucket/key` URIs, in writing order. A system
    none of whose tables is in a snapshot is skipped for that snapshot.
    """
    put = _s3_writer(out) if out.startswith("s3://") else _dir_writer(out)
    written: list[str] = []
    for snapshot in snapshots:
        for system in systems:
            if any(t.dw_name in snapshot.tables for t in system.tables):
                written.append(put(*write_backup(system, snapshot)))
    return written


def _dir_writer(out: str) -> Callable[[str, bytes], str]:
    root = Path(out)
    root.mkdir(parents=True, exist_ok=True)

    def put(name: str, data: bytes) -> str:
        path = root / name
        partial = root / f".{name}.partial"
        partial.write_bytes(data)
        partial.replace(path)  # a watcher never sees a half-written backup
        return str(path)

    return put


def _s3_writer(out: str) -> Callable[[str, bytes], str]:
    import boto3  # only needed for S3 targets

    bucket, _, prefix = out.removeprefix("s3://").partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {out!r}")
    endpoint = os.environ.get("MARINA_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL") or None
    client = boto3.client("s3", endpoint_url=endpoint)
    prefix = prefix.strip("/")

    def put(name: str, data: bytes) -> str:
        key = f"{prefix}/{name}" if prefix else name
        client.put_object(Bucket=bucket, Key=key, Body=data)
        return f"s3://{bucket}/{key}"

    return put


# -- CSV in ZIP (MOLO, NetSuite) ------------------------------------------------------------

_CSV_QUOTE = re.compile(r'[,"\r\n]|^\s|\s\Z')


def csv_field(text: str) -> str:
    """A string as a CSV field: quoted when it needs to be, and always when empty."""
    if text == "" or _CSV_QUOTE.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def _csv_formatter(column: Column, dialect: CsvDialect) -> Formatter:
    kind = column.type.kind
    if kind is Kind.BOOLEAN:
        return lambda v: dialect.true if v else dialect.false
    if kind is Kind.DECIMAL:
        return lambda v: format(v, "f") if isinstance(v, Decimal) else str(v)
    if kind is Kind.TIMESTAMP:
        return lambda v: v.isoformat(" ", "seconds") if isinstance(v, datetime) else str(v)
    if kind is Kind.DATE:
        return lambda v: v.isoformat()
    if kind in (Kind.VARCHAR, Kind.TEXT):
        return csv_field
    return str


def csv_lines(table: Table, rows: Mapping[Key, Row], dialect: CsvDialect) -> Iterator[str]:
    """The header and one record per row (key order), each with its line ending."""
    end = dialect.line_end
    yield ",".join(csv_field(c.source) for c in table.columns) + end
    formats = [_csv_formatter(c, dialect) for c in table.columns]
    for key in sorted(rows):
        yield ",".join(["" if v is None else f(v) for f, v in zip(formats, rows[key], strict=True)]) + end


def _zip_csv(
    tables: Sequence[Table], data: Mapping[str, Mapping[Key, Row]], dialect: CsvDialect, taken: datetime
) -> bytes:
    buffer = io.BytesIO()
    stamp = (taken.year, taken.month, taken.day, taken.hour, taken.minute, taken.second)
    with zipfile.ZipFile(buffer, "w") as archive:
        for table in tables:
            info = zipfile.ZipInfo(f"{table.source}.csv", date_time=stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3  # the same bytes whatever platform writes them
            info.external_attr = 0o644 << 16
            with archive.open(info, "w") as member:
                if dialect.bom:
                    member.write("\ufeff".encode())
                for chunk in _chunks(csv_lines(table, data[table.dw_name], dialect)):
                    member.write(chunk)
    return buffer.getvalue()


def _chunks(lines: Iterable[str], size: int = 1 << 16) -> Iterator[bytes]:
    """UTF-8 encode `lines` in blocks of about `size` characters."""
    block: list[str] = []
    length = 0
    for line in lines:
        block.append(line)
        length += len(line)
        if length >= size:
            yield "".join(block).encode()
            block, length = [], 0
    if block:
        yield "".join(block).encode()


# -- mysqldump (Stellar) --------------------------------------------------------------------

_MYSQL_SPECIAL = re.compile("[\0'\"\\\\\n\r\x1a]")
_MYSQL_ESCAPES = str.maketrans(
    {"\0": "\\0", "'": "\\'", '"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\x1a": "\\Z"}
)
_PROLOGUE = """/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
/*!40101 SET @OLD_CHARACTER_SET_RESULTS=@@CHARACTER_SET_RESULTS */;
/*!40101 SET @OLD_COLLATION_CONNECTION=@@COLLATION_CONNECTION */;
/*!50503 SET NAMES utf8mb4 */;
/*!40103 SET @OLD_TIME_ZONE=@@TIME_ZONE */;
/*!40103 SET TIME_ZONE='+00:00' */;
/*!40014 SET @OLD_UNIQUE_CHECKS=@@UNIQUE_CHECKS, UNIQUE_CHECKS=0 */;
/*!40014 SET @OLD_FOREIGN_KEY_CHECKS=@@FOREIGN_KEY_CHECKS, FOREIGN_KEY_CHECKS=0 */;
/*!40101 SET @OLD_SQL_MODE=@@SQL_MODE, SQL_MODE='NO_AUTO_VALUE_ON_ZERO' */;
/*!40111 SET @OLD_SQL_NOTES=@@SQL_NOTES, SQL_NOTES=0 */;
"""
_EPILOGUE = """/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE */;

/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;
/*!40014 SET FOREIGN_KEY_CHECKS=@OLD_FOREIGN_KEY_CHECKS */;
/*!40014 SET UNIQUE_CHECKS=@OLD_UNIQUE_CHECKS */;
/*!40101 SET CHARACTER_SET_CLIENT=@OLD_CHARACTER_SET_CLIENT */;
/*!40101 SET CHARACTER_SET_RESULTS=@OLD_CHARACTER_SET_RESULTS */;
/*!40101 SET COLLATION_CONNECTION=@OLD_COLLATION_CONNECTION */;
/*!40111 SET SQL_NOTES=@OLD_SQL_NOTES */;
"""


def mysql_string(text: str) -> str:
    """A single-quoted MySQL string literal, escaped like mysql_real_escape_string."""
    if _MYSQL_SPECIAL.search(text):
        text = text.translate(_MYSQL_ESCAPES)
    return "'" + text + "'"


def mysql_type(table: Table, column: Column) -> str:
    kind, t = column.type.kind, column.type
    if kind is Kind.INTEGER:
        big = table.primary_key == (column.name,) and not table.lookup
        return "bigint" if big else "int"
    return {
        Kind.DECIMAL: f"decimal({t.precision},{t.scale or 0})",
        Kind.VARCHAR: f"varchar({t.length})",
        Kind.TEXT: "text",
        Kind.DATE: "date",
        Kind.TIMESTAMP: "datetime",
        Kind.BOOLEAN: "tinyint(1)",
    }[kind]


def _mysql_formatter(column: Column) -> Formatter:
    kind = column.type.kind
    if kind is Kind.BOOLEAN:
        return lambda v: "1" if v else "0"
    if kind is Kind.DECIMAL:
        return lambda v: format(v, "f") if isinstance(v, Decimal) else str(v)
    if kind is Kind.TIMESTAMP:
        return lambda v: (
            f"'{v.isoformat(' ', 'seconds')}'" if isinstance(v, datetime) else mysql_string(str(v))
        )
    if kind is Kind.DATE:
        return lambda v: f"'{v.isoformat()}'"
    if kind in (Kind.VARCHAR, Kind.TEXT):
        return mysql_string
    return str


def _null_clause(column: Column) -> str:
    if not column.nullable:
        return " NOT NULL"
    return "" if column.type.kind is Kind.TEXT else " DEFAULT NULL"  # MySQL shows no default for TEXT


def create_table(table: Table) -> str:
    """The CREATE TABLE statement mysqldump writes for `table`."""
    lines = [f"  `{c.source}` {mysql_type(table, c)}{_null_clause(c)}" for c in table.columns]
    by_name = {c.name: c.source for c in table.columns}
    lines.append("  PRIMARY KEY (" + ",".join(f"`{by_name[k]}`" for k in table.primary_key) + ")")
    body = ",\n".join(lines)
    return (
        f"CREATE TABLE `{table.source}` (\n{body}\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;\n"
    )


def insert_lines(table: Table, rows: Mapping[Key, Row]) -> Iterator[str]:
    """Extended INSERT statements, one per line, of at most INSERT_MAX_ROWS rows / ~1 MB each."""
    formats = [_mysql_formatter(c) for c in table.columns]
    head = f"INSERT INTO `{table.source}` VALUES "
    tuples: list[str] = []
    size = len(head)
    for key in sorted(rows):
        values = ",".join(["NULL" if v is None else f(v) for f, v in zip(formats, rows[key], strict=True)])
        text = f"({values})"
        weight = len(text) if text.isascii() else len(text.encode())
        if tuples and (len(tuples) >= INSERT_MAX_ROWS or size + weight + 2 > INSERT_MAX_BYTES):
            yield head + ",".join(tuples) + ";\n"
            tuples, size = [], len(head)
        tuples.append(text)
        size += weight + 1
    if tuples:
        yield head + ",".join(tuples) + ";\n"


def dump_lines(
    tables: Sequence[Table], data: Mapping[str, Mapping[Key, Row]], taken: datetime
) -> Iterator[str]:
    """The whole mysqldump text, line by line."""
    yield (
        "-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n"
        f"-- Host: {DUMP_HOST}    Database: {DUMP_DATABASE}\n"
        "-- ------------------------------------------------------\n-- Server version\t8.0.35\n\n"
    )
    yield _PROLOGUE
    for table in sorted(tables, key=lambda t: t.source):
        name = table.source
        yield f"\n--\n-- Table structure for table `{name}`\n--\n\nDROP TABLE IF EXISTS `{name}`;\n"
        yield "/*!40101 SET @saved_cs_client     = @@character_set_client */;\n"
        yield "/*!50503 SET character_set_client = utf8mb4 */;\n"
        yield create_table(table)
        yield "/*!40101 SET character_set_client = @saved_cs_client */;\n"
        yield f"\n--\n-- Dumping data for table `{name}`\n--\n\n"
        yield f"LOCK TABLES `{name}` WRITE;\n/*!40000 ALTER TABLE `{name}` DISABLE KEYS */;\n"
        yield from insert_lines(table, data[table.dw_name])
        yield f"/*!40000 ALTER TABLE `{name}` ENABLE KEYS */;\nUNLOCK TABLES;\n"
    yield _EPILOGUE
    yield f"\n-- Dump completed on {taken:%Y-%m-%d %H:%M:%S}\n"


def _gzip_dump(tables: Sequence[Table], data: Mapping[str, Mapping[Key, Row]], taken: datetime) -> bytes:
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=6) as out:
        for chunk in _chunks(dump_lines(tables, data, taken)):
            out.write(chunk)
    return buffer.getvalue()
