"""Load the generator's DW truth straight into a warehouse, so view tests need no pipeline run.

The rows come from `expected_state` (live and soft-deleted, with their audit columns); the
views must ignore the deleted ones, so they are loaded too.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

import pyarrow as pa

from marina_assets.catalog.model import SourceSystem
from marina_assets.parsing.typing import arrow_type
from marina_assets.sample_data import ExpectedRow
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.schema import ensure_schema

LOADED_AT = datetime(2026, 1, 1, 12, 0, 0)


def load_dw(
    wh: Warehouse, systems: Iterable[SourceSystem], truth: dict[str, dict[tuple, ExpectedRow]]
) -> None:
    for system in systems:
        ensure_schema(wh, system.tables)
        for table in system.tables:
            wh.execute(f"DELETE FROM {table.dw_name}")
            rows = list(truth[table.dw_name].values())
            if not rows:
                continue
            arrays = [
                pa.array([r.values[i] for r in rows], type=arrow_type(c.type))
                for i, c in enumerate(table.columns)
            ]
            arrays.append(pa.array([r.changed_backup_date for r in rows], type=pa.date32()))
            arrays.append(pa.array([1 if r.is_deleted else 0 for r in rows], type=pa.int64()))
            arrays.append(pa.array([r.deleted_date for r in rows], type=pa.date32()))
            names = [*table.column_names, "CHANGED_BACKUP_DATE", "IS_DELETED", "DELETED_DATE"]
            batch = pa.RecordBatch.from_arrays(arrays, names=names)
            with wh.transaction():
                wh.insert_arrow(table.dw_name, batch, {"INSERTED_DATE": LOADED_AT, "UPDATED_DATE": LOADED_AT})
