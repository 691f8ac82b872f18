"""Stellar backups: a gzipped mysqldump, read as bytes and never executed.

Statements are split on `;` outside quotes and comments, so nothing depends on mysqldump's
habit of one statement per line. CREATE TABLE gives each table's column order; INSERT
statements (extended or not, with or without a column list) give the rows. String literals
are unescaped with MySQL's rules. A dump whose gzip stream or last statement is cut off is an
error for the whole backup: the loader then commits nothing of it.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import BinaryIO

import pyarrow as pa

from marina_assets.catalog.model import Table
from marina_assets.parsing.events import (
    BackupError,
    Batch,
    Failed,
    Finished,
    ParseEvent,
    Reject,
    Rejected,
    TableReport,
)
from marina_assets.parsing.typing import type_batch

BATCH_ROWS = 65_536
_CHUNK = 1 << 20

# one token of a VALUES list; strings keep their quotes so NULL and 'NULL' stay different
_VALUE = re.compile(
    rb"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.|'')*')
      | (?P<bin>_binary\s*'(?:[^'\\]|\\.|'')*')
      | (?P<hex>0x[0-9A-Fa-f]*|[xX]'[0-9A-Fa-f]*')
      | (?P<bits>b'[01]*')
      | (?P<null>NULL)\b
      | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    )\s*""",
    re.X | re.S,
)
_ESCAPES = {b"0": b"\0", b"n": b"\n", b"r": b"\r", b"Z": b"\x1a", b"t": b"\t", b"b": b"\b"}
_ESCAPE = re.compile(rb"\\(.)|''", re.S)
_IDENT = rb"`((?:[^`]|``)+)`|([A-Za-z0-9_$]+)"
_INSERT = re.compile(
    rb"\s*(?:INSERT|REPLACE)\s+(?:IGNORE\s+)?INTO\s+(?:(?:" + _IDENT + rb")\s*\.\s*)?(?:" + _IDENT + rb")\s*"
    rb"(?:\((?P<cols>[^)]*)\)\s*)?VALUES\s*",
    re.I | re.S,
)
_CREATE = re.compile(rb"\s*CREATE\s+TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?(?:" + _IDENT + rb")\s*\(", re.I | re.S)
_COLUMN_NAME = re.compile(rb"\s*(?:`((?:[^`]|``)+)`|([A-Za-z0-9_$]+))")
_NOT_COLUMNS = {
    b"PRIMARY",
    b"KEY",
    b"UNIQUE",
    b"INDEX",
    b"CONSTRAINT",
    b"FULLTEXT",
    b"SPATIAL",
    b"FOREIGN",
    b"CHECK",
}


def create_table_columns(stmt: bytes) -> list[str]:
    """Column names of a CREATE TABLE, in order: top-level comma-separated definitions."""
    body = stmt[stmt.index(b"(") + 1 : stmt.rindex(b")")]
    parts, depth, start, quote = [], 0, 0, None
    i = 0
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
    names = []
    for part in parts:
        m = _COLUMN_NAME.match(part)
        if not m:
            continue
        if m.group(1) is not None:
            names.append(m.group(1).replace(b"``", b"`").decode("utf-8"))
        elif m.group(2).upper() not in _NOT_COLUMNS:
            names.append(m.group(2).decode("utf-8"))
    return names


def _unescape(raw: bytes) -> bytes:
    return _ESCAPE.sub(lambda m: b"'" if m.group(0) == b"''" else _ESCAPES.get(m.group(1), m.group(1)), raw)


def _ident(m: re.Match[bytes], quoted: int, bare: int) -> str:
    raw = m.group(quoted) if m.group(quoted) is not None else m.group(bare)
    return raw.replace(b"``", b"`").decode("utf-8")


_SPECIAL = re.compile(rb"['\"`;]|--|#|/\*")
_STRING_END = {q: re.compile(rb"(?:[^" + q + rb"\\]|\\.)*" + q, re.S) for q in (b"'", b'"', b"`")}
_LEADING_NOISE = re.compile(rb"(?:\s+|--[^\n]*(?:\n|$)|#[^\n]*(?:\n|$)|/\*.*?\*/)*", re.S)


def iter_statements(stream: BinaryIO, name: str) -> Iterator[tuple[int, bytes]]:
    """Yield (line number, statement) for every statement, split on `;` outside quotes/comments.

    Leading comments and `/*!...*/` directives are stripped; statements that are only
    directives are skipped (nothing in a dump is ever executed anyway).
    """
    buf = b""
    s0 = 0  # start of the current statement in buf
    line = 1  # line number at buf[s0]
    i = 0
    eof = False
    while True:
        m = _SPECIAL.search(buf, i)
        token = m.group() if m else None
        end: int | None = None
        if m is not None:
            if token in (b"'", b'"', b"`"):
                e = _STRING_END[token].match(buf, m.end())
                end = e.end() if e else None
            elif token in (b"--", b"#"):
                nl = buf.find(b"\n", m.end())
                end = nl if nl >= 0 else None
            elif token == b"/*":
                close = buf.find(b"*/", m.end())
                end = close + 2 if close >= 0 else None
            else:  # ;
                head = _LEADING_NOISE.match(buf, s0, m.start())
                skip = head.end() if head else s0
                body = buf[skip : m.start()].strip()
                if body:
                    yield line + buf.count(b"\n", s0, skip), body
                line += buf.count(b"\n", s0, m.end())
                s0 = i = m.end()
                continue
        if end is not None:
            i = end
            continue
        # the token or the search ran into the end of the buffer: read more
        if eof:
            break
        try:
            chunk = stream.read(_CHUNK)
        except (EOFError, OSError, zlib.error, gzip.BadGzipFile) as e:
            raise BackupError(f"{name}: compressed stream is corrupt or truncated ({e})") from e
        if not chunk:
            eof = True
        old_len = len(buf) - s0
        resume = (m.start() if m is not None else len(buf) - 2) - s0
        buf = buf[s0:] + chunk
        s0 = 0
        i = max(0, resume if m is not None else min(resume, old_len))
    buf = buf[s0:]
    rest = _LEADING_NOISE.match(buf)
    if buf[rest.end() if rest else 0 :].strip():
        raise BackupError(f"{name}: dump ends in the middle of a statement at line {line}")


