"""STG checks, generated for every catalog table: two checks, one per severity.

Each check result costs Dagster a few event-log writes and a lookup, and 92 tables multiply
that, so each table gets two checks that evaluate several conditions in SQL:

- `staged_completely` (ERROR, blocking): the STG partition holds exactly the rows the load log
  recorded as loaded, loaded + rejected = rows parsed, and no catalog column was missing from
  the source (it would load as NULL and blank the DW). The merge would otherwise soft-delete,
  invent or blank rows.
- `source_quality` (WARN): no primary key twice in the partition (the merge keeps one winner
  deterministically and rejects the rest, so the DW stays consistent, but the source is wrong),
  no source column the catalog does not know (ignored until catalogued), and at most
  `MAX_REJECT_RATIO` of the parsed records quarantined (the loader fails a table above its own,
  higher, limit; this asks a human to look sooner).

Schema drift comes from the load log: the loader writes the missing / extra source columns of a
table it loaded anyway into MESSAGE (`staging.loader.drift_message`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from marina_assets.catalog import audit
from marina_assets.catalog.model import Table
from marina_assets.checks.model import CheckDef, Outcome, combine
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.ddl import LOAD_LOG

MAX_REJECT_RATIO = 0.001

COMPLETE = CheckDef(
    "staged_completely",
    "ERROR",
    True,
    "The STG partition holds exactly the rows the load log recorded (loaded + rejected = parsed) "
    "and the backup had every catalog column.",
)
QUALITY = CheckDef(
    "source_quality",
    "WARN",
    False,
    "No primary key twice in the partition, no source column unknown to the catalog, at most "
    f"{MAX_REJECT_RATIO:.1%} of the parsed records rejected (see MARINA_REJECTS).",
)
STG_CHECKS = (COMPLETE, QUALITY)

_DRIFT = re.compile(r"source columns missing: (?P<missing>[^;]*); extra: (?P<extra>.*)")


def latest_load(wh: Warehouse, table: Table, backup_date: date) -> tuple | None:
    """(status, rows read, rows loaded, rows rejected, message) of the last STG load of the date."""
    b = wh.dialect.bind
    rows = wh.fetchall(
        f"SELECT STATUS, ROWS_READ, ROWS_LOADED, ROWS_REJECTED, MESSAGE FROM {LOAD_LOG.name} "
        f"WHERE TABLE_NAME = {b('t')} AND BACKUP_DATE = {b('d')} AND LAYER = 'STG' "
        "ORDER BY FINISHED_AT DESC",
        {"t": table.stg_name, "d": backup_date},
    )
    return rows[0] if rows else None


def latest_staged_date(wh: Warehouse, table: Table) -> date | None:
    rows = wh.fetchall(
        f"SELECT MAX(BACKUP_DATE) FROM {LOAD_LOG.name} WHERE TABLE_NAME = {wh.dialect.bind('t')} "
        "AND LAYER = 'STG' AND STATUS = 'loaded'",
        {"t": table.stg_name},
    )
    return rows[0][0] if rows and rows[0][0] is not None else None


def rows_match_load_log(wh: Warehouse, table: Table, backup_date: date) -> Outcome:
    load = latest_load(wh, table, backup_date)
    if load is None or load[0] != "loaded":
        status = "no load recorded" if load is None else f"last load {load[0]}"
        return Outcome(False, f"{table.stg_name} {backup_date}: {status}", {f"{backup_date}": status})
    _, read, loaded, rejected, _ = load
    counted = wh.fetchall(
        f"SELECT COUNT(*) FROM {table.stg_name} WHERE {audit.BACKUP_DATE} = {wh.dialect.bind('d')}",
        {"d": backup_date},
    )[0][0]
    meta = {f"{backup_date} rows": int(counted), f"{backup_date} logged": int(loaded or 0)}
    if counted != loaded:
        return Outcome(
            False, f"{table.stg_name} {backup_date}: {counted} rows in STG, load log says {loaded}", meta
        )
    if (loaded or 0) + (rejected or 0) != (read or 0):
        return Outcome(
            False,
            f"{table.stg_name} {backup_date}: loaded {loaded} + rejected {rejected} != read {read}",
            meta,
        )
    return Outcome(True, f"{table.stg_name} {backup_date}: {counted} rows, as logged", meta)


def primary_key_unique(wh: Warehouse, table: Table, backup_date: date) -> Outcome:
    keys = ", ".join(table.primary_key)
    dupes = wh.fetchall(
        f"SELECT COUNT(*), COALESCE(SUM(N), 0) FROM (SELECT {keys}, COUNT(*) AS N FROM {table.stg_name} "
        f"WHERE {audit.BACKUP_DATE} = {wh.dialect.bind('d')} GROUP BY {keys} HAVING COUNT(*) > 1) d",
        {"d": backup_date},
    )[0]
    keys_n, rows_n = int(dupes[0]), int(dupes[1])
    meta = {f"{backup_date} duplicate keys": keys_n, f"{backup_date} rows with duplicate keys": rows_n}
    if keys_n:
        return Outcome(
            False,
            f"{table.stg_name} {backup_date}: {keys_n} key(s) appear more than once ({rows_n} rows)",
            meta,
        )
    return Outcome(True, f"{table.stg_name} {backup_date}: keys unique", meta)


def reject_ratio(wh: Warehouse, table: Table, backup_date: date, limit: float = MAX_REJECT_RATIO) -> Outcome:
    load = latest_load(wh, table, backup_date)
    if load is None:
        return Outcome(False, f"{table.stg_name} {backup_date}: no load recorded", severity="WARN")
    read, rejected = int(load[1] or 0), int(load[3] or 0)
    ratio = rejected / read if read else 0.0
    meta = {f"{backup_date} rejected": rejected, f"{backup_date} reject ratio": round(ratio, 6)}
    if ratio > limit:
        return Outcome(
            False,
            f"{table.stg_name} {backup_date}: {rejected} of {read} records rejected ({ratio:.2%})",
            meta,
            severity="WARN",
        )
    return Outcome(True, f"{table.stg_name} {backup_date}: {rejected} of {read} records rejected", meta)


def schema_drift(table: Table, missing: Sequence[str], extra: Sequence[str]) -> Outcome:
    meta = {"missing_columns": ", ".join(missing) or "none", "extra_columns": ", ".join(extra) or "none"}
    if missing:
        return Outcome(
            False,
            f"{table.stg_name}: source lacks catalog column(s) {', '.join(missing)}; they would load as NULL",
            meta,
            severity="ERROR",
        )
    if extra:
        return Outcome(
            False,
            f"{table.stg_name}: source has column(s) the catalog does not know: {', '.join(extra)}",
            meta,
            severity="WARN",
        )
    return Outcome(True, f"{table.stg_name}: source columns match the catalog", meta)


def parse_column_list(value: object) -> list[str]:
    """A column list as the loader writes it ('a, b' or 'none')."""
    text = str(getattr(value, "value", value) or "").strip()
    return [] if text in ("", "none") else [c.strip() for c in text.split(",") if c.strip()]


def logged_drift(wh: Warehouse, table: Table, backup_date: date) -> tuple[list[str], list[str]]:
    """(missing, extra) source columns the load log recorded for the date's load."""
    load = latest_load(wh, table, backup_date)
    m = _DRIFT.fullmatch((load[4] or "").strip()) if load else None
    if m is None:
        return [], []
    return parse_column_list(m["missing"]), parse_column_list(m["extra"])


def staged_completely(wh: Warehouse, table: Table, backup_date: date) -> Outcome:
    missing, _ = logged_drift(wh, table, backup_date)
    return combine([rows_match_load_log(wh, table, backup_date), schema_drift(table, missing, [])])


def source_quality(wh: Warehouse, table: Table, backup_date: date) -> Outcome:
    _, extra = logged_drift(wh, table, backup_date)
    return combine(
        [
            primary_key_unique(wh, table, backup_date),
            schema_drift(table, [], extra),
            reject_ratio(wh, table, backup_date),
        ]
    )
