"""One connection's COPY: Arrow batches into a table, binary where the encoder covers the types.

A batch is encoded in PostgreSQL's binary COPY format by vectorised code (`pg_binary`), which
the server ingests about twice as fast as CSV; consecutive batches of one table stream into one
open `COPY ... FROM STDIN (FORMAT binary)`, sent by psycopg's writer thread while the next batch
is encoded. The COPY ends before any other statement runs on the connection, so statements
still see every row inserted before them. A batch with a type the encoder does not cover goes
the CSV way: Arrow's C++ writer quotes every string (an empty string is `""`) and writes NULL
as an unquoted empty field, which is exactly PostgreSQL's CSV NULL convention.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg.copy import QueuedLibpqWriter

from marina_assets.warehouse import pg_binary

_CSV = pacsv.WriteOptions(include_header=False, batch_size=8192)


class _CopySink:
    """File-like adapter: Arrow's CSV writer writes, COPY receives."""

    def __init__(self, copy: psycopg.Copy) -> None:
        self.copy = copy
        self.closed = False

    def write(self, data: bytes) -> int:
        self.copy.write(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True


@dataclass
class _OpenCopy:
    key: tuple[str, tuple[str, ...]]  # (table, columns) the COPY was started for
    cursor: psycopg.Cursor
    context: Any  # the `cursor.copy(...)` context manager
    copy: psycopg.Copy


@dataclass
class CopyChannel:
    con: psycopg.Connection
    # tables created or truncated in the connection's open transaction: COPY into them may FREEZE
    fresh: set[str] = field(default_factory=set)
    _copy: _OpenCopy | None = None

    def write(
        self,
        table_name: str,
        batch: pa.RecordBatch,
        constants: dict[str, Any],
        types: dict[str, pg_binary.PgColumn],
    ) -> None:
        """COPY `batch` plus the constant columns into `table_name`; `types` by upper-case column."""
        names = [*batch.schema.names, *constants]
        targets = [types.get(name.upper()) for name in names]
        payload = None
        if all(targets):
            cols = [t for t in targets if t is not None]
            k = batch.num_columns
            # the constants' fields are encoded once and appended to every row as one piece
            tail = pg_binary.encode_constants([pa.array([v]) for v in constants.values()], cols[k:])
            if tail is not None:
                payload = pg_binary.encode_rows(list(batch.columns), cols[:k], tail, len(constants))
        if payload is not None:
            key = (table_name, tuple(names))
            copy = self._copy if self._copy is not None and self._copy.key == key else self._begin(key)
            copy.copy.write(payload)
            return
        self.end()
        n = batch.num_rows
        arrays = [*batch.columns, *(pa.repeat(pa.scalar(v), n) for v in constants.values())]
        data = pa.Table.from_arrays(arrays, names=names)
        with (
            self.con.cursor() as cur,
            cur.copy(
                f"COPY {table_name} ({', '.join(names)}) FROM STDIN ({self._options(table_name, 'csv')})"
            ) as copy,
        ):
            pacsv.write_csv(data, _CopySink(copy), _CSV)

    def end(self, error: BaseException | None = None) -> None:
        """Finish the open binary COPY (or abort it when the transaction is failing)."""
        open_copy, self._copy = self._copy, None
        if open_copy is None:
            return
        try:
            if error is None:
                open_copy.copy.write(pg_binary.TRAILER)
                open_copy.context.__exit__(None, None, None)
            else:
                open_copy.context.__exit__(type(error), error, error.__traceback__)
        finally:
            open_copy.cursor.close()

    def _options(self, table_name: str, fmt: str) -> str:
        # FREEZE: the rows are written frozen; legal (and safe for other sessions) only because
        # the table is new in this transaction, so nobody else can see it before COMMIT
        return f"FORMAT {fmt}, FREEZE" if table_name.lower() in self.fresh else f"FORMAT {fmt}"

    def _begin(self, key: tuple[str, tuple[str, ...]]) -> _OpenCopy:
        self.end()
        cur = self.con.cursor()
        context = cur.copy(
            f"COPY {key[0]} ({', '.join(key[1])}) FROM STDIN ({self._options(key[0], 'binary')})",
            writer=QueuedLibpqWriter(cur),
        )
        copy = context.__enter__()
        copy.write(pg_binary.HEADER)
        self._copy = _OpenCopy(key, cur, context, copy)
        return self._copy
