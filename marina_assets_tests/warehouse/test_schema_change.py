"""Additive schema change: a column added to the catalog is ALTERed in, no data is lost."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from marina_assets.catalog.model import col, table
from marina_assets.warehouse.merger import merge_table
from marina_assets.warehouse.schema import ensure_schema
from marina_assets_tests.warehouse.support import dw, open_warehouse, stage

pytestmark = pytest.mark.integration

V1 = table("MOLO", "Gadgets", [col("Id", "int"), col("Name", "str(20)")], pk="Id")
V2 = table("MOLO", "Gadgets", [col("Id", "int"), col("Name", "str(20)"), col("Weight", "dec(8,2)")], pk="Id")
D0, D1 = date(2025, 11, 1), date(2025, 11, 2)


def test_new_catalog_column_is_added_without_losing_rows(backend: dict, tmp_path: Path) -> None:
    with open_warehouse(**backend) as wh:
        ensure_schema(wh, [V1])
        if wh.dialect.stg_partitioned:  # PostgreSQL: a partition per date, new columns reach them all
            kind = wh.fetchall("SELECT relkind FROM pg_class WHERE relname = 'stg_molo_gadgets'")
            assert kind == [("p",)]
        stage(wh, D0, [(1, "a"), (2, "b")], tbl=V1)
        merge_table(wh, V1, D0, "r0")

        ran = ensure_schema(wh, [V2])
        assert sorted(s.split()[2] for s in ran) == ["DW_MOLO_GADGETS", "STG_MOLO_GADGETS"]
        assert all(s.startswith("ALTER TABLE") and "WEIGHT" in s for s in ran)
        assert ensure_schema(wh, [V2]) == []  # idempotent

        assert dw(wh, V2) == {1: ("a", None, 0, None, D0), 2: ("b", None, 0, None, D0)}
        stage(wh, D1, [(1, "a", Decimal("1.5")), (2, "b", None)], tbl=V2)
        r = merge_table(wh, V2, D1, "r1")
        assert r.updated == 1  # NULL -> 1.50 is a change; NULL -> NULL is not
        assert dw(wh, V2)[1][:2] == ("a", Decimal("1.50"))
