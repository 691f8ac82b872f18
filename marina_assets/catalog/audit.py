"""Columns the pipeline adds to every STG and DW table, beside the catalog's own columns."""

from __future__ import annotations

from marina_assets.catalog.model import ColumnType, Kind

# STG_*: which backup a row came from, where in the file, and which run loaded it.
BACKUP_DATE = "BACKUP_DATE"
SOURCE_LINE = "SOURCE_LINE"  # record number in the source member; breaks duplicate-key ties
LOAD_RUN_ID = "LOAD_RUN_ID"
LOADED_AT = "LOADED_AT"

# DW_*: audit trail and soft deletes.
INSERTED_DATE = "INSERTED_DATE"  # wall-clock time the key was first inserted
UPDATED_DATE = "UPDATED_DATE"  # wall-clock time of the last change (update, delete, revival)
CHANGED_BACKUP_DATE = "CHANGED_BACKUP_DATE"  # backup date whose snapshot last changed the row
IS_DELETED = "IS_DELETED"  # 1 while the key is missing from the latest applied snapshot
DELETED_DATE = "DELETED_DATE"  # backup date of the first snapshot that lacked the key

STG_COLUMNS: tuple[tuple[str, ColumnType, bool], ...] = (
    (BACKUP_DATE, ColumnType(Kind.DATE), False),
    (SOURCE_LINE, ColumnType(Kind.INTEGER), False),
    (LOAD_RUN_ID, ColumnType(Kind.VARCHAR, length=64), False),
    (LOADED_AT, ColumnType(Kind.TIMESTAMP), False),
)

DW_COLUMNS: tuple[tuple[str, ColumnType, bool], ...] = (
    (INSERTED_DATE, ColumnType(Kind.TIMESTAMP), False),
    (UPDATED_DATE, ColumnType(Kind.TIMESTAMP), True),
    (CHANGED_BACKUP_DATE, ColumnType(Kind.DATE), False),
    (IS_DELETED, ColumnType(Kind.INTEGER), False),
    (DELETED_DATE, ColumnType(Kind.DATE), True),
)

# STG_* and DW_* on engines whose dialect has `row_hash` (PostgreSQL): a 64-bit hash of the row's
# non-key catalog columns, computed by the loader (`warehouse/row_hash.py`) and carried into the
# DW row by the merge. Equal hashes mean "unchanged"; unequal or NULL ones are confirmed by the
# exact NULL-safe column comparison, so the hash only ever saves work.
ROW_HASH = "ROW_HASH"
ROW_HASH_COLUMN: tuple[str, ColumnType, bool] = (ROW_HASH, ColumnType(Kind.INTEGER), True)

# STG_* on engines whose dialect has `stg_partitioned` (PostgreSQL): which of the load's COPY
# streams wrote the row (0 for the first; `warehouse/pg_streams.py`). A date loaded by several
# streams is a partition sub-partitioned by this column, one sub-partition per stream.
LOAD_STREAM = "LOAD_STREAM"
LOAD_STREAM_COLUMN: tuple[str, ColumnType, bool] = (LOAD_STREAM, ColumnType(Kind.INTEGER), True)

RESERVED_COLUMN_NAMES = frozenset(name for name, _, _ in STG_COLUMNS + DW_COLUMNS) | {ROW_HASH, LOAD_STREAM}
