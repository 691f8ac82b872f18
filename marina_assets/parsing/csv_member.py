"""Read one CSV member (a MOLO or NetSuite table) into typed batches and rejects.

Columns are matched by header name, not position. The fast path is Arrow's C CSV reader with
every column read as text; the typed conversion and the line numbers are vectorized. When the
fast reader has to skip a malformed record, the member is read again by the exact tokenizer
(after a `Reset`), so every reject carries its physical line and nothing is silently lost.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from typing import BinaryIO

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from marina_assets.catalog.model import Table
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
from marina_assets.parsing.typing import type_batch

BATCH_ROWS = 65_536
_BLOCK_BYTES = 8 << 20


class _FastPathGaveUp(Exception):
    pass


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


def _newlines_per_row(columns: list[pa.Array]) -> pa.Array:
    extra = pa.repeat(pa.scalar(0, pa.int64()), len(columns[0]) if columns else 0)
    for c in columns:
        if not (pc.any(pc.match_substring(c, "\n")).as_py() or pc.any(pc.match_substring(c, "\r")).as_py()):
            continue  # most columns hold no line break: one pass instead of three
        lf = pc.fill_null(pc.count_substring(c, "\n"), 0)
        cr = pc.fill_null(pc.count_substring(c, "\r"), 0)
        crlf = pc.fill_null(pc.count_substring(c, "\r\n"), 0)
        extra = pc.add(extra, pc.subtract(pc.add(lf, cr), crlf).cast(pa.int64()))
    return extra


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

    try:
        yield from _fast(table, member, open_member, names, mapping, header_lines, report, batch_rows)
    except _FastPathGaveUp:
        yield Reset(table)
        report.rows_read = report.rows_rejected = 0
        yield from _slow(table, member, open_member, names, mapping, report, batch_rows)
    yield Finished(table, report)


def _emit(
    table: Table,
    member: str,
    cells: dict[str, pa.Array],
    lines: pa.Array,
    render: Callable[[int], str],
    report: TableReport,
) -> Iterator[ParseEvent]:
    batch, bad = type_batch(table, cells, lines, render)
    report.rows_read += len(lines)
    for i, reason, raw in bad:
        report.rows_rejected += 1
        yield Rejected(table, Reject(table.source, member, lines[i].as_py(), raw, reason))
    if batch.num_rows:
        yield Batch(table, batch)


def _fast(
    table: Table,
    member: str,
    open_member: Callable[[], BinaryIO],
    names: list[str],
    mapping: dict[int, str],
    header_lines: int,
    report: TableReport,
    batch_rows: int,
) -> Iterator[ParseEvent]:
    if len(set(names)) != len(names):
        raise _FastPathGaveUp  # Arrow cannot address duplicate header names
    skipped: list[object] = []

    def on_invalid(row: object) -> str:
        skipped.append(row)
        return "skip"

    with open_member() as stream:
        try:
            reader = pacsv.open_csv(
                stream,
                read_options=pacsv.ReadOptions(block_size=_BLOCK_BYTES, use_threads=True),
                parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
                convert_options=pacsv.ConvertOptions(
                    column_types={n: pa.string() for n in names},
                    null_values=[""],
                    strings_can_be_null=True,
                    quoted_strings_can_be_null=False,
                ),
            )
        except pa.ArrowInvalid as e:
            if "Empty CSV file" in str(e):
                return
            raise _FastPathGaveUp from e
        next_line = header_lines + 1
        while True:
            try:
                rb = reader.read_next_batch()
            except StopIteration:
                break
            except pa.ArrowInvalid as e:  # e.g. invalid UTF-8: the exact path reports the line
                raise _FastPathGaveUp from e
            if skipped:
                raise _FastPathGaveUp
            columns = [rb.column(i) for i in range(rb.num_columns)]
            span = pc.add(_newlines_per_row(columns), 1)
            ends = pc.cumulative_sum(span)
            lines = pc.add(pc.subtract(ends, span), next_line)
            next_line += int(pc.sum(span).as_py() or 0)
            cells = {mapping[i]: columns[i] for i in mapping}

            def render(i: int, columns: list[pa.Array] = columns) -> str:
                return _render([c[i].as_py() for c in columns])

            for start in range(0, rb.num_rows, batch_rows):
                stop = min(start + batch_rows, rb.num_rows)
                part = {k: v.slice(start, stop - start) for k, v in cells.items()}
                yield from _emit(
                    table,
                    member,
                    part,
                    lines.slice(start, stop - start),
                    lambda i, start=start: render(start + i),
                    report,
                )
        if skipped:
            raise _FastPathGaveUp


def _slow(
    table: Table,
    member: str,
    open_member: Callable[[], BinaryIO],
    names: list[str],
    mapping: dict[int, str],
    report: TableReport,
    batch_rows: int,
) -> Iterator[ParseEvent]:
    width = len(names)
    with open_member() as stream:
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
            if len(pending) >= batch_rows:
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
