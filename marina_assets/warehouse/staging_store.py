"""How a load's STG rows of one (table, date) are written, replaced and pruned.

The loader stages every table of a backup in one transaction and, per table, ends with either
`publish` (the new rows replace the date's previous rows) or `discard` (the previous rows stay).
Two ways to do that, chosen by the engine:

- `RowStore` (DuckDB, Oracle): one STG table; rows carry their LOAD_RUN_ID, and the replace is a
  DELETE of the date's rows of other runs.
- `pg_partitions.PartitionStore` (PostgreSQL): STG is list-partitioned by BACKUP_DATE; a load
  COPYs into a new table (a big table: into one table per COPY stream) and the replace swaps
  partitions.

Either way the swap is part of the load's transaction, so a crash leaves the previous rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any, Protocol

import pyarrow as pa

from marina_assets.catalog import audit
from marina_assets.catalog.model import Table
from marina_assets.warehouse.ddl import LOAD_LOG

if TYPE_CHECKING:
    from marina_assets.warehouse.backend import Warehouse


@dataclass(frozen=True)
class Target:
    """Where a load's batches go, and the constant columns still to send with each batch."""

    name: str
    constants: dict[str, Any]


class StagingStore(Protocol):
    def open(self, table: Table, backup_date: date, run_id: str, constants: dict[str, Any]) -> Target:
        """Prepare the load of (table, date); called once per table and load, before its rows."""

    def destination(self, table: Table, backup_date: date) -> str:
        """The table the next batch of (table, date) goes to (several for parallel COPY streams)."""

    def observe(self, table: Table, backup_date: date, batch: pa.RecordBatch) -> None:
        """A batch just written (with its ROW_HASH where the dialect has one); PostgreSQL
        classifies a big table's keys against the DW as they arrive (`pg_load_classify`)."""

    def reset(self, table: Table, backup_date: date, run_id: str) -> None:
        """Forget the rows this load wrote so far (the parser starts the member again)."""

    def publish(self, table: Table, backup_date: date, run_id: str) -> None:
        """The load's rows become the date's rows; the previous ones go."""

    def discard(self, table: Table, backup_date: date, run_id: str) -> None:
        """Drop the load's rows; the date keeps its previous ones."""

    def prune(self, table: Table, cutoff: date) -> int:
        """Remove every row with BACKUP_DATE < cutoff; returns how many."""

    def refresh_statistics(self, table: Table, backup_date: date) -> None:
        """Planner statistics good enough to join the date's rows (engines that need them)."""


class RowStore:
    def __init__(self, wh: Warehouse) -> None:
        self.wh = wh

    def open(self, table: Table, backup_date: date, run_id: str, constants: dict[str, Any]) -> Target:
        return Target(table.stg_name, constants)

    def destination(self, table: Table, backup_date: date) -> str:
        return table.stg_name

    def observe(self, table: Table, backup_date: date, batch: pa.RecordBatch) -> None:
        pass

    def reset(self, table: Table, backup_date: date, run_id: str) -> None:
        self._drop_run_rows(table, backup_date, run_id)

    def discard(self, table: Table, backup_date: date, run_id: str) -> None:
        self._drop_run_rows(table, backup_date, run_id)

    def publish(self, table: Table, backup_date: date, run_id: str) -> None:
        if self._may_hold_previous_rows(table, backup_date, run_id):
            b = self.wh.dialect.bind
            self.wh.execute(
                f"DELETE FROM {table.stg_name} WHERE {audit.BACKUP_DATE} = {b('d')} "
                f"AND {audit.LOAD_RUN_ID} <> {b('r')}",
                {"d": backup_date, "r": run_id},
            )

    def prune(self, table: Table, cutoff: date) -> int:
        b = self.wh.dialect.bind
        return self.wh.execute(
            f"DELETE FROM {table.stg_name} WHERE {audit.BACKUP_DATE} < {b('cutoff')}", {"cutoff": cutoff}
        )

    def refresh_statistics(self, table: Table, backup_date: date) -> None:
        self.wh.refresh_statistics(table.stg_name)

    def _drop_run_rows(self, table: Table, backup_date: date, run_id: str) -> None:
        b = self.wh.dialect.bind
        self.wh.execute(
            f"DELETE FROM {table.stg_name} WHERE {audit.BACKUP_DATE} = {b('d')} "
            f"AND {audit.LOAD_RUN_ID} = {b('r')}",
            {"d": backup_date, "r": run_id},
        )

    def _may_hold_previous_rows(self, table: Table, backup_date: date, run_id: str) -> bool:
        """False when no other run can have left rows of the date in STG: the replace is then a no-op.

        The DELETE of the previous rows reads every page of the date, the rows just loaded
        included. STG rows of a date are only ever written by the loader, in the transaction that
        logs the load; a run that failed dropped its rows, and retention marks what it deletes
        `pruned`. So only a logged run with another status (`loaded`, `pruned`: any but `failed`,
        to err on the side of deleting) can have left rows behind.
        """
        b = self.wh.dialect.bind
        rows = self.wh.fetchall(
            f"SELECT COUNT(*) FROM {LOAD_LOG.name} WHERE TABLE_NAME = {b('t')} AND BACKUP_DATE = {b('d')} "
            f"AND LAYER = 'STG' AND STATUS <> 'failed' AND LOAD_RUN_ID <> {b('r')}",
            {"t": table.stg_name, "d": backup_date, "r": run_id},
        )
        return bool(rows and rows[0][0])
