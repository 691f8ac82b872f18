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


@pytest.fixture()
def pg_dsn(pg_cluster: PgCluster) -> Iterator[str]:
    """A fresh, empty database on the session cluster; its DSN."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as con:
        con.execute(f"CREATE DATABASE {name}")
    yield pg_cluster.dsn_for(name)
    with psycopg.connect(pg_cluster.dsn, autocommit=True) as con:
        con.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
