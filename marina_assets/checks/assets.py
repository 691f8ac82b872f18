"""The asset checks as Dagster definitions: one multi-asset check per source and layer.

Checks are generated from the catalog, two per STG table (`staged_completely` ERROR+blocking,
`source_quality` WARN) and two per DW table (`reconciled_with_staging` ERROR+blocking,
`integrity_and_freshness` WARN), and from the view catalog. Each `multi_asset_check` evaluates
all its checks in one step, so a full run adds a handful of steps, not hundreds; all are
subsettable. Conditions are grouped by severity because every check result costs Dagster
event-log writes and a materialization lookup (about 0.03-0.1 s each), which 92 tables multiply.

Dates: in a partitioned run the checks evaluate the run's backup date(s); run on their own
(from the UI) they evaluate each table's latest loaded date.
"""

from collections.abc import Callable, Iterator
from datetime import date
from typing import Any

import dagster as dg

from marina_assets.assets.keys import dw_key, stg_key
from marina_assets.catalog import SYSTEMS
from marina_assets.catalog.model import SourceSystem, Table
from marina_assets.checks import staging as stg
from marina_assets.checks import views as vw
from marina_assets.checks import warehouse as dw
from marina_assets.checks.model import CheckDef, Outcome, combine
from marina_assets.resources import WarehouseResource
from marina_assets.views.assets import CALENDAR_KEY, view_key
from marina_assets.views.catalog import VIEWS, view
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.pipeline_log import watermark

_SEVERITY = {"ERROR": dg.AssetCheckSeverity.ERROR, "WARN": dg.AssetCheckSeverity.WARN}


def _spec(check: CheckDef, asset: dg.AssetKey, deps: list[dg.AssetKey] | None = None) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(
        check.name,
        asset=asset,
        description=f"[{check.severity}{', blocking' if check.blocking else ''}] {check.description}",
        blocking=check.blocking,
        additional_deps=deps or None,
    )


def _result(key: dg.AssetCheckKey, check: CheckDef, outcome: Outcome) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=outcome.passed,
        severity=_SEVERITY[outcome.severity or check.severity],
        description=outcome.description[:2000],
        metadata={k: _meta(v) for k, v in outcome.metadata.items()},
    )


def _meta(v: Any) -> Any:
    return v if isinstance(v, (int, float, str, bool)) else str(v)


def run_dates(context: dg.AssetCheckExecutionContext) -> list[date] | None:
    """The backup dates of a partitioned run; None when the run has no partition."""
    try:
        if context.has_partition_key or context.has_partition_key_range:
            return sorted(date.fromisoformat(k) for k in context.partition_keys)
    except Exception:  # an unpartitioned run: no partition key to read
        return None
    return None


def _evaluate(
    context: dg.AssetCheckExecutionContext,
    plan: dict[dg.AssetCheckKey, tuple[CheckDef, Callable[[], Outcome]]],
) -> Iterator[dg.AssetCheckResult]:
    for key, (check, evaluate) in plan.items():
        if key not in context.selected_asset_check_keys:
            continue
        try:
            outcome = evaluate()
        except Exception as e:  # a check that cannot run is a failed check, named, not a crash
            outcome = Outcome(False, f"could not evaluate: {type(e).__name__}: {e}")
        yield _result(key, check, outcome)


# -- STG ---------------------------------------------------------------------------------------


def _table_dates(dates: list[date] | None, latest: date | None) -> list[date]:
    """The run's backup dates, or else the table's latest one (a check run on its own)."""
    if dates is not None:
        return dates
    return [latest] if latest else []


def _stg_plan(
    context: dg.AssetCheckExecutionContext, wh: Warehouse, system: SourceSystem
) -> dict[dg.AssetCheckKey, tuple[CheckDef, Callable[[], Outcome]]]:
    dates = run_dates(context)
    plan: dict[dg.AssetCheckKey, tuple[CheckDef, Callable[[], Outcome]]] = {}
    for t in system.tables:
        key = stg_key(system, t)

        def per_date(fn: Callable[[Warehouse, Table, date], Outcome], t: Table = t) -> Outcome:
            ds = _table_dates(dates, stg.latest_staged_date(wh, t) if dates is None else None)
            if not ds:
                return Outcome(True, f"{t.stg_name}: nothing staged yet")
            return combine([fn(wh, t, d) for d in ds])

        for check, fn in ((stg.COMPLETE, stg.staged_completely), (stg.QUALITY, stg.source_quality)):
            plan[dg.AssetCheckKey(key, check.name)] = (check, lambda p=per_date, fn=fn: p(fn))
    return plan


def staging_checks(system: SourceSystem, *, warehouse_kind: str) -> dg.AssetChecksDefinition:
    specs = [_spec(c, stg_key(system, t)) for t in system.tables for c in stg.STG_CHECKS]

    @dg.multi_asset_check(
        name=f"{system.asset_prefix}_staging_checks",
        specs=specs,
        can_subset=True,
        pool=f"marina_warehouse_{warehouse_kind}",
    )
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        with warehouse.open() as wh:
            yield from _evaluate(context, _stg_plan(context, wh, system))

    return _checks


# -- DW ----------------------------------------------------------------------------------------


def _parents(system: SourceSystem, t: Table) -> dict[str, Table]:
    return {c.ref: system.table(c.ref) for c in t.columns if c.ref}


