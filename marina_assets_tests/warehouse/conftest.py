"""`wh`: an empty warehouse with the test table, once per backend.

DuckDB (a file), PostgreSQL (the session cluster) always; Oracle only when MARINA_ORACLE_DSN and
friends are set — the live Oracle suite is these same tests. It must start from an empty schema
MARINA_ORACLE_DSN must point at a throwaway schema: the suite drops its test tables and EMPTIES
the MARINA_* pipeline tables there. It has never been run on the development machine.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.schema import ensure_schema
from marina_assets_tests.warehouse.support import BACKENDS, ORACLE_SKIP, T, open_warehouse


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> dict:
    """How to open the warehouse under test: kind plus its path or DSN."""
    if request.param.startswith("postgres"):
        dsn = request.getfixturevalue("pg_dsn")
        if request.param == "postgres-load-classify":
            return {"kind": "postgres", "dsn": dsn, "load_classify": True}
        return {"kind": "postgres", "dsn": dsn}
    if request.param == "oracle":
        if not os.environ.get("MARINA_ORACLE_DSN"):
            pytest.skip(ORACLE_SKIP)
        return {"kind": "oracle", "dsn": "from-environment"}
    return {"kind": "duckdb", "path": tmp_path / "wh.duckdb"}


def _empty_oracle_schema(w: Warehouse) -> None:
    """Oracle has no throwaway database per test: drop the test tables, empty the pipeline's."""
    present = w.existing_columns()
    for name in sorted(present):
        if name.split("_", 2)[-1] in ("WIDGETS", "HOLDS", "GADGETS") and name[:4] in ("STG_", "DW_M", "TMP_"):
            w.execute(f"DROP TABLE {name} PURGE")
    for name in ("MARINA_REJECTS", "MARINA_LOAD_LOG", "MARINA_WATERMARKS"):
        if name in present:
            w.execute(f"DELETE FROM {name}")
    w.execute("COMMIT")


@pytest.fixture()
def wh(backend: dict) -> Iterator[Warehouse]:
    w = open_warehouse(**backend)
    if backend["kind"] == "oracle":
        _empty_oracle_schema(w)
    ensure_schema(w, [T])
    yield w
    w.close()
