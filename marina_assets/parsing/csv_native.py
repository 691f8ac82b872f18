"""CSV records straight to typed Arrow columns through the C scanner (`_csvscan.c`).

The scanner reads a block of bytes once and writes Arrow buffers for every catalog column,
with each record's physical line and byte span, so a rejected record is quarantined with its
exact text. It converts only values whose conversion it can prove identical to `typing.py`'s;
for a column that holds anything else, the block is scanned again with that column as text
(and the column stays text for the rest of the member), and `typing.py` converts it and
quarantines what does not convert. A structural problem — a field count that differs from
the header, a stray quote, invalid UTF-8 — raises `NeedsExactPath`: the caller re-reads the
member with the exact tokenizer, which reports each such record on its own line.

The extension is built when the package is installed (`setup.py`, optional: without a C
compiler the install still succeeds and members go through Arrow's reader instead).
`MARINA_CSV_NATIVE=0` switches it off.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from marina_assets.catalog.model import Kind, Table
from marina_assets.parsing.csv_tokenizer import BOM
from marina_assets.parsing.typing import arrow_schema, arrow_type

try:
    from marina_assets.parsing import _csvscan  # type: ignore[attr-defined]
except ImportError:  # built without a C compiler: csv_member falls back to Arrow's reader
    _csvscan = None

BLOCK_BYTES = 4 << 20  # big enough to amortize the per-block Python work, small for memory

_SKIP, _STRING, _INT, _DECIMAL, _DATE, _TIMESTAMP, _BOOL = range(7)
_KIND = {
    Kind.VARCHAR: _STRING,
    Kind.TEXT: _STRING,
    Kind.INTEGER: _INT,
    Kind.DECIMAL: _DECIMAL,
    Kind.DATE: _DATE,
    Kind.TIMESTAMP: _TIMESTAMP,
    Kind.BOOLEAN: _BOOL,
}
_OK, _STRUCT, _VALUE = 0, 1, 2


class NeedsExactPath(Exception):
    """A record the scanner will not judge: the exact tokenizer must read this member."""


def available() -> bool:
    return _csvscan is not None and os.environ.get("MARINA_CSV_NATIVE", "1") != "0"


def values_csv(statement: bytes, start: int) -> tuple[bytes, int] | None:
    """A mysqldump VALUES list (the `(` at `start`) as CSV for Arrow's reader, with its tuple
    count, or None when it holds anything but numbers, NULL and single-quoted strings (see
    `_csvscan.c`). Only call when `available()`."""
    assert _csvscan is not None
    return _csvscan.values_csv(statement, start)


@dataclass(frozen=True)
class Block:
    cells: dict[str, pa.Array]  # warehouse column -> typed array, or text for typing.py
    lines: pa.Array  # physical line of each record
    render: Callable[[int], str]  # the record's text, as read
    longest: dict[str, int]  # string column -> its longest value in bytes

    def typed_batch(self, table: Table) -> pa.RecordBatch | None:
        """The block as the table's batch when typing.py could find nothing to do or reject:
        every column typed by the scanner, no NULL where the catalog forbids it, no string
        longer in bytes than its VARCHAR limit (a value never has more characters than bytes).
        Otherwise None, and typing.py converts and judges the block."""
        n = len(self.lines)
        arrays = []
        for c in table.columns:
            a = self.cells.get(c.name)
            if a is None:
                if not c.nullable and n:
                    return None
                arrays.append(pa.nulls(n, arrow_type(c.type)))
                continue
            if a.type != arrow_type(c.type) or (not c.nullable and a.null_count):
                return None
            if c.type.kind is Kind.VARCHAR and c.type.length and self.longest.get(c.name, 0) > c.type.length:
                return None
            arrays.append(a)
        return pa.RecordBatch.from_arrays([*arrays, self.lines], schema=arrow_schema(table))


@dataclass
class _Layout:
    """What the scanner does with each header position, and how to wrap its buffers."""

    names: list[str | None]  # warehouse column per header position (None: extra column)
    kinds: bytearray
    scales: bytes
    precisions: bytes
    types: list[pa.DataType | None]

    @classmethod
    def of(cls, table: Table, width: int, mapping: dict[int, str]) -> _Layout:
        by_name = {c.name: c for c in table.columns}
        names: list[str | None] = [mapping.get(i) for i in range(width)]
        kinds, scales, precisions, types = bytearray(), bytearray(), bytearray(), []
        for name in names:
            t = by_name[name].type if name else None
            kinds.append(_KIND[t.kind] if t else _SKIP)
            scales.append(t.scale or 0 if t and t.kind is Kind.DECIMAL else 0)
            precisions.append(t.precision or 38 if t and t.kind is Kind.DECIMAL else 0)
            types.append(arrow_type(t) if t else None)
        return cls(names, kinds, bytes(scales), bytes(precisions), types)

    def as_text(self, position: int) -> None:
        self.kinds[position] = _STRING
        self.types[position] = pa.string()


def _header_end(data: bytes, header_raw: bytes) -> int | None:
    """Offset just past the header record and its terminator, or None if `data` is too short."""
    start = len(BOM) if data.startswith(BOM) else 0
    end = start + len(header_raw)
    if len(data) <= end + 1:
        return None
    if data[end : end + 2] == b"\r\n":
        return end + 2
    return end + 1


def iter_blocks(
    table: Table,
    stream: BinaryIO,
    header_raw: bytes,
    first_line: int,
    width: int,
    mapping: dict[int, str],
) -> Iterator[Block]:
    """Typed blocks of the member after its header; raises NeedsExactPath (see module doc)."""
    assert _csvscan is not None
    block_bytes = BLOCK_BYTES  # read at call time: tests shrink it to cut records anywhere
    layout = _Layout.of(table, width, mapping)
    pending = b""
    eof = False
    while not eof:  # skip the header (already parsed by the caller)
        chunk = stream.read(block_bytes)
        eof = not chunk
        pending += chunk
        skip = _header_end(pending, header_raw)
        if skip is not None:
            pending = pending[skip:]
            break
    else:
        return  # the file is its header (with or without a terminator)
    line = first_line
    need_more = True
    while True:
        if need_more and not eof:
            chunk = stream.read(block_bytes)
            eof = not chunk
            pending += chunk
        if not pending:
            return
        status, consumed, next_line, rows, columns, lines, starts, ends, bad, bad_line, why = _csvscan.scan(
            pending, bytes(layout.kinds), layout.scales, layout.precisions, line, eof
        )
        if status == _STRUCT:
            raise NeedsExactPath(f"line {bad_line}: {why}")
        if status == _VALUE:
            layout.as_text(bad)  # typing.py converts this column (and quarantines) from now on
            need_more = False
            continue
        if rows:
            yield _block(layout, pending, rows, columns, lines, starts, ends)
        need_more = True
        pending = pending[consumed:]
        line = next_line
        if eof and pending:  # the final scan consumes everything or reports why not
            raise NeedsExactPath(f"line {line}: the scanner stopped before the end of the member")


def _block(
    layout: _Layout,
    data: bytes,
    rows: int,
    columns: list[tuple[int, bytes | None, bytes, bytes | None, int] | None],
    lines: bytes,
    starts: bytes,
    ends: bytes,
) -> Block:
    cells: dict[str, pa.Array] = {}
    longest: dict[str, int] = {}
    for name, typ, col in zip(layout.names, layout.types, columns, strict=True):
        if name is None or col is None or typ is None:
            continue
        _kind, valid, values, text, nulls, longest[name] = col
        validity = None if valid is None else pa.py_buffer(valid)
        buffers = [validity, pa.py_buffer(values)]
        if text is not None:
            buffers.append(pa.py_buffer(text))
        cells[name] = pa.Array.from_buffers(typ, rows, buffers, null_count=nulls)
    begin = np.frombuffer(starts, np.int64)
    stop = np.frombuffer(ends, np.int64)

    def render(i: int) -> str:
        return data[int(begin[i]) : int(stop[i])].decode("utf-8", errors="backslashreplace")

    line_array = pa.Array.from_buffers(pa.int64(), rows, [None, pa.py_buffer(lines)])
    return Block(cells, line_array, render, longest)
