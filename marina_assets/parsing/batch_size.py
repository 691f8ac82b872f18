"""Rows per Arrow batch the parsers hand to the loader: `MARINA_BATCH_ROWS` (default 65,536).

A batch is the unit of work between the parser and the warehouse (one COPY payload, one turn of
the PostgreSQL COPY streams), so it bounds the memory in flight per table. Smaller batches cost
throughput; the tests set a few rows to drive the multi-batch paths with small files.
"""

from __future__ import annotations

from marina_assets.settings import env_int

DEFAULT_BATCH_ROWS = 65_536


def batch_rows_from_env() -> int:
    return env_int("MARINA_BATCH_ROWS", DEFAULT_BATCH_ROWS, minimum=1)


BATCH_ROWS = batch_rows_from_env()
