"""Stellar backups: a (gzipped) mysqldump / mariadb-dump, typed by the catalog for staging.

Layers: `sql_splitter` (statements, DELIMITER-aware) -> `mysqldump_raw` (CREATE TABLE, USE,
INSERT events) -> here, the catalog layer: each INSERT's VALUES list becomes text cells
(`mysqldump_fast` through Arrow's CSV reader when it can prove the result exact, otherwise the
exact tokenizer `sql_values`), which `typing.type_batch` converts to the catalog's types,
quarantining what does not convert.

Column order of an INSERT comes from, in this order: its own column list (`--complete-insert`),
the dump's CREATE TABLE, the schema-only dump passed as `schema` (`--no-create-info` dumps),
else the catalog's column order. Catalog tables match dump tables by name; a name present in
two databases of the dump is ambiguous and fails that table. An incomplete dump (truncated
gzip, a statement cut off, the `-- Dump completed` trailer missing) raises `BackupError`.

Concurrency, for speed with bounded memory: decompression runs a few chunks ahead in a thread
(`limits.ThreadedReader`) and Arrow parses and types up to two 4 MB chunks in another
(`_Pipeline`); both release the GIL while this thread splits statements. Chunks are small so
that Arrow works during the whole read, not only at the end (a table under the chunk size is
read when the dump ends). Rows leave in file order per table.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np
import pyarrow as pa

from marina_assets.catalog.model import Table
from marina_assets.parsing.batch_size import BATCH_ROWS
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
from marina_assets.parsing.limits import DEFAULT_LIMITS, ArchiveLimits, ThreadedReader, open_maybe_gzip
from marina_assets.parsing.mysqldump_fast import read_columns, to_csv
from marina_assets.parsing.mysqldump_raw import Insert, Schema, TableDef, lookup, read_dump
from marina_assets.parsing.sql_values import as_text, iter_tuples
from marina_assets.parsing.typing import arrow_type, type_batch

FAST_BYTES = 4 << 20  # CSV text of several INSERTs handed to Arrow at once
MAX_RAW = 4000


@dataclass
class _Mapping:
    columns: list[str]  # dump column order
    index: dict[str, int]  # catalog warehouse name -> position in the dump tuple


@dataclass
class _TableState:
    table: Table
    report: TableReport
    database: str | None = None
    seen: bool = False
    failed: bool = False
    mapping: _Mapping | None = None
    rows: list[tuple[int, list[str | None]]] = field(default_factory=list)  # exact path
    fast: list[tuple[Insert, bytes, int]] = field(default_factory=list)  # (insert, csv, tuples)
    fast_bytes: int = 0


def _sql_literal(v: str | None) -> str:
    if v is None:
        return "NULL"
    return "'" + v.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n") + "'"


def parse_mysqldump(
    stream: BinaryIO,
    object_name: str,
    tables: Sequence[Table],
    *,
    schema: Schema | None = None,
    limits: ArchiveLimits = DEFAULT_LIMITS,
) -> Iterator[ParseEvent]:
    states = {
        t.source.lower(): _TableState(t, TableReport(member=f"{object_name}:{t.source}")) for t in tables
    }
    data = ThreadedReader(open_maybe_gzip(stream, object_name, limits))
    pipeline = _Pipeline()
    try:
        yield from _parse(data, object_name, states, schema, pipeline)
    finally:
        pipeline.close()
        data.close()


def _parse(
    data: BinaryIO,
    object_name: str,
    states: dict[str, _TableState],
    schema: Schema | None,
    pipeline: _Pipeline,
) -> Iterator[ParseEvent]:
    created: dict[tuple[str | None, str], list[str]] = {}
    for ev in read_dump(data, object_name):
        if isinstance(ev, TableDef):
            created[(ev.database, ev.table)] = [c.name for c in ev.columns]
            st = states.get(ev.table.lower())
            if st is not None:
                yield from _claim(st, ev.database, object_name)
            continue
        if ev.values_at < 0:
            raise BackupError(f"{object_name}: line {ev.line}: unreadable INSERT statement")
        st = states.get(ev.table.lower())
        if st is None:
            continue
        yield from _claim(st, ev.database, object_name)
        if st.failed:
            continue
        if st.mapping is None or ev.columns is not None:
            columns = ev.columns or created.get((ev.database, ev.table))
            if columns is None and schema is not None:
                found = lookup(schema, ev.database, ev.table)
                columns = [c.name for c in found] if found else None
            if columns is None:
                columns = [c.source for c in st.table.columns]
            if st.mapping is not None and st.mapping.columns == columns:
                yield from _insert(st, ev, pipeline)
                continue
            yield from _flush(st, pipeline)
            failure = _map(st, columns)
            if failure:
                st.failed = True
                st.rows.clear()
                st.fast.clear()
                yield Failed(st.table, failure)
                continue
        yield from _insert(st, ev, pipeline)
    for st in states.values():
        if st.failed:
            continue
        if not st.seen:
            yield Failed(st.table, f"{object_name}: table {st.table.source} is not in the dump")
            continue
        yield from _flush(st, pipeline)
    yield from pipeline.drain()
    for st in states.values():
        if st.seen and not st.failed:
            yield Finished(st.table, st.report)


def _claim(st: _TableState, database: str | None, object_name: str) -> Iterator[ParseEvent]:
    if st.seen and st.database != database and not st.failed:
        st.failed = True
        st.rows.clear()
        st.fast.clear()
        yield Failed(
            st.table,
            f"{object_name}: table {st.table.source} is in databases {st.database} and {database} "
            "of the dump; which one to stage is ambiguous",
        )
    st.seen, st.database = True, database
    if database and not st.report.member.endswith(f":{database}.{st.table.source}"):
        st.report.member = f"{st.report.member.rsplit(':', 1)[0]}:{database}.{st.table.source}"


def _map(st: _TableState, columns: list[str]) -> str | None:
    position = {c.lower(): i for i, c in reversed(list(enumerate(columns)))}
    index = {c.name: position[c.source.lower()] for c in st.table.columns if c.source.lower() in position}
    missing_keys = [c.source for c in st.table.key_columns if c.name not in index]
    if missing_keys:
        return f"{st.report.member}: primary key column(s) {', '.join(missing_keys)} missing from the dump"
    if st.mapping is None:
        known = {c.source.lower() for c in st.table.columns}
        st.report.missing_columns = [c.source for c in st.table.columns if c.name not in index]
        st.report.extra_columns = [c for c in columns if c.lower() not in known]
    st.mapping = _Mapping(columns, index)
    return None


def _insert(st: _TableState, ev: Insert, pipeline: _Pipeline) -> Iterator[ParseEvent]:
    converted = ev.csv or (to_csv(ev.text, ev.values_at) if ev.plain else None)
    if converted is not None:
        yield from _flush_exact(st)  # keep rows in file order
        st.fast.append((ev, *converted))
        st.fast_bytes += len(converted[0])
        if st.fast_bytes >= FAST_BYTES:
            yield from pipeline.submit(st)
        return
    if st.fast:
        yield from pipeline.submit(st)
    yield from pipeline.drain()  # rows leave in file order
    assert st.mapping is not None
    yield from _exact(st, ev, st.mapping)


def _exact(st: _TableState, ev: Insert, mapping: _Mapping) -> Iterator[ParseEvent]:
    width = len(mapping.columns)
    index = mapping.index
    for tup in iter_tuples(ev.text, ev.values_at):
        reason = tup.error
        if reason is None and len(tup.values) != width:
            reason = f"tuple has {len(tup.values)} values, the table has {width} columns"
        row: list[str | None] = []
        if reason is None:
            # only the columns the catalog takes must be text: an ignored blob may hold anything
            try:
                row = [
                    as_text(tup.values[index[c.name]]) if c.name in index else None for c in st.table.columns
                ]
            except UnicodeDecodeError:
                bad = [
                    c.source
                    for c in st.table.columns
                    if c.name in index and _not_utf8(tup.values[index[c.name]])
                ]
                reason = f"column {', '.join(bad)}: value is not valid UTF-8"
        if reason is not None:
            st.report.rows_read += 1
            st.report.rows_rejected += 1
            raw = tup.raw[:MAX_RAW].decode("utf-8", errors="backslashreplace")
            yield Rejected(st.table, Reject(st.table.source, st.report.member, ev.line, raw, reason))
            continue
        st.rows.append((ev.line, row))
        if len(st.rows) >= BATCH_ROWS:
            yield from _flush_exact(st)


class _Pipeline:
    """Arrow reads and types chunks in a worker thread (it releases the GIL) while this thread
    splits the next statements; at most `depth` chunks are in flight, so memory stays bounded."""

    def __init__(self, depth: int = 2) -> None:
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="marina-arrow")
        self.inflight: deque[tuple[_TableState, _Mapping, list[tuple[Insert, bytes, int]], Future]] = deque()
        self.depth = depth

    def submit(self, st: _TableState) -> Iterator[ParseEvent]:
        parts, st.fast, st.fast_bytes = st.fast, [], 0
        assert st.mapping is not None
        csv = b"\n".join(p[1] for p in parts)
        lines = np.repeat(np.array([p[0].line for p in parts], dtype=np.int64), [p[2] for p in parts])
        job = self.pool.submit(_read_typed, st.table, st.mapping, csv, lines)
        self.inflight.append((st, st.mapping, parts, job))
        while len(self.inflight) > self.depth:
            yield from self._harvest()

    def drain(self) -> Iterator[ParseEvent]:
        while self.inflight:
            yield from self._harvest()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)

    def _harvest(self) -> Iterator[ParseEvent]:
        st, mapping, parts, future = self.inflight.popleft()
        typed = future.result()
        if st.failed:
            return
        if typed is None:
            yield from _flush_exact(st)
            for ev, _, _ in parts:  # e.g. invalid UTF-8 or a short tuple: the exact path says where
                yield from _exact(st, ev, mapping)
            yield from _flush_exact(st)
            return
        yield from _report(st, *typed)


def _read_typed(table: Table, mapping: _Mapping, csv: bytes, lines: np.ndarray) -> _Typed | None:
    """(typed batch, rejects, lines) of one chunk, or None when the exact path must read it.

    Runs in the worker thread: Arrow parses and converts in C first; a value Arrow will not
    convert sends the chunk through the text path, where the typing layer quarantines exactly
    the bad rows. A row count other than the tuples counted (a separator inside a string, an
    empty tuple) or anything Arrow refuses as text means the exact path.
    """
    width = len(mapping.columns)
    types = {i: arrow_type(table.column(name).type) for name, i in mapping.index.items()}
    total = len(lines)
    arrays = read_columns(csv, width, types)
    if arrays is None or len(next(iter(arrays.values()))) != total:
        arrays = read_columns(csv, width, {i: pa.string() for i in types})
    if arrays is None or len(next(iter(arrays.values()))) != total:
        return None
    by_position = {i: name for name, i in mapping.index.items()}
    cells = {by_position[i]: a for i, a in arrays.items()}
    order = sorted(arrays)

    def render(i: int) -> str:
        return "(" + ",".join(_sql_literal(_text(arrays[k][i].as_py())) for k in order) + ")"

    line_array = pa.array(lines, type=pa.int64())
    batch, bad = type_batch(table, cells, line_array, render)
    return batch, bad, lines


_Typed = tuple[pa.RecordBatch, list[tuple[int, str, str]], np.ndarray]


def _not_utf8(v: object) -> bool:
    try:
        as_text(v)  # type: ignore[arg-type]
    except UnicodeDecodeError:
        return True
    return False


def _text(v: object) -> str | None:
    return None if v is None else str(v)


def _typed(
    st: _TableState, cells: dict[str, pa.Array], lines: pa.Array, render: Callable[[int], str]
) -> Iterator[ParseEvent]:
    batch, bad = type_batch(st.table, cells, lines, render)
    yield from _report(st, batch, bad, lines.to_numpy())


def _report(
    st: _TableState, batch: pa.RecordBatch, bad: list[tuple[int, str, str]], lines: np.ndarray
) -> Iterator[ParseEvent]:
    st.report.rows_read += len(lines)
    for i, reason, raw in bad:
        st.report.rows_rejected += 1
        yield Rejected(st.table, Reject(st.table.source, st.report.member, int(lines[i]), raw, reason))
    if batch.num_rows:
        yield Batch(st.table, batch)


def _flush(st: _TableState, pipeline: _Pipeline) -> Iterator[ParseEvent]:
    if st.fast:
        yield from pipeline.submit(st)
    yield from _flush_exact(st)


def _flush_exact(st: _TableState) -> Iterator[ParseEvent]:
    if not st.rows:
        return
    rows, st.rows = st.rows, []
    cells = {c.name: pa.array([r[i] for _, r in rows], pa.string()) for i, c in enumerate(st.table.columns)}
    lines = pa.array([ln for ln, _ in rows], pa.int64())
    yield from _typed(st, cells, lines, lambda i: "(" + ",".join(_sql_literal(v) for v in rows[i][1]) + ")")
