"""The same views, from the same SQL files, on the PostgreSQL test cluster: the same numbers."""

from __future__ import annotations

import pytest

from marina_assets.views.catalog import VIEWS
from marina_assets_tests.views.compare import differences
from marina_assets_tests.views.conftest import build_warehouse
from marina_assets_tests.views.expected_views import Truth

pytestmark = pytest.mark.integration


def test_every_view_on_postgres_equals_its_python_expectation(pg_dsn: str, view_truth: Truth) -> None:
    from marina_assets.warehouse.postgres_backend import PostgresWarehouse

    with PostgresWarehouse(pg_dsn) as wh:
        build_warehouse(wh, view_truth)
        problems = [p for v in VIEWS for p in differences(wh, v.name, view_truth)]
        assert not problems, "\n".join(problems)
        columns = {
            v.name: tuple(
                r[0].upper()
                for r in wh.fetchall(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = %(t)s "
                    "ORDER BY ordinal_position",
                    {"t": v.name.lower()},
                )
            )
            for v in VIEWS
        }
        assert columns == {v.name: v.column_names for v in VIEWS}
        # re-deploying replaces the views in place (CREATE OR REPLACE keeps dependent views valid)
        from marina_assets.views.deploy import deploy_views

        assert all(d.rows > 0 for d in deploy_views(wh, VIEWS))


def test_every_view_on_oracle_equals_its_python_expectation(view_truth: Truth) -> None:
    """Live only where a throwaway Oracle schema is configured (its DW_* tables are replaced)."""
    import os

    from marina_assets_tests.warehouse.support import ORACLE_SKIP, open_warehouse

    if not os.environ.get("MARINA_ORACLE_DSN"):
        pytest.skip(ORACLE_SKIP)
    with open_warehouse("oracle") as wh:
        build_warehouse(wh, view_truth)
        problems = [p for v in VIEWS for p in differences(wh, v.name, view_truth)]
        assert not problems, "\n".join(problems)
