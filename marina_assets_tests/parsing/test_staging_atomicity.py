"""An incomplete dump stages nothing: the loader's transaction never sees a short table as done."""

from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from marina_assets.parsing import PARSERS
from marina_assets.parsing.events import BackupError
from marina_assets.staging.loader import load_backup
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse
from marina_assets.warehouse.schema import ensure_schema
from marina_assets_tests.parsing.inspect_helpers import MARIADB
from marina_assets_tests.parsing.test_mariadb_fixtures import CUSTOMERS

DAY = date(2025, 11, 17)


def _load(wh: DuckDBWarehouse, data: bytes, run_id: str):
    return load_backup(
        wh,
        tables=[CUSTOMERS],
        backup_date=DAY,
        run_id=run_id,
        events=PARSERS["mysqldump"](
            io.BytesIO(data), "prod_resilient_2025-11-17_05_00-DATA.sql", [CUSTOMERS]
        ),
    )


def test_truncated_dump_keeps_the_previous_load(tmp_path: Path) -> None:
    data = (MARIADB / "default.sql").read_bytes()
    with DuckDBWarehouse(tmp_path / "w.duckdb") as wh:
        ensure_schema(wh, [CUSTOMERS])
        assert _load(wh, data, "run-1")[CUSTOMERS.stg_name].rows_loaded == 6
        # cut after the INSERT: every row was read, but the dump never finished
        cut = data[: data.index(b"UNLOCK TABLES") + 20]
        with pytest.raises(BackupError, match=r"incomplete|middle"):
            _load(wh, cut, "run-2")
        rows = wh.fetchall(f"SELECT LOAD_RUN_ID, COUNT(*) FROM {CUSTOMERS.stg_name} GROUP BY 1")
        assert rows == [("run-1", 6)]
