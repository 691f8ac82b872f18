"""The one interface every warehouse engine implements: a handful of connection primitives.

Everything above it — schema management, the staging loader, the merge — is written once
against these primitives and the engine's `Dialect`; an engine adds only what it does
natively fast (Arrow into DuckDB, COPY into PostgreSQL, array binds into Oracle).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

import pyarrow as pa

from marina_assets.catalog.model import Table
from marina_assets.warehouse.dialects import Dialect
from marina_assets.warehouse.staging_store import RowStore, StagingStore

# named parameters (`dialect.bind(name)` in the SQL) or none
Params = Mapping[str, Any] | None


@dataclass(frozen=True)
class RowError:
    """A row the engine refused during a bulk insert: its offset in the batch and why."""

    offset: int
    message: str


class Warehouse(ABC):
    dialect: Dialect
    # True where the per-date merge step runs as a generated stored procedure (Oracle)
    merges_in_database: bool = False

    @abstractmethod
    def execute(self, sql: str, params: Params = None) -> int:
        """Run one statement; return the number of rows it changed (-1 when unknown)."""

    @abstractmethod
    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]: ...

    @abstractmethod
    def insert_arrow(self, table_name: str, batch: pa.RecordBatch, constants: dict[str, Any]) -> int:
        """Bulk-insert a record batch (its column names = target columns) plus constant columns."""

    def take_row_errors(self) -> list[RowError]:
        """Rows refused by the last `insert_arrow` (engines with per-row batch errors); cleared."""
        return []

    @abstractmethod
    def insert_rows(self, table_name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None: ...

    @abstractmethod
    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit on normal exit, roll back on any exception."""

    @abstractmethod
    def existing_columns(self) -> dict[str, set[str]]:
        """Upper-case column names of every table in the warehouse schema, by upper-case table name."""

    def refresh_statistics(self, table_name: str, changed_rows: int = 0) -> None:
        """Bring the planner's statistics of a table up to date if they are missing or stale.

        Engines whose planner depends on collected statistics (PostgreSQL) implement this; a
        merge calls it before joining with the DW table, and after changing `changed_rows` of
        its rows (so a bulk change is analyzed by the merge that made it, not the next one).
        """
        return None

    def parallel_readers(self, rows: int) -> int:
        """How many connections should split a read of about `rows` rows (1: this one alone)."""
        return 1

    @property
    def in_transaction(self) -> bool:
        """True inside `transaction()` (engines that tell; the others say False)."""
        return False

    def fill_in_parallel(
        self, create_empty: str, table_name: str, selects: Sequence[str], params: Params = None
    ) -> bool:
        """Run `create_empty` (which makes the scratch table `table_name`), then each SELECT on a
        connection of its own under this transaction's snapshot, and append their rows to it.
        The snapshot lacks this transaction's own changes: call it only before the transaction
        has changed anything the SELECTs read. False, with nothing done, where that cannot
        happen: the caller then runs the work itself."""
        return False

    def load_delta(self, table: Table, backup_date: date, keys: int) -> tuple[str, int] | None:
        """(table, rows) of the delta the load of `backup_date` classified, when it is still valid
        for the DW table as this transaction sees it (PostgreSQL: `pg_load_classify`); None: the
        merge classifies. Call it in the merge's transaction, before anything changed the DW."""
        return None

    def staging_store(self) -> StagingStore:
        """How a load writes, replaces and prunes STG rows of a date (see `staging_store`)."""
        return RowStore(self)

    def object_status(self, names: Sequence[str]) -> dict[str, tuple[str, str]]:
        """name -> (status, errors) of stored objects where the engine tracks them (Oracle)."""
        return {}

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
