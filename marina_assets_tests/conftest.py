"""Shared fixtures: real engines only (DuckDB files, a throwaway PostgreSQL cluster)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from marina_assets_tests.pg_cluster import ClusterUnavailable, PgCluster, start_cluster


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[PgCluster]:
    """A PostgreSQL 15 server for the whole session; tests needing it skip when it cannot start."""
    try:
        cluster = start_cluster()
    except ClusterUnavailable as e:
        pytest.skip(f"PostgreSQL integration tests skipped: {e}")
    yield cluster
    cluster.stop()


def _fresh_database(cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty database on `cluster` for the test's lifetime; its DSN."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(cluster.dsn, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    yield cluster.dsn_for(name)
    with psycopg.connect(cluster.dsn, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture()
def pg_dsn(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty database on the session cluster; its DSN."""
    yield from _fresh_database(pg_cluster)


@pytest.fixture()
def other_pg_dsn(pg_cluster: PgCluster) -> Iterator[str]:
    """A second fresh database, for tests that compare two warehouses side by side."""
    yield from _fresh_database(pg_cluster)
