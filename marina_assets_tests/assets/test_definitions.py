"""The asset graph as the UI shows it: loadable, and pinned by a snapshot.

A catalog edit that renames, regroups or rewires an asset changes the snapshot; regenerate it
deliberately with `MARINA_UPDATE_SNAPSHOTS=1 pytest marina_assets_tests/assets`.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from marina_assets.catalog import SYSTEMS
from marina_assets.definitions import defs

SNAPSHOT = Path(__file__).with_name("asset_graph_snapshot.json")


def _graph() -> dict[str, dict[str, object]]:
    graph = defs.resolve_asset_graph()
    out: dict[str, dict[str, object]] = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        out[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(k.to_user_string() for k in node.parent_keys),
            "partitioned": node.partitions_def is not None,
        }
    return out


def test_definitions_load() -> None:
    dg.Definitions.validate_loadable(defs)


def test_asset_graph_matches_snapshot() -> None:
    current = _graph()
    if os.environ.get("MARINA_UPDATE_SNAPSHOTS"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert SNAPSHOT.exists(), "no snapshot: run with MARINA_UPDATE_SNAPSHOTS=1 once and commit it"
    assert current == json.loads(SNAPSHOT.read_text())


def test_every_catalog_table_has_stg_and_dw_assets() -> None:
    graph = _graph()
    for s in SYSTEMS:
        backup = f"{s.asset_prefix}/{s.asset_prefix}_backup"
        assert graph[backup]["group"] == f"{s.asset_prefix}_backups"
        for t in s.tables:
            stg = f"{s.asset_prefix}/{t.stg_name.lower()}"
            dw = f"{s.asset_prefix}/{t.dw_name.lower()}"
            assert graph[stg] == {"group": f"{s.asset_prefix}_staging", "deps": [backup], "partitioned": True}
            # a DW partition also depends on the table's previous date (backfills apply dates in order)
            want = {"group": f"{s.asset_prefix}_warehouse", "deps": [dw, stg], "partitioned": True}
            assert graph[dw] == want


def test_column_schema_and_kinds_on_specs() -> None:
    graph = defs.resolve_asset_graph()
    node = graph.get(dg.AssetKey(["molo", "dw_molo_boats"]))
    schema = node.metadata["dagster/column_schema"]
    names = [c.name for c in schema.columns]
    assert names[0] == "ID" and {"INSERTED_DATE", "IS_DELETED", "DELETED_DATE"} <= set(names)
    assert node.metadata["dagster/table_name"] == "DW_MOLO_BOATS"
    assert "duckdb" in node.kinds


def test_today_is_a_partition() -> None:
    from datetime import date

    from marina_assets.assets.partitions import BACKUP_DATES

    assert date.today().isoformat() in BACKUP_DATES.get_partition_keys()
