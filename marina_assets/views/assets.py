"""View assets: the calendar table and one subsettable multi-asset per source system.

Keys are `<source>/<view name in lower case>` (`molo/dw_molo_daily_slip_count_vw`), the
calendar is `views/dw_calendar`; groups are `<source>_views` and `calendar`. Every asset is
tagged `marina/layer=views`, which the views-only job selects.

Views are not partitioned: a view is a definition over the DW's current state, not a slice of
one backup date. Creating it is idempotent and cheap, so it is simply re-created whenever a run
includes it (each daily run of `marina_all`), and a partitioned UI would only show 21 x N
identical materializations.
"""

from typing import Any

import dagster as dg

from marina_assets.assets.keys import dw_key
from marina_assets.catalog import SYSTEMS, system
from marina_assets.catalog.model import SourceSystem
from marina_assets.resources import WarehouseResource
from marina_assets.views.calendar import CALENDAR, CALENDAR_DOCS, DATA_DATES, build_calendar, calendar_span
from marina_assets.views.catalog import VIEWS, View, in_dependency_order
from marina_assets.views.deploy import deploy_views
from marina_assets.views.render import select_sql
from marina_assets.warehouse.dialects import DIALECTS

CALENDAR_KEY = dg.AssetKey(["views", "dw_calendar"])
LAYER_TAG = {"marina/layer": "views"}


def view_key(view: View) -> dg.AssetKey:
    return dg.AssetKey([system(view.system).asset_prefix, view.name.lower()])


def _view_by_name() -> dict[str, View]:
    return {v.name: v for v in VIEWS}


def view_deps(view: View) -> list[dg.AssetKey]:
    owner = system(view.system)
    deps = [dw_key(owner, owner.table(source)) for source in view.reads]
    deps += [view_key(_view_by_name()[name]) for name in view.reads_views]
    if view.uses_calendar:
        deps.append(CALENDAR_KEY)
    return deps


def _column_schema(view: View) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[dg.TableColumn(name=c.name, type=c.type, description=c.description) for c in view.columns]
    )


def _view_metadata(view: View, warehouse_kind: str) -> dict[str, Any]:
    dialect = DIALECTS.get(warehouse_kind, DIALECTS["duckdb"])
    return {
        "dagster/column_schema": _column_schema(view),
        "dagster/table_name": view.name,
        "marina/sql_file": f"marina_assets/views/sql/{view.sql_file}",
        "sql": dg.MetadataValue.md(f"```sql\n{select_sql(dialect, view)}\n```"),
    }


def view_assets(system_: SourceSystem, *, warehouse_kind: str) -> dg.AssetsDefinition | None:
    """`<source>_views`: create (or replace) each selected view of the source, in dependency order."""
    views = [v for v in VIEWS if v.system == system_.code]
    if not views:
        return None
    by_key = {view_key(v): v for v in views}
    specs = [
        dg.AssetSpec(
            key=key,
            deps=view_deps(v),
            description=v.description,
            group_name=f"{system_.asset_prefix}_views",
            kinds={warehouse_kind, "sql"},
            metadata=_view_metadata(v, warehouse_kind),
            tags={**LAYER_TAG, "marina/system": system_.code.lower()},
        )
        for key, v in by_key.items()
    ]

    @dg.multi_asset(
        name=f"{system_.asset_prefix}_views",
        specs=specs,
        can_subset=True,
        pool=f"marina_warehouse_{warehouse_kind}",
    )
    def _views(context: dg.AssetExecutionContext, warehouse: WarehouseResource):
        selected = [by_key[k] for k in by_key if k in context.selected_asset_keys]
        with warehouse.open() as wh:
            deployed = deploy_views(wh, in_dependency_order(selected))
        for d in deployed:
            context.log.info(f"{d.view.name}: created, {d.rows:,} rows")
            yield dg.MaterializeResult(asset_key=view_key(d.view), metadata={"dagster/row_count": d.rows})

    return _views


def calendar_asset(*, warehouse_kind: str) -> dg.AssetsDefinition:
    tables = {t.dw_name: (s, t) for s in SYSTEMS for t in s.tables}
    deps = sorted({dw_key(*tables[name]) for name, _ in DATA_DATES}, key=lambda k: k.to_user_string())

    @dg.asset(
        key=CALENDAR_KEY,
        deps=deps,
        group_name="calendar",
        kinds={warehouse_kind, "sql"},
        tags=LAYER_TAG,
        description=(
            "Date dimension: one row per day from the earliest date the daily views read to a year "
            "past the later of today and the latest such date. Daily views join it instead of "
            "generating date series, which every engine spells differently."
        ),
        metadata={
            "dagster/table_name": CALENDAR.name,
            "dagster/column_schema": dg.TableSchema(
                columns=[
                    dg.TableColumn(name=c.name, type=str(c.type), description=CALENDAR_DOCS[c.name])
                    for c in CALENDAR.columns
                ]
            ),
        },
        pool=f"marina_warehouse_{warehouse_kind}",
    )
    def dw_calendar(context: dg.AssetExecutionContext, warehouse: WarehouseResource) -> dg.MaterializeResult:
        from datetime import date

        with warehouse.open() as wh:
            start, end = calendar_span(wh, date.today())
            days = build_calendar(wh, start=start, end=end)
        context.log.info(f"{CALENDAR.name}: {days} days, {start} .. {end}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": days,
                "first_date": start.isoformat(),
                "last_date": end.isoformat(),
            }
        )

    return dw_calendar


def views_definitions(*, store: object, warehouse: WarehouseResource) -> dg.Definitions:
    """The calendar and the 21 view assets (no resources: the code location provides them)."""
    del store  # views read only the warehouse
    assets: list[dg.AssetsDefinition] = [calendar_asset(warehouse_kind=warehouse.backend)]
    for s in SYSTEMS:
        a = view_assets(s, warehouse_kind=warehouse.backend)
        if a is not None:
            assets.append(a)
    return dg.Definitions(assets=assets)
