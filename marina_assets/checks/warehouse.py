"""DW checks, generated for every catalog table: two checks, one per severity.

- `reconciled_with_staging` (ERROR, blocking): against the STG snapshot of the table's
  watermark (latest applied backup date), every snapshot key is present and live in the DW and
  nothing is live that the snapshot lacks. Deletes held back by the merge's guard leave such
  rows live, so this check fails loudly until someone decides (rerun with a higher
  `max_delete_ratio`, or fix the backup). Views downstream would otherwise show stale rows.
- `integrity_and_freshness` (WARN), three conditions in one check (each check result costs
  Dagster event-log writes, multiplied by 92 tables):
  referential integrity (tables with `ref` columns): live rows whose reference names no live
  parent row, per column; views inner-joining the parent drop such rows.
  Row-count anomaly: live rows after the date's merge against the average of the previous
  `TRAILING_DAYS` backup dates (load log), beyond `ANOMALY_SHARE`.
  Freshness: the watermark is at most `MAX_AGE_DAYS` behind today.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from marina_assets.catalog import audit
from marina_assets.catalog.model import Table
from marina_assets.checks.model import CheckDef, Outcome, combine
from marina_assets.warehouse import pipeline_log
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.ddl import LOAD_LOG

TRAILING_DAYS = 7
MIN_HISTORY = 3  # fewer earlier dates than this: no verdict on anomalies
ANOMALY_SHARE = 0.25
ANOMALY_MIN_ROWS = 10  # tiny tables: a change of a few rows is not an anomaly
MAX_AGE_DAYS = 2

RECONCILED = CheckDef(
    "reconciled_with_staging",
    "ERROR",
    True,
    "Every key of the latest applied STG snapshot is live in the DW and nothing else is live "
    "(fails while deletes are held back).",
)
SOUND = CheckDef(
    "integrity_and_freshness",
    "WARN",
    False,
    "Every reference of a live row names a live parent row; live rows within "
    f"{ANOMALY_SHARE:.0%} of the trailing {TRAILING_DAYS}-backup average; the latest applied backup "
    f"at most {MAX_AGE_DAYS} days old.",
)
DW_CHECKS = (RECONCILED, SOUND)


def _key_match(alias_a: str, alias_b: str, table: Table) -> str:
    return " AND ".join(f"{alias_a}.{k} = {alias_b}.{k}" for k in table.primary_key)


def reconciled_with_staging(wh: Warehouse, table: Table) -> Outcome:
    wm = pipeline_log.watermark(wh, table)
    if wm is None:
        return Outcome(True, f"{table.dw_name}: nothing merged yet")
    b = wh.dialect.bind
    keys = ", ".join(table.primary_key)
    stg_rows = wh.fetchall(
        f"SELECT COUNT(*) FROM {table.stg_name} WHERE {audit.BACKUP_DATE} = {b('d')}", {"d": wm}
    )[0][0]
    merged = wh.fetchall(
        f"SELECT ROWS_READ, DELETES_HELD FROM {LOAD_LOG.name} WHERE TABLE_NAME = {b('t')} "
        f"AND BACKUP_DATE = {b('d')} AND LAYER = 'DW' AND STATUS = 'merged' ORDER BY FINISHED_AT DESC",
        {"t": table.dw_name, "d": wm},
    )
    snapshot_rows, held = (int(merged[0][0] or 0), int(merged[0][1] or 0)) if merged else (None, 0)
    if stg_rows == 0 and snapshot_rows:
        return Outcome(
            True,
            f"{table.dw_name}: STG partition {wm} no longer holds its {snapshot_rows} rows (pruned); "
            "not verifiable",
            {"watermark": wm.isoformat()},
        )
    missing = wh.fetchall(
        f"SELECT COUNT(*) FROM (SELECT DISTINCT {keys} FROM {table.stg_name} "
        f"WHERE {audit.BACKUP_DATE} = {b('d')}) s LEFT JOIN {table.dw_name} d "
        f"ON {_key_match('d', 's', table)} AND d.{audit.IS_DELETED} = 0 "
        f"WHERE d.{table.primary_key[0]} IS NULL",
        {"d": wm},
    )[0][0]
    extra = wh.fetchall(
        f"SELECT COUNT(*) FROM {table.dw_name} d WHERE d.{audit.IS_DELETED} = 0 AND NOT EXISTS "
        f"(SELECT 1 FROM {table.stg_name} s WHERE s.{audit.BACKUP_DATE} = {b('d')} "
        f"AND {_key_match('s', 'd', table)})",
        {"d": wm},
    )[0][0]
    meta = {
        "watermark": wm.isoformat(),
        "snapshot_keys_not_live": int(missing),
        "live_keys_not_in_snapshot": int(extra),
        "deletes_held": held,
    }
    if missing or extra:
        why = f"{missing} snapshot key(s) not live, {extra} live key(s) not in the snapshot"
        if held:
            why += (
                f"; the merge held back {held} deletes (more than its max_delete_ratio): check the "
                "backup, then rerun the merge with a higher max_delete_ratio"
            )
        return Outcome(False, f"{table.dw_name} vs {table.stg_name} {wm}: {why}", meta)
    return Outcome(True, f"{table.dw_name} matches the {wm} snapshot", meta)


def referential_integrity(wh: Warehouse, table: Table, parents: Mapping[str, Table]) -> Outcome:
    """`parents`: the referenced tables by source name (same system)."""
    orphans: dict[str, int] = {}
    for c in table.columns:
        if not c.ref:
            continue
        parent = parents[c.ref]
        pk = parent.primary_key[0]
        n = wh.fetchall(
            f"SELECT COUNT(*) FROM {table.dw_name} c "
            f"WHERE c.{audit.IS_DELETED} = 0 AND c.{c.name} IS NOT NULL "
            f"AND NOT EXISTS (SELECT 1 FROM {parent.dw_name} p WHERE p.{pk} = c.{c.name} "
            f"AND p.{audit.IS_DELETED} = 0)"
        )[0][0]
        orphans[f"{c.name} -> {parent.dw_name}"] = int(n)
    bad = {k: v for k, v in orphans.items() if v}
    if bad:
        listed = ", ".join(f"{k}: {v}" for k, v in bad.items())
        return Outcome(False, f"{table.dw_name}: live rows with dangling references ({listed})", orphans)
    return Outcome(True, f"{table.dw_name}: every reference resolves", orphans)


def row_count_anomaly(wh: Warehouse, table: Table, backup_date: date) -> Outcome:
    b = wh.dialect.bind
    rows = wh.fetchall(
        f"SELECT BACKUP_DATE, ROWS_LIVE, FINISHED_AT FROM {LOAD_LOG.name} WHERE TABLE_NAME = {b('t')} "
        f"AND LAYER = 'DW' AND STATUS = 'merged' AND ROWS_LIVE IS NOT NULL AND BACKUP_DATE <= {b('d')} "
        "ORDER BY BACKUP_DATE, FINISHED_AT",
        {"t": table.dw_name, "d": backup_date},
    )
    latest: dict[date, int] = {}
    for d, live, _ in rows:  # the last merge of each date wins
        latest[d] = int(live)
    if backup_date not in latest:
        return Outcome(True, f"{table.dw_name} {backup_date}: no merge logged for the date")
    earlier = sorted(d for d in latest if d < backup_date)[-TRAILING_DAYS:]
    current = latest[backup_date]
    if len(earlier) < MIN_HISTORY:
        return Outcome(
            True,
            f"{table.dw_name} {backup_date}: {len(earlier)} earlier backup(s), too few to judge",
            {"live_rows": current},
        )
    average = sum(latest[d] for d in earlier) / len(earlier)
    deviation = abs(current - average)
    meta = {"live_rows": current, "trailing_average": round(average, 1), "history_days": len(earlier)}
    if deviation > max(ANOMALY_SHARE * average, ANOMALY_MIN_ROWS):
        return Outcome(
            False,
            f"{table.dw_name} {backup_date}: {current} live rows vs a trailing average of {average:.0f}",
            meta,
        )
    return Outcome(True, f"{table.dw_name} {backup_date}: {current} live rows, average {average:.0f}", meta)


def fresh(wh: Warehouse, table: Table, today: date, max_age_days: int = MAX_AGE_DAYS) -> Outcome:
    wm = pipeline_log.watermark(wh, table)
    if wm is None:
        return Outcome(False, f"{table.dw_name}: no backup applied yet")
    age = (today - wm).days
    meta = {"watermark": wm.isoformat(), "age_days": age}
    if age > max_age_days:
        return Outcome(False, f"{table.dw_name}: latest applied backup {wm} is {age} days old", meta)
    return Outcome(True, f"{table.dw_name}: latest applied backup {wm}", meta)


def integrity_and_freshness(
    wh: Warehouse, table: Table, parents: Mapping[str, Table], dates: list[date], today: date
) -> Outcome:
    """`dates`: the backup dates to judge row counts for (the run's, or the watermark)."""
    outcomes = [fresh(wh, table, today)]
    if parents:
        outcomes.append(referential_integrity(wh, table, parents))
    outcomes += [row_count_anomaly(wh, table, d) for d in dates]
    return combine(outcomes)
