"""PostgreSQL 15+ through psycopg 3: Arrow batches arrive by COPY, merges are plain SQL.

A batch is encoded in PostgreSQL's binary COPY format by vectorised code (`pg_binary`), which
the server ingests about twice as fast as CSV; consecutive batches of one table stream into one
open `COPY ... FROM STDIN (FORMAT binary)`, sent by psycopg's writer thread while the next batch
is encoded. The COPY ends before any other statement runs, so statements still see every row
inserted before them. A batch with a type the encoder does not cover goes the CSV way: Arrow's
C++ writer quotes every string (an empty string is `""`) and writes NULL as an unquoted empty
field, which is exactly PostgreSQL's CSV NULL convention. No Python code touches single rows.
The connection runs in autocommit mode; `transaction()` opens the one explicit transaction a
load or a merge needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg.copy import QueuedLibpqWriter
from psycopg.sql import Composable

from marina_assets.warehouse import pg_binary
from marina_assets.warehouse.backend import Params, Warehouse
from marina_assets.warehouse.dialects import POSTGRES
from marina_assets.warehouse.pg_partitions import PartitionStore

WORK_MEM = os.environ.get("MARINA_POSTGRES_WORK_MEM", "256MB")
TEMP_BUFFERS = os.environ.get("MARINA_POSTGRES_TEMP_BUFFERS", "512MB")
RANDOM_PAGE_COST = float(os.environ.get("MARINA_POSTGRES_RANDOM_PAGE_COST", "1.1"))
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
    key: tuple[str, tuple[str, ...]]  # table, columns
    cursor: psycopg.Cursor
    context: Any  # the `cursor.copy(...)` context manager
    copy: psycopg.Copy


class PostgresWarehouse(Warehouse):
    dialect = POSTGRES

    def __init__(self, dsn: str) -> None:
        # the DSN may hold a password: never echo it in errors or logs
        try:
            self.con = psycopg.connect(dsn, autocommit=True)
        except psycopg.OperationalError as e:
            raise ConnectionError(f"cannot connect to PostgreSQL (MARINA_POSTGRES_DSN): {e}") from None
        self._txn: psycopg.Transaction | None = None
        self._copy: _OpenCopy | None = None
        self._column_types: dict[str, dict[str, pg_binary.PgColumn]] = {}
        # tables created or truncated in the open transaction: COPY into them may FREEZE
        self._fresh: set[str] = set()
        # a merge hash-joins a whole snapshot against its DW table and keeps the snapshot in a
        # temp table: the server defaults (4MB work_mem, 8MB temp_buffers) spill both to disk
        self.con.execute(f"SET work_mem = '{WORK_MEM}'")
        self.con.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
        # the server default (4.0) prices a random page as on a spinning disk; with it the planner
        # updates 10,000 delta rows by hashing and scanning the whole DW table (0.6 s) instead of
        # probing its primary key (0.1 s). 1.1 is the usual setting for SSD or cached storage.
        self.con.execute(f"SET random_page_cost = {RANDOM_PAGE_COST}")

    def execute(self, sql: str, params: Params = None) -> int:
        self._end_copy()
        if sql.lstrip()[:5].upper() in ("ALTER", "CREAT", "DROP "):
            self._column_types.clear()  # a table's columns may have changed
        cur = self.con.execute(sql, dict(params) if params else None)
        return cur.rowcount

    def execute_composed(self, statement: Composable) -> None:
        """A statement built with psycopg.sql (identifiers and literals quoted by psycopg)."""
        self._end_copy()
        self._column_types.clear()
        self.con.execute(statement)

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        self._end_copy()
        return self.con.execute(sql, dict(params) if params else None).fetchall()

    def staging_store(self) -> PartitionStore:
        return PartitionStore(self)

    def created_in_transaction(self, table_name: str) -> None:
        """`table_name` was created or truncated in the open transaction: COPY may FREEZE it."""
        if self._txn is not None:
            self._fresh.add(table_name.lower())

    def _copy_options(self, table_name: str, fmt: str) -> str:
        # FREEZE: the rows are written frozen; legal (and safe for other sessions) only because
        # the table is new in this transaction, so nobody else can see it before COMMIT
        return f"FORMAT {fmt}, FREEZE" if table_name.lower() in self._fresh else f"FORMAT {fmt}"

    def _columns(self, table_name: str) -> dict[str, pg_binary.PgColumn]:
        if table_name not in self._column_types:
            rows = self.fetchall(
                "SELECT upper(column_name), data_type, numeric_precision, numeric_scale "
                "FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %(t)s",
                {"t": table_name.lower()},
            )
            self._column_types[table_name] = {r[0]: pg_binary.PgColumn(r[1], r[2], r[3]) for r in rows}
        return self._column_types[table_name]

    def _begin_copy(self, key: tuple[str, tuple[str, ...]]) -> _OpenCopy:
        self._end_copy()
        cur = self.con.cursor()
        context = cur.copy(
            f"COPY {key[0]} ({', '.join(key[1])}) FROM STDIN ({self._copy_options(key[0], 'binary')})",
            writer=QueuedLibpqWriter(cur),
        )
        copy = context.__enter__()
        copy.write(pg_binary.HEADER)
        self._copy = _OpenCopy(key, cur, context, copy)
        return self._copy

    def _end_copy(self, error: BaseException | None = None) -> None:
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

    def insert_arrow(self, table_name: str, batch: pa.RecordBatch, constants: dict[str, Any]) -> int:
        n = batch.num_rows
        if not n:
            return 0
        names = [*batch.schema.names, *constants]
        types = self._columns(table_name)
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
            copy = self._copy if self._copy is not None and self._copy.key == key else self._begin_copy(key)
            copy.copy.write(payload)
            return n
        self._end_copy()
        arrays = [*batch.columns, *(pa.repeat(pa.scalar(v), n) for v in constants.values())]
        data = pa.Table.from_arrays(arrays, names=names)
        with (
            self.con.cursor() as cur,
            cur.copy(
                f"COPY {table_name} ({', '.join(names)}) FROM STDIN ({self._copy_options(table_name, 'csv')})"
            ) as copy,
        ):
            pacsv.write_csv(data, _CopySink(copy), _CSV)
        return n

    def insert_rows(self, table_name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._end_copy()
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
            except BaseException as e:
                with suppress(psycopg.Error):  # the transaction rolls back and `e` propagates anyway
                    self._end_copy(e)
                raise
            else:
                self._end_copy()  # a COPY error surfaces here, before the COMMIT
            finally:
                self._txn = None
                self._fresh.clear()

    def refresh_statistics(self, table_name: str, changed_rows: int = 0) -> None:
        # ANALYZE when the table was never analyzed (right after a bulk load the planner would
        # join a 10,000-row delta by hashing and scanning the whole DW table instead of probing
        # its key), when it grew or shrank by over 10% of its pages since, or when the caller
        # changed over 10% of its rows (autovacuum's threshold). Not the server's modification
        # counter: it adds a transaction's changes at COMMIT, after an ANALYZE that already saw
        # them, so the next merge would analyze the same rows again. Drift below these
        # thresholds is left to autovacuum.
        rows = self.fetchall(
            "SELECT reltuples, relpages, pg_relation_size(oid) / current_setting('block_size')::int "
            "FROM pg_class WHERE oid = to_regclass(%(t)s)",
            {"t": table_name.lower()},
        )
        if not rows:
            return
        tuples, pages, pages_now = rows[0]
        if tuples < 0 or abs(pages_now - pages) > 0.1 * pages + 10 or changed_rows > 0.1 * tuples + 50:
            self.execute(f"ANALYZE {table_name}")

    def existing_columns(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        # tables and views of the schema; STG's partitions are part of their STG table
        for table_name, column in self.fetchall(
            "SELECT upper(c.relname), upper(a.attname) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition "
            "AND a.attnum > 0 AND NOT a.attisdropped"
        ):
            out.setdefault(table_name, set()).add(column)
        return out

    def close(self) -> None:
        try:
            self._end_copy()
        finally:
            self.con.close()
