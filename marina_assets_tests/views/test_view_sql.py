"""The view SQL per dialect (Oracle structurally, via sqlglot) and the view assets in Dagster."""

from __future__ import annotations

import re

import dagster as dg
import pytest
import sqlglot

from marina_assets.views.assets import CALENDAR_KEY, view_deps, view_key
from marina_assets.views.catalog import VIEWS, in_dependency_order
from marina_assets.views.render import create_view_sql, select_sql
from marina_assets.views.sql_section import views_section
from marina_assets.warehouse.dialects import DIALECTS


@pytest.mark.parametrize("dialect", list(DIALECTS.values()), ids=lambda d: d.name)
def test_every_view_renders_without_leftover_tokens_and_parses(dialect) -> None:
    read = {"duckdb": "duckdb", "postgres": "postgres", "oracle": "oracle"}[dialect.name]
    for v in VIEWS:
        sql = create_view_sql(dialect, v)
        assert not re.search(r"\{[A-Z_]+\}", sql), v.name
        tree = sqlglot.parse_one(sql, read=read)
        assert isinstance(tree, sqlglot.exp.Create), v.name
        assert tree.this.name.upper() == v.name


def test_oracle_text_has_no_boolean_literals_and_short_identifiers() -> None:
    oracle = DIALECTS["oracle"]
    for v in VIEWS:
        sql = select_sql(oracle, v)
        code = "\n".join(line.split("--")[0] for line in sql.splitlines())
        assert not re.search(r"\b(TRUE|FALSE)\b", code), v.name
        # legacy view names are kept even past 30 characters (DW_MOLO_DAILY_SLIP_OCCUPANCY_VW has
        # 31): the legacy Autonomous Database allows 128; our own column names stay within 30
        assert len(v.name) <= 128 and all(len(c) <= 30 for c in v.column_names), v.name


def test_views_section_numbers_files_in_dependency_order() -> None:
    files = views_section(DIALECTS["postgres"])
    names = sorted(files)
    assert names[0] == "30_views/00_dw_calendar.sql"
    order = [n.split("_", 2)[-1].removesuffix(".sql").upper() for n in names[1:]]
    assert order == [v.name for v in in_dependency_order(list(VIEWS))]
    assert order.index("DW_MOLO_DAILY_SLIP_COUNT_VW") < order.index("DW_MOLO_DAILY_SLIP_OCCUPANCY_VW")
    assert all(text.rstrip().endswith(";") for text in files.values())


def test_view_assets_carry_group_tag_schema_and_dependencies() -> None:
    from marina_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    for v in VIEWS:
        node = graph.get(view_key(v))
        assert node.group_name.endswith("_views")
        assert node.tags["marina/layer"] == "views"
        assert node.partitions_def is None
        schema = node.metadata["dagster/column_schema"]
        assert [c.name for c in schema.columns] == list(v.column_names)
        assert all(c.description for c in schema.columns)
        assert set(node.parent_keys) == set(view_deps(v))
    slips = graph.get(view_key(next(v for v in VIEWS if v.name == "DW_MOLO_DAILY_SLIP_COUNT_VW")))
    assert dg.AssetKey(["molo", "dw_molo_slips"]) in slips.parent_keys and CALENDAR_KEY in slips.parent_keys
    assert graph.get(CALENDAR_KEY).tags["marina/layer"] == "views"
