"""Rows per Arrow batch the parsers hand to the loader: `MARINA_BATCH_ROWS` (default 65,536).

A batch is the unit of work between the parser and the warehouse (one COPY payload, one turn of
the PostgreSQL COPY streams), so it bounds the memory in flight per table. Smaller batches cost
throughput; the tests set a few rows to drive the multi-batch paths with small files.
"""

from __future__ import annotations

import os

DEFAULT_BATCH_ROWS = 65_536


def batch_rows_from_env() -> int:
    raw = os.environ.get("MARINA_BATCH_ROWS", "").strip()
    if not raw:
        return DEFAULT_BATCH_ROWS
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1:
        raise ValueError(f"MARINA_BATCH_ROWS must be a positive integer, got {raw!r}")
    return value


BATCH_ROWS = batch_rows_from_env()