@dataclass
class _TableState:
    table: Table
    columns: list[str] | None = None  # dump column order from CREATE TABLE
    report: TableReport = field(default_factory=lambda: TableReport(member=""))
    rows: list[tuple[int, list[str | None]]] = field(default_factory=list)
    seen: bool = False


def parse_mysqldump(stream: BinaryIO, object_name: str, tables: Sequence[Table]) -> Iterator[ParseEvent]:
    wanted = {t.source.lower(): _TableState(t) for t in tables}
    for st in wanted.values():
        st.report.member = f"{object_name}:{st.table.source}"
    gz = gzip.GzipFile(fileobj=stream) if object_name.endswith(".gz") else stream
    for line, stmt in iter_statements(gz, object_name):
        head = stmt[:64].lstrip().upper()
        if head.startswith(b"CREATE TABLE"):
            m = _CREATE.match(stmt)
            if m:
                st = wanted.get(_ident(m, 1, 2).lower())
                if st is not None:
                    st.seen = True
                    st.columns = create_table_columns(stmt)
        elif head.startswith((b"INSERT", b"REPLACE")):
            m = _INSERT.match(stmt)
            if not m:
                raise BackupError(f"{object_name}: line {line}: unreadable INSERT statement")
            st = wanted.get(_ident(m, 3, 4).lower())
            if st is None:
                continue
            st.seen = True
            columns = st.columns
            if m.group("cols"):
                columns = [c.strip().strip(b"`").decode() for c in m.group("cols").split(b",")]
            if columns is None:
                columns = [c.source for c in st.table.columns]  # --no-create-info: catalog order
            yield from _tuples(st, columns, stmt, m.end(), line)
    for st in wanted.values():
        if not st.seen:
            yield Failed(st.table, f"{object_name}: table {st.table.source} is not in the dump")
            continue
        yield from _flush(st)
        yield Finished(st.table, st.report)


def _tuples(st: _TableState, columns: list[str], stmt: bytes, pos: int, line: int) -> Iterator[ParseEvent]:
    width = len(columns)
    n = len(stmt)
    while pos < n:
        start = pos
        if stmt[pos : pos + 1] != b"(":
            raise BackupError(f"{st.report.member}: line {line}: expected '(' in VALUES list")
        pos += 1
        values: list[str | None] = []
        error: str | None = None
        while True:
            m = _VALUE.match(stmt, pos)
            if m is None:
                error = f"unreadable value at byte {pos - start} of the tuple"
                close = stmt.find(b"),(", pos)
                pos = close + 1 if close >= 0 else n
                break
            pos = m.end()
            values.append(_literal(m))
            sep = stmt[pos : pos + 1]
            if sep == b",":
                pos += 1
                continue
            if sep == b")":
                pos += 1
                break
            error = "tuple is not closed"
            pos = n
            break
        raw = stmt[start:pos].decode("utf-8", errors="backslashreplace")
        if error is None and len(values) != width:
            error = f"tuple has {len(values)} values, the table has {width} columns"
        if error is None and any(isinstance(v, _Undecodable) for v in values):
            error = "a string value is not valid UTF-8"
        if error is not None:
            st.report.rows_read += 1
            st.report.rows_rejected += 1
            yield Rejected(st.table, Reject(st.table.source, st.report.member, line, raw, error))
        else:
            st.rows.append((line, _reorder(st, columns, values)))
            if len(st.rows) >= BATCH_ROWS:
                yield from _flush(st)
        while pos < n and stmt[pos : pos + 1] in b" \t\r\n,":
            pos += 1


class _Undecodable(str):
    pass


def _literal(m: re.Match[bytes]) -> str | None:
    kind = m.lastgroup
    text = m.group(kind)
    if kind == "null":
        return None
    if kind == "num":
        return text.decode()
    if kind == "bits":
        return str(int(text[2:-1] or b"0", 2))
    if kind == "hex":
        digits = text[2:] if text[:2].lower() == b"0x" else text[2:-1]
        return digits.decode().lower()
    body = text[text.index(b"'") + 1 : -1]
    raw = _unescape(body)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return _Undecodable(raw.hex())


def _reorder(st: _TableState, columns: list[str], values: list[str | None]) -> list[str | None]:
    index = {c.lower(): i for i, c in enumerate(columns)}
    return [values[index[c.source.lower()]] if c.source.lower() in index else None for c in st.table.columns]


def _flush(st: _TableState) -> Iterator[ParseEvent]:
    if not st.rows:
        return
    rows, st.rows = st.rows, []
    t = st.table
    cells = {c.name: pa.array([r[i] for _, r in rows], pa.string()) for i, c in enumerate(t.columns)}
    lines = pa.array([ln for ln, _ in rows], pa.int64())
    batch, bad = type_batch(t, cells, lines, lambda i: repr(tuple(rows[i][1])))
    st.report.rows_read += len(rows)
    for i, reason, raw in bad:
        st.report.rows_rejected += 1
        yield Rejected(t, Reject(t.source, st.report.member, rows[i][0], raw, reason))
    if batch.num_rows:
        yield Batch(t, batch)
