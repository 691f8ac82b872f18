"""The PostgreSQL fixture itself: a real server answers queries."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def test_throwaway_cluster_serves_a_fresh_database(pg_dsn: str) -> None:
    import psycopg

    with psycopg.connect(pg_dsn) as con:
        assert con.execute("SELECT current_setting('server_version_num')::int / 10000").fetchone() == (15,)
        assert con.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone() == (0,)
