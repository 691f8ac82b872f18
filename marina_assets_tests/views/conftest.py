"""Generated DW truth loaded into DuckDB with the calendar and all 21 views created."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest

from marina_assets.catalog import SYSTEMS
from marina_assets.sample_data import expected_state, generate
from marina_assets.views.calendar import build_calendar, calendar_span
from marina_assets.views.catalog import VIEWS
from marina_assets.views.deploy import deploy_views
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse
from marina_assets_tests.views.dw_state import load_dw
from marina_assets_tests.views.expected_views import Truth

START = date(2026, 3, 2)
DAYS = 3
SCALE = 0.3
TODAY = START + timedelta(days=DAYS - 1)


@pytest.fixture(scope="session")
def view_truth() -> Truth:
    return expected_state(list(generate(start=START, days=DAYS, scale=SCALE)))


def build_warehouse(wh: Warehouse, truth: Truth) -> None:
    load_dw(wh, SYSTEMS, truth)
    start, end = calendar_span(wh, TODAY)
    build_calendar(wh, start=start, end=end)
    deploy_views(wh, VIEWS, count_rows=False)


@pytest.fixture(scope="session")
def views_template(tmp_path_factory: pytest.TempPathFactory, view_truth: Truth) -> Path:
    path = tmp_path_factory.mktemp("views_template") / "warehouse.duckdb"
    with DuckDBWarehouse(path) as wh:
        build_warehouse(wh, view_truth)
    return path


@pytest.fixture()
def views_duckdb(tmp_path: Path, views_template: Path) -> Iterator[DuckDBWarehouse]:
    """A private copy of the built warehouse per test, so tests may inject faults."""
    path = tmp_path / "warehouse.duckdb"
    shutil.copyfile(views_template, path)
    wh = DuckDBWarehouse(path)
    yield wh
    wh.close()
