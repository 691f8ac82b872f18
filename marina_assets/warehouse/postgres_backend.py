"""PostgreSQL 15+ through psycopg 3: Arrow batches arrive by COPY, merges are plain SQL.

Batches are COPYed in PostgreSQL's binary format (`pg_copy`); a big table's batches take turns
between this connection and the helper connections of `pg_streams`, so several server processes
ingest them. No Python code touches single rows. The connection runs in autocommit mode;
`transaction()` opens the one explicit transaction a load or a merge needs.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import date
from typing import Any

import psycopg
import pyarrow as pa
from psycopg.sql import Composable

from marina_assets.catalog.model import Table
from marina_assets.warehouse import pg_binary, pg_load_classify
from marina_assets.warehouse.backend import Params, Warehouse
from marina_assets.warehouse.dialects import POSTGRES
from marina_assets.warehouse.pg_copy import CopyChannel
from marina_assets.warehouse.pg_partitions import PartitionStore
from marina_assets.warehouse.pg_snapshot_readers import SnapshotReaders, literal_query
from marina_assets.warehouse.pg_streams import CopyStreams

WORK_MEM = os.environ.get("MARINA_POSTGRES_WORK_MEM", "256MB")
TEMP_BUFFERS = os.environ.get("MARINA_POSTGRES_TEMP_BUFFERS", "512MB")
RANDOM_PAGE_COST = float(os.environ.get("MARINA_POSTGRES_RANDOM_PAGE_COST", "1.1"))


def _tune(con: psycopg.Connection) -> None:
    """The session settings of every connection that merges or classifies."""
    # a merge hash-joins a whole snapshot against its DW table and keeps the snapshot in a
    # temp table: the server defaults (4MB work_mem, 8MB temp_buffers) spill both to disk
    con.execute(f"SET work_mem = '{WORK_MEM}'")
    con.execute(f"SET temp_buffers = '{TEMP_BUFFERS}'")
    # the server default (4.0) prices a random page as on a spinning disk; with it the planner
    # updates 10,000 delta rows by hashing and scanning the whole DW table (0.6 s) instead of
    # probing its primary key (0.1 s). 1.1 is the usual setting for SSD or cached storage.
    con.execute(f"SET random_page_cost = {RANDOM_PAGE_COST}")


class PostgresWarehouse(Warehouse):
    dialect = POSTGRES

    def __init__(self, dsn: str) -> None:
        # the DSN may hold a password: never echo it in errors or logs
        try:
            self.con = psycopg.connect(dsn, autocommit=True)
        except psycopg.OperationalError as e:
            raise ConnectionError(f"cannot connect to PostgreSQL (MARINA_POSTGRES_DSN): {e}") from None
        self.dsn = dsn  # for the load's DW fetches; may hold a password: never log it
        self._txn: psycopg.Transaction | None = None
        self._copy = CopyChannel(self.con)
        self.streams = CopyStreams(dsn)
        self._column_types: dict[str, dict[str, pg_binary.PgColumn]] = {}
        # a load's own tables (partitions, stream tables) -> the STG table whose columns they have
        self._shapes: dict[str, str] = {}
        _tune(self.con)
        self.readers = SnapshotReaders(dsn, _tune)
        # DW rows from which a load classifies its keys (`pg_load_classify`); None: never
        self.load_classify_min_rows: int | None = pg_load_classify.MIN_ROWS

    def execute(self, sql: str, params: Params = None) -> int:
        self._copy.end()
        if sql.lstrip()[:5].upper() in ("ALTER", "CREAT", "DROP "):
            self._column_types.clear()  # a table's columns may have changed
        cur = self.con.execute(sql, dict(params) if params else None)
        return cur.rowcount

    def execute_composed(self, statement: Composable) -> None:
        """A statement built with psycopg.sql (identifiers and literals quoted by psycopg)."""
        self._copy.end()
        self._column_types.clear()
        self.con.execute(statement)

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        self._copy.end()
        return self.con.execute(sql, dict(params) if params else None).fetchall()

    def staging_store(self) -> PartitionStore:
        return PartitionStore(self)

    def created_in_transaction(self, table_name: str, shape: str) -> None:
        """`table_name` (columns as STG table `shape`) was created or truncated in the open
        transaction: COPY may FREEZE it."""
        self._shapes[table_name] = shape
        if self._txn is not None:
            self._copy.fresh.add(table_name.lower())

    def stream_table_created(self, table_name: str, shape: str) -> None:
        """`table_name` (columns as `shape`) was created by `self.streams`: its batches go there."""
        self._shapes[table_name] = shape

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

    def insert_arrow(self, table_name: str, batch: pa.RecordBatch, constants: dict[str, Any]) -> int:
        if not batch.num_rows:
            return 0
        # a stream table is not visible to this connection before it is attached: its columns
        # are its STG table's
        types = self._columns(self._shapes.get(table_name, table_name))
        if self.streams.owns(table_name):
            self.streams.write(table_name, batch, constants, types)
        else:
            self._copy.write(table_name, batch, constants, types)
        return batch.num_rows

    def insert_rows(self, table_name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        self._copy.end()
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
        committed = False
        try:
            with self.con.transaction() as txn:
                self._txn = txn
                try:
                    yield
                except BaseException as e:
                    with suppress(psycopg.Error):  # the transaction rolls back and `e` propagates anyway
                        self._copy.end(e)
                    raise
                else:
                    self._copy.end()  # a COPY error surfaces here, before the COMMIT
                finally:
                    self._txn = None
                    self._copy.fresh.clear()
            committed = True
        finally:
            self._shapes.clear()
            self.streams.finish(committed)

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

    def parallel_readers(self, rows: int) -> int:
        return self.readers.workers if rows >= self.readers.min_rows else 1

    @property
    def in_transaction(self) -> bool:
        return self._txn is not None

    def fill_in_parallel(
        self, create_empty: str, table_name: str, selects: Sequence[str], params: Params = None
    ) -> bool:
        self._copy.end()
        snapshot = self.fetchall("SELECT pg_export_snapshot()")[0][0]
        queries = [literal_query(self.con, s, params or {}) for s in selects]
        parts = self.readers.copy_out(snapshot, queries)
        if parts is None:
            return False
        self.execute(create_empty, params)
        for data in parts:
            self.copy_in(table_name, data)
        return True

    def copy_in(self, table_name: str, data: bytes) -> None:
        """Append rows already in COPY's binary format."""
        self._copy.end()
        with self.con.cursor().copy(f"COPY {table_name} FROM STDIN (FORMAT binary)") as copy:
            copy.write(data)

    def load_delta(self, table: Table, backup_date: date, keys: int) -> tuple[str, int] | None:
        partition = PartitionStore(self).partitions(table, lambda d: d == backup_date)
        return pg_load_classify.usable_delta(self, table, partition[0], keys) if len(partition) == 1 else None

    def existing_columns(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        # tables and views of the schema; STG's partitions and a load's own tables (a stream's
        # table not attached yet, the load's delta `<partition>_pc`) are part of their STG table
        for table_name, column in self.fetchall(
            "SELECT upper(c.relname), upper(a.attname) "
            "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace "
            "AND c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition "
            r"AND c.relname !~ '_\d{8}_[0-9a-f]{8}_(pc|s\d+)$' "
            "AND a.attnum > 0 AND NOT a.attisdropped"
        ):
            out.setdefault(table_name, set()).add(column)
        return out

    def close(self) -> None:
        try:
            self._copy.end()
        finally:
            self.streams.close()
            self.readers.close()
            self.con.close()
