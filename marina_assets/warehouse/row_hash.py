"""The per-row hash the loader stores in STG.ROW_HASH (engines whose dialect has `row_hash`).

A 64-bit hash of the row's non-key catalog columns, in catalog order, computed by DuckDB's
`hash()` over the Arrow batch (vectorised, ~0.1 s per million rows, the same value in every
process: no per-process seed, unlike Python's `hash()`). A column missing from the batch is
hashed as the NULL it is stored as, so the hash input is exactly the values staged.

What the merge relies on, and what it does not:
- equal hash => unchanged. Wrong only on a 64-bit collision between a DW row and its changed
  successor: about 2^-64 per changed row (a missed update of that one row). This is the one
  risk the hash adds; the column-by-column comparison has none.
- unequal or NULL hash => "maybe changed": the merge confirms it column by column (NULL-safe),
  so a different hash function (a DuckDB upgrade), a different Arrow type for the same values
  or a row staged before the column existed never shows as an update.
The hash is stored as BIGINT: the unsigned 64 bits reinterpreted as signed.
"""

from __future__ import annotations

import duckdb
import pyarrow as pa

from marina_assets.catalog.model import Table
from marina_assets.parsing.typing import arrow_schema


class RowHasher:
    """Hashes the batches of one load; holds one single-threaded in-memory DuckDB connection.

    One thread: the batches are small (~64K rows) and the database server, busy ingesting the
    previous batch, needs the other cores more.
    """

    def __init__(self) -> None:
        self._con: duckdb.DuckDBPyConnection | None = None
        self._types: dict[str, dict[str, pa.DataType]] = {}

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            self._con = duckdb.connect(config={"threads": 1})
        return self._con

    def _catalog_types(self, table: Table) -> dict[str, pa.DataType]:
        if table.stg_name not in self._types:
            schema = arrow_schema(table)
            self._types[table.stg_name] = {c.name: schema.field(c.name).type for c in table.value_columns}
        return self._types[table.stg_name]

    def hashes(self, table: Table, batch: pa.RecordBatch) -> pa.Array:
        """ROW_HASH of every row of `batch` (int64)."""
        n = batch.num_rows
        types = self._catalog_types(table)
        if not types:  # a key-only table: nothing can change but the key
            return pa.repeat(pa.scalar(0, pa.int64()), n)
        names = batch.schema.names
        cols = [
            batch.column(names.index(name)) if name in names else pa.nulls(n, type_)
            for name, type_ in types.items()
        ]
        con = self._connection()
        con.register("row_hash_input", pa.Table.from_arrays(cols, names=[f"c{i}" for i in range(len(cols))]))
        try:
            # one thread and a plain projection: the rows come back in input order
            args = ", ".join(f"c{i}" for i in range(len(cols)))
            out = con.sql(f"SELECT hash({args}) FROM row_hash_input").to_arrow_table().column(0)
        finally:
            con.unregister("row_hash_input")
        if len(out) != n:
            raise RuntimeError(f"row hash: {len(out)} hashes for {n} rows")
        return out.combine_chunks().cast(pa.int64(), safe=False)

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
