"""Asset keys and groups, derived from the catalog so a catalog edit cannot rename by accident.

Keys are `<source>/<warehouse table name in lower case>`: `molo/stg_molo_boats`,
`molo/dw_molo_boats`, and `molo/molo_backup` for the backup itself. Groups are
`<source>_<layer>`: `molo_backups`, `molo_staging`, `molo_warehouse`.
"""

from __future__ import annotations

import dagster as dg

from marina_assets.catalog.model import SourceSystem, Table


def backup_key(system: SourceSystem) -> dg.AssetKey:
    return dg.AssetKey([system.asset_prefix, f"{system.asset_prefix}_backup"])


def stg_key(system: SourceSystem, table: Table) -> dg.AssetKey:
    return dg.AssetKey([system.asset_prefix, table.stg_name.lower()])


def dw_key(system: SourceSystem, table: Table) -> dg.AssetKey:
    return dg.AssetKey([system.asset_prefix, table.dw_name.lower()])


def group(system: SourceSystem, layer: str) -> str:
    return f"{system.asset_prefix}_{layer}"
