"""Fixtures: the views warehouse (shared with the view tests) and a staged + merged NetSuite."""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from marina_assets.catalog import system
from marina_assets.parsing import parse_backup
from marina_assets.sample_data import generate, write_backup
from marina_assets.staging.loader import load_backup
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse
from marina_assets.warehouse.merger import MergePolicy, merge_table
from marina_assets.warehouse.schema import ensure_schema
from marina_assets_tests.views.conftest import view_truth, views_duckdb, views_template  # noqa: F401

NS = system("NS")
NS_DAYS = 4
NS_START = date.today() - timedelta(days=NS_DAYS - 1)  # the last backup is today's: fresh


def apply_backup(wh: DuckDBWarehouse, snapshot, policy: MergePolicy | None = None) -> None:
    """Stage and merge one generated NetSuite backup, as the Dagster assets do."""
    name, data = write_backup(NS, snapshot)
    run_id = f"run-{snapshot.backup_date}"
    tables = list(NS.tables)
    ensure_schema(wh, tables)
    load_backup(
        wh,
        tables=tables,
        backup_date=snapshot.backup_date,
        run_id=run_id,
        events=parse_backup(NS.backup_format, io.BytesIO(data), name, tables),
    )
    for t in tables:
        merge_table(wh, t, snapshot.backup_date, run_id, policy or MergePolicy())


@pytest.fixture(scope="session")
def ns_snapshots() -> list:
    return list(generate([NS], start=NS_START, days=NS_DAYS + 1, scale=0.3))


@pytest.fixture(scope="session")
def ns_template(tmp_path_factory: pytest.TempPathFactory, ns_snapshots: list) -> Path:
    """NetSuite staged and merged for NS_DAYS dates (the generator's extra day is kept back)."""
    path = tmp_path_factory.mktemp("ns_template") / "warehouse.duckdb"
    with DuckDBWarehouse(path) as wh:
        for snap in ns_snapshots[:NS_DAYS]:
            apply_backup(wh, snap)
    return path


@pytest.fixture()
def ns_wh(tmp_path: Path, ns_template: Path) -> Iterator[DuckDBWarehouse]:
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(ns_template, path)
    wh = DuckDBWarehouse(path)
    yield wh
    wh.close()
