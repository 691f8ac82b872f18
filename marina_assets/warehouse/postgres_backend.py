"""PostgreSQL 15+ through psycopg 3: Arrow batches arrive by COPY, merges are plain SQL.

A batch is rendered to CSV by Arrow's C++ writer and streamed into `COPY ... FROM STDIN`, so no
Python code touches individual rows. Arrow quotes every string (an empty string is `""`) and
writes NULL as an unquoted empty field, which is exactly PostgreSQL's CSV NULL convention.
The connection runs in autocommit mode; `transaction()` opens the one explicit transaction a
load or a merge needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from marina_assets.warehouse.backend import Params, Warehouse
from marina_assets.warehouse.dialects import POSTGRES

WORK_MEM = os.environ.get("MARINA_POSTGRES_WORK_MEM", "256MB")
TEMP_BUFFERS = os.environ.get("MARINA_POSTGRES_TEMP_BUFFERS", "512MB")
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


class PostgresWarehouse(Warehouse):
    dialect = POSTGRES

    def __init__(self, dsn: str) -> None:
        # the DSN may hold a password: never echo it in errors or logs
        try:
            self.con = psycopg.connect(dsn, autocommit=True)
        except psycopg.OperationalError as e:
            raise ConnectionError(f"cannot connect to PostgreSQL (MARINA_POSTGRES_DSN): {e}") from None
        self._txn: psycopg.Transaction | None = None
        # a merge hash-joins a whole snapshot against its DW table and keeps the snapshot in a
        # temp table: the server defaults (4MB work_mem, 8MB temp_buffers) spill both to disk
        self.con.execute(f"SET work_mem = '{WORK_MEM}'")
        self.con.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")

    def execute(self, sql: str, params: Params = None) -> int:
        cur = self.con.execute(sql, dict(params) if params else None)
        return cur.rowcount

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, dict(params) if params else None).fetchall()

    def insert_arrow(self, table_name: str, batch: pa.RecordBatch, constants: dict[str, Any]) -> int:
        n = batch.num_rows
        if not n:
            return 0
        arrays = [*batch.columns, *(pa.repeat(pa.scalar(v), n) for v in constants.values())]
        names = [*batch.schema.names, *constants]
        data = pa.Table.from_arrays(arrays, names=names)
        with (
            self.con.cursor() as cur,
            cur.copy(f"COPY {table_name} ({', '.join(names)}) FROM STDIN (FORMAT csv)") as copy,
        ):
            pacsv.write_csv(data, _CopySink(copy), _CSV)
        return n

    def insert_rows(self, table_name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        marks = ", ".join("%s" for _ in columns)
        with self.con.cursor() as cur:
            cur.executemany(f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES ({marks})", list(rows))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._txn is not None:  # nested use joins the outer transaction
            yield
            return
        with self.con.transaction() as txn:
            self._txn = txn
            try:
                yield
            finally:
                self._txn = None

    def existing_columns(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for table_name, column in self.fetchall(
            "SELECT upper(table_name), upper(column_name) FROM information_schema.columns "
            "WHERE table_schema = current_schema()"
        ):
            out.setdefault(table_name, set()).add(column)
        return out

    def close(self) -> None:
        self.con.close()