def _dw_plan(
    context: dg.AssetCheckExecutionContext, wh: Warehouse, system: SourceSystem
) -> dict[dg.AssetCheckKey, tuple[CheckDef, Callable[[], Outcome]]]:
    dates = run_dates(context)
    today = date.today()
    plan: dict[dg.AssetCheckKey, tuple[CheckDef, Callable[[], Outcome]]] = {}
    for t in system.tables:
        key = dw_key(system, t)

        def sound(t: Table = t) -> Outcome:
            ds = _table_dates(dates, watermark(wh, t) if dates is None else None)
            return dw.integrity_and_freshness(wh, t, _parents(system, t), ds, today)

        plan[dg.AssetCheckKey(key, dw.RECONCILED.name)] = (
            dw.RECONCILED,
            lambda t=t: dw.reconciled_with_staging(wh, t),
        )
        plan[dg.AssetCheckKey(key, dw.SOUND.name)] = (dw.SOUND, sound)
    return plan


def warehouse_checks(system: SourceSystem, *, warehouse_kind: str) -> dg.AssetChecksDefinition:
    specs = []
    for t in system.tables:
        key = dw_key(system, t)
        parents = {dw_key(system, p) for p in _parents(system, t).values() if p.source != t.source}
        specs.append(_spec(dw.RECONCILED, key, [stg_key(system, t)]))
        specs.append(_spec(dw.SOUND, key, sorted(parents, key=lambda k: k.to_user_string())))

    @dg.multi_asset_check(
        name=f"{system.asset_prefix}_warehouse_checks",
        specs=specs,
        can_subset=True,
        pool=f"marina_warehouse_{warehouse_kind}",
    )
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        with warehouse.open() as wh:
            yield from _evaluate(context, _dw_plan(context, wh, system))

    return _checks


# -- views -------------------------------------------------------------------------------------


def _view_plan(wh: Warehouse) -> dict[dg.AssetCheckKey, tuple[CheckDef, Callable[[], Outcome]]]:
    plan: dict[dg.AssetCheckKey, tuple[CheckDef, Callable[[], Outcome]]] = {
        dg.AssetCheckKey(CALENDAR_KEY, vw.CALENDAR_COVERS.name): (
            vw.CALENDAR_COVERS,
            lambda: vw.calendar_covers_data(wh),
        ),
        dg.AssetCheckKey(view_key(view(vw.OCCUPANCY_VIEW)), vw.OCCUPANCY.name): (
            vw.OCCUPANCY,
            lambda: vw.occupancy_between_0_and_100(wh),
        ),
        dg.AssetCheckKey(view_key(view(vw.RENTALS_VIEW)), vw.REVENUE.name): (
            vw.REVENUE,
            lambda: vw.revenue_equals_booking_payments(wh),
        ),
        dg.AssetCheckKey(view_key(view(vw.JOURNAL_VIEW)), vw.JOURNAL.name): (
            vw.JOURNAL,
            lambda: vw.debits_equal_credits(wh),
        ),
        dg.AssetCheckKey(view_key(view(vw.REPORT_VIEW)), vw.REPORT.name): (
            vw.REPORT,
            lambda: vw.totals_equal_type_views(wh),
        ),
    }
    for v in VIEWS:
        if v.count_columns:
            plan[dg.AssetCheckKey(view_key(v), vw.COUNTS.name)] = (
                vw.COUNTS,
                lambda v=v: vw.counts_not_negative(wh, v),
            )
    return plan


def _view_specs() -> list[dg.AssetCheckSpec]:
    stellar = next(s for s in SYSTEMS if s.code == "STELLAR")
    payments = [dw_key(stellar, stellar.table(n)) for n in ("bookings", "booking_payments")]
    type_views = [view_key(v) for v in VIEWS if v.tokens.get("TRAN_TYPE")]
    specs = [
        _spec(vw.CALENDAR_COVERS, CALENDAR_KEY),
        _spec(vw.OCCUPANCY, view_key(view(vw.OCCUPANCY_VIEW))),
        _spec(vw.REVENUE, view_key(view(vw.RENTALS_VIEW)), payments),
        _spec(vw.JOURNAL, view_key(view(vw.JOURNAL_VIEW))),
        _spec(vw.REPORT, view_key(view(vw.REPORT_VIEW)), type_views),
    ]
    specs += [_spec(vw.COUNTS, view_key(v)) for v in VIEWS if v.count_columns]
    return specs


def view_checks(*, warehouse_kind: str) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name="view_checks", specs=_view_specs(), can_subset=True, pool=f"marina_warehouse_{warehouse_kind}"
    )
    def _checks(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource):
        with warehouse.open() as wh:
            yield from _evaluate(context, _view_plan(wh))

    return _checks


def checks_definitions(*, store: object, warehouse: WarehouseResource) -> dg.Definitions:
    """Every STG, DW and view check (no resources: the code location provides them)."""
    del store
    kind = warehouse.backend
    checks: list[dg.AssetChecksDefinition] = []
    for s in SYSTEMS:
        checks.append(staging_checks(s, warehouse_kind=kind))
        checks.append(warehouse_checks(s, warehouse_kind=kind))
    checks.append(view_checks(warehouse_kind=kind))
    return dg.Definitions(asset_checks=checks)
