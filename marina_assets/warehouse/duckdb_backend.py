"""DuckDB: the embedded default warehouse, a single file under MARINA_HOME.

Arrow batches are handed to DuckDB zero-copy; DuckDB allows one writing process per file,
which the Dagster pools account for.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from marina_assets.warehouse.backend import Params, Warehouse
from marina_assets.warehouse.dialects import DUCKDB


class DuckDBWarehouse(Warehouse):
    dialect = DUCKDB

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.con = duckdb.connect(self.path)
        self._in_txn = False

    def execute(self, sql: str, params: Params = None) -> int:
        cur = self.con.execute(sql, dict(params or {}))
        if sql.lstrip()[:6].upper() in ("INSERT", "UPDATE", "DELETE"):
            row = cur.fetchone()
            return int(row[0]) if row else 0
        return -1

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        return self.con.execute(sql, dict(params or {})).fetchall()

    def insert_arrow(self, table_name: str, batch: pa.RecordBatch, constants: dict[str, Any]) -> int:
        view = "ARROW_BATCH_"
        self.con.register(view, pa.Table.from_batches([batch]))
        try:
            cols = [*batch.schema.names, *constants]
            select = [*batch.schema.names, *(f"${c}" for c in constants)]
            self.con.execute(
                f"INSERT INTO {table_name} ({', '.join(cols)}) SELECT {', '.join(select)} FROM {view}",
                dict(constants),
            )
        finally:
            self.con.unregister(view)
        return batch.num_rows

    def insert_rows(self, table_name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        marks = ", ".join("?" for _ in columns)
        self.con.executemany(f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES ({marks})", list(rows))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._in_txn:  # nested use joins the outer transaction
            yield
            return
        self.con.execute("BEGIN TRANSACTION")
        self._in_txn = True
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        else:
            self.con.execute("COMMIT")
        finally:
            self._in_txn = False

    def existing_columns(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        rows = self.con.execute(
            "SELECT upper(table_name), upper(column_name) FROM duckdb_columns() "
            "WHERE schema_name = current_schema() AND database_name = current_database()"
        ).fetchall()
        for table_name, column in rows:
            out.setdefault(table_name, set()).add(column)
        return out

    def close(self) -> None:
        self.con.close()
