"""Create or replace views on a warehouse, in dependency order, and count their rows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from marina_assets.views.catalog import View, in_dependency_order
from marina_assets.views.render import create_view_sql
from marina_assets.warehouse.backend import Warehouse


@dataclass(frozen=True)
class DeployedView:
    view: View
    rows: int


def deploy_views(wh: Warehouse, views: Sequence[View], *, count_rows: bool = True) -> list[DeployedView]:
    """Create every view of `views` (one transaction); a view is created after those it reads."""
    ordered = in_dependency_order(list(views))
    with wh.transaction():
        for v in ordered:
            wh.execute(create_view_sql(wh.dialect, v))
    out = []
    for v in ordered:
        rows = wh.fetchall(f"SELECT COUNT(*) FROM {v.name}")[0][0] if count_rows else -1
        out.append(DeployedView(v, int(rows)))
    return out
