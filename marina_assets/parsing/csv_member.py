"""Read one CSV member (a MOLO or NetSuite table) into typed batches and rejects.

Columns are matched by header name, not position. Three paths, each taken only when the one
before cannot prove its result exact:

1. Arrow's C CSV reader converts straight to the catalog's types (the values it accepts are a
   subset of what `typing` accepts, with the same result), so most members never exist as text;
2. the same reader with every column as text, converted by `typing` (which quarantines the
   values that do not convert, with their line) — taken after a `Reset` when Arrow refused a value;
3. the exact byte tokenizer (after a `Reset`) when Arrow has to skip a malformed record, so
   every reject carries its physical line and nothing is silently lost.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from marina_assets.catalog.model import Table
from marina_assets.parsing import csv_native
from marina_assets.parsing.batch_size import BATCH_ROWS
from marina_assets.parsing.csv_tokenizer import CsvRecord, iter_records
from marina_assets.parsing.events import (
    Batch,
    Failed,
    Finished,
    ParseEvent,
    Reject,
    Rejected,
    Reset,
    TableReport,
)
from marina_assets.parsing.typing import BOOLEAN_FALSE, BOOLEAN_TRUE, arrow_type, type_batch

_BLOCK_BYTES = 1 << 20  # Arrow pipelines 1 MB blocks well; 8 MB ones were ~1.5x slower here


class _FastPathGaveUp(Exception):
    pass


class _TypedPathGaveUp(Exception):
    """Arrow refused a value as the catalog type: read the member again as text."""


def _render(values: list[str | None]) -> str:
    out = []
    for v in values:
        if v is None:
            out.append("")
        elif v == "" or any(ch in v for ch in ',"\r\n'):
            out.append('"' + v.replace('"', '""') + '"')
        else:
            out.append(v)
    return ",".join(out)


def _breaks_per_row(c: pa.Array) -> np.ndarray | None:
    """Line breaks (LF, CR or CRLF, each counting once) inside each value of a string array, or
    None when there is none. Works on the array's bytes: one memchr per break character finds
    the usual no-break column; otherwise numpy locates the breaks and maps them to rows."""
    _, offsets, data = c.buffers()
    if data is None or not len(c):
        return None
    offs = np.frombuffer(offsets, np.int32, count=len(c) + 1, offset=4 * c.offset)
    base = int(offs[0])
    text = data.slice(base, int(offs[-1]) - base)
    blob = text.to_pybytes()
    if b"\n" not in blob and b"\r" not in blob:
        return None
    raw = np.frombuffer(text, np.uint8)

    def rows_of(positions: np.ndarray) -> np.ndarray:
        return np.searchsorted(offs, positions + base, side="right") - 1

    counts = np.bincount(rows_of(np.flatnonzero(raw == 10)), minlength=len(c))
    cr = np.flatnonzero(raw == 13)
    if len(cr):
        counts += np.bincount(rows_of(cr), minlength=len(c))
        follow = cr[cr + 1 < len(raw)]
        lf_after = follow[raw[follow + 1] == 10]
        # a CRLF counts once — but only when both bytes belong to the same value
        same = rows_of(lf_after) == rows_of(lf_after + 1)
        counts -= np.bincount(rows_of(lf_after[same]), minlength=len(c))
    return counts


def _newlines_per_row(columns: list[pa.Array]) -> pa.Array | None:
    """Extra physical lines each record spans (line breaks inside quoted values), or None
    when no record of the batch spans more than one line."""
    extra: np.ndarray | None = None
    for c in columns:
        if not pa.types.is_string(c.type):
            continue
        breaks = _breaks_per_row(c)
        if breaks is not None:
            extra = breaks if extra is None else extra + breaks
    return None if extra is None else pa.array(extra.astype(np.int64))


@dataclass(frozen=True)
class _Member:
    """A member whose header was read: what every read path (C scanner, Arrow, exact) needs."""

    table: Table
    name: str
    open: Callable[[], BinaryIO]
    names: list[str]  # the header's fields
    mapping: dict[int, str]  # header position -> warehouse column
    header_lines: int  # physical lines of the header record
    header_raw: bytes
    report: TableReport
    batch_rows: int


def read_csv_member(
    table: Table, member: str, open_member: Callable[[], BinaryIO], *, batch_rows: int = BATCH_ROWS
) -> Iterator[ParseEvent]:
    with open_member() as stream:
        header = next(iter_records(stream), None)
    if header is None or header.error:
        yield Failed(table, f"{member}: no readable header line")
        return
    try:
        names = [(f or b"").decode("utf-8").strip() for f in header.fields]
    except UnicodeDecodeError:
        yield Failed(table, f"{member}: header is not valid UTF-8")
        return
    by_lower = {c.source.lower(): c for c in table.columns}
    mapping: dict[int, str] = {}  # header position -> warehouse column
    report = TableReport(member=member)
    for i, n in enumerate(names):
        c = by_lower.get(n.lower())
        if c is None or c.name in mapping.values():
            report.extra_columns.append(n)
        else:
            mapping[i] = c.name
    present = set(mapping.values())
    missing_keys = [c.source for c in table.key_columns if c.name not in present]
    if missing_keys:
        yield Failed(
            table, f"{member}: primary key column(s) {', '.join(missing_keys)} missing from the header"
        )
        return
    report.missing_columns = [c.source for c in table.columns if c.name not in present]
    header_lines = 1 + header.raw.count(b"\n") + header.raw.count(b"\r") - header.raw.count(b"\r\n")

    m = _Member(table, member, open_member, names, mapping, header_lines, header.raw, report, batch_rows)
    try:
        if csv_native.available():
            yield from _native(m)
        else:
            try:
                yield from _fast(m, typed=True)
            except _TypedPathGaveUp:
                yield Reset(table)
                report.rows_read = report.rows_rejected = 0
                yield from _fast(m, typed=False)
    except (_FastPathGaveUp, csv_native.NeedsExactPath):
        yield Reset(table)
        report.rows_read = report.rows_rejected = 0
        yield from _slow(m)
    yield Finished(table, report)


def _emit(
    table: Table,
    member: str,
    cells: dict[str, pa.Array],
    lines: pa.Array,
    render: Callable[[int], str],
    report: TableReport,
    *,
    typed: bool = False,
) -> Iterator[ParseEvent]:
    batch, bad = type_batch(table, cells, lines, render)
    if bad and typed:
        raise _TypedPathGaveUp  # a reject must show the record's text, which only the text path has
    report.rows_read += len(lines)
    for i, reason, raw in bad:
        report.rows_rejected += 1
        yield Rejected(table, Reject(table.source, member, lines[i].as_py(), raw, reason))
    if batch.num_rows:
        yield Batch(table, batch)


def _native(m: _Member) -> Iterator[ParseEvent]:
    table, member, report, batch_rows = m.table, m.name, m.report, m.batch_rows
    with m.open() as stream:
        first_line = m.header_lines + 1
        blocks = csv_native.iter_blocks(table, stream, m.header_raw, first_line, len(m.names), m.mapping)
        for block in blocks:
            ready = block.typed_batch(table)  # most blocks: nothing for typing.py to do
            if ready is None:
                yield from _emit_slices(
                    table, member, block.cells, block.lines, block.render, report, batch_rows
                )
                continue
            report.rows_read += ready.num_rows
            for start in range(0, ready.num_rows, batch_rows):
                yield Batch(table, ready.slice(start, batch_rows))


def _emit_slices(
    table: Table,
    member: str,
    cells: dict[str, pa.Array],
    lines: pa.Array,
    render: Callable[[int], str],
    report: TableReport,
    batch_rows: int,
    *,
    typed: bool = False,
) -> Iterator[ParseEvent]:
    """`_emit` for each slice of at most `batch_rows` rows; `render` takes a row of the whole."""
    for start in range(0, len(lines), batch_rows):
        yield from _emit(
            table,
            member,
            {k: v.slice(start, batch_rows) for k, v in cells.items()},
            lines.slice(start, batch_rows),
            lambda i, start=start: render(start + i),
            report,
            typed=typed,
        )


def _fast(m: _Member, *, typed: bool) -> Iterator[ParseEvent]:
    table, member, names, mapping, report = m.table, m.name, m.names, m.mapping, m.report
    if len(set(names)) != len(names) or len(names) < 2:
        # Arrow cannot address duplicate header names; with one column a blank line would be a
        # NULL record to Arrow but is skipped by the exact tokenizer
        raise _FastPathGaveUp
    by_name = {c.name: c for c in table.columns}
    column_types = {n: pa.string() for n in names}  # extra columns too: a reject shows them
    if typed:
        column_types.update({names[i]: arrow_type(by_name[w].type) for i, w in mapping.items()})
    skipped: list[object] = []

    def on_invalid(row: object) -> str:
        skipped.append(row)
        return "skip"

    with m.open() as stream:
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES, use_threads=True),
                # a blank line must not vanish (line numbers would shift): it becomes a record
                # of one field, which the invalid-row handler sends to the exact path
                parse_options=pacsv.ParseOptions(
                    newlines_in_values=True, ignore_empty_lines=False, invalid_row_handler=on_invalid
                ),
                convert_options=pacsv.ConvertOptions(
                    column_types=column_types,
                    null_values=[""],
                    true_values=BOOLEAN_TRUE,
                    false_values=BOOLEAN_FALSE,
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as e:
            if "Empty CSV file" in str(e):
                return
            if typed:  # most likely a value Arrow would not convert: the text path tells
                raise _TypedPathGaveUp from e
            raise _FastPathGaveUp from e
        next_line = m.header_lines + 1
        while True:
            try:
                rb = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as e:
                if typed and not skipped:
                    raise _TypedPathGaveUp from e
                raise _FastPathGaveUp from e  # e.g. invalid UTF-8: the exact path reports the line
            if skipped:
                raise _FastPathGaveUp
            if rb.num_rows == 0:
                continue
            columns = [rb.column(i) for i in range(rb.num_columns)]
            extra = _newlines_per_row(columns)
            if extra is None:  # one line per record
                lines = pa.array(range(next_line, next_line + rb.num_rows), pa.int64())
                next_line += rb.num_rows
            else:
                span = pc.add(extra, 1)
                lines = pc.add(pc.subtract(pc.cumulative_sum(span), span), next_line)
                next_line += rb.num_rows + int(pc.sum(extra).as_py() or 0)
            cells = {w: rb.column(names[i]) for i, w in mapping.items()}

            def render(i: int, columns: list[pa.Array] = columns) -> str:
                # typed values are not the record's text: the typed path never keeps a reject
                return "" if typed else _render([c[i].as_py() for c in columns])

            yield from _emit_slices(table, member, cells, lines, render, report, m.batch_rows, typed=typed)
        if skipped:
            raise _FastPathGaveUp


def _slow(m: _Member) -> Iterator[ParseEvent]:
    table, member, mapping, report = m.table, m.name, m.mapping, m.report
    width = len(m.names)
    with m.open() as stream:
        records = iter_records(stream)
        next(records, None)  # header
        pending: list[tuple[CsvRecord, list[str | None]]] = []
        for rec in records:
            if rec.fields == [None] and not rec.raw:
                continue  # blank line
            reason = rec.error
            values: list[str | None] = []
            if reason is None and len(rec.fields) != width:
                reason = f"record has {len(rec.fields)} fields, the header has {width}"
            if reason is None:
                try:
                    values = [None if f is None else f.decode("utf-8") for f in rec.fields]
                except UnicodeDecodeError:
                    reason = "record is not valid UTF-8"
            if reason is not None:
                report.rows_read += 1
                report.rows_rejected += 1
                raw = rec.raw.decode("utf-8", errors="backslashreplace")
                yield Rejected(table, Reject(table.source, member, rec.line, raw, reason))
                continue
            pending.append((rec, values))
            if len(pending) >= m.batch_rows:
                yield from _flush(table, member, pending, mapping, report)
                pending = []
        if pending:
            yield from _flush(table, member, pending, mapping, report)


def _flush(
    table: Table,
    member: str,
    pending: list[tuple[CsvRecord, list[str | None]]],
    mapping: dict[int, str],
    report: TableReport,
) -> Iterator[ParseEvent]:
    cells = {name: pa.array([v[i] for _, v in pending], pa.string()) for i, name in mapping.items()}
    lines = pa.array([r.line for r, _ in pending], pa.int64())
    yield from _emit(
        table,
        member,
        cells,
        lines,
        lambda i: pending[i][0].raw.decode("utf-8", errors="backslashreplace"),
        report,
    )


def read_csv_bytes(table: Table, data: bytes, member: str = "<memory>") -> Iterator[ParseEvent]:
    """Convenience for tests and the inspect command: parse an in-memory CSV."""
    return read_csv_member(table, member, lambda: io.BytesIO(data))
