"""The backend registry: MARINA_WAREHOUSE picks the engine, settings come from the environment."""

from __future__ import annotations

from datetime import date

import dagster as dg
import pytest

from marina_assets.resources import BACKENDS, WarehouseResource, warehouse_from_env
from marina_assets.warehouse.postgres_backend import PostgresWarehouse
from marina_assets_tests.warehouse.support import T, dw, stage


def test_every_backend_is_registered() -> None:
    assert set(BACKENDS) == {"duckdb", "postgres", "oracle"}


def test_unknown_backend_and_missing_dsn_fail_clearly(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(dg.Failure, match="not one of"):
        WarehouseResource(backend="sqlite").open()
    monkeypatch.delenv("MARINA_POSTGRES_DSN", raising=False)
    with pytest.raises(dg.Failure, match="MARINA_POSTGRES_DSN is not set"):
        WarehouseResource(backend="postgres").open()
    for v in ("MARINA_ORACLE_USER", "MARINA_ORACLE_PASSWORD", "MARINA_ORACLE_DSN"):
        monkeypatch.delenv(v, raising=False)
    with pytest.raises(
        ConnectionError, match="MARINA_ORACLE_USER, MARINA_ORACLE_PASSWORD, MARINA_ORACLE_DSN"
    ):
        WarehouseResource(backend="oracle").open()


@pytest.mark.integration
def test_postgres_from_the_environment_keeps_the_dsn_out_of_config(
    pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARINA_WAREHOUSE", "postgres")
    monkeypatch.setenv("MARINA_POSTGRES_DSN", pg_dsn)
    res = warehouse_from_env()
    assert pg_dsn not in repr(res.model_dump())
    from marina_assets.warehouse.schema import ensure_schema

    with res.open() as wh:
        assert isinstance(wh, PostgresWarehouse)
        ensure_schema(wh, [T])
        # text with the characters COPY treats specially survives the round trip
        tricky = 'a,b "q" \\ back\ttab\nline'
        stage(wh, date(2025, 11, 1), [(1, tricky, None, None, None), (2, "", None, None, None)])
        got = wh.fetchall("SELECT ID, NAME FROM STG_MOLO_WIDGETS ORDER BY ID")
        assert got == [(1, tricky), (2, "")]
        assert dw(wh) == {}
