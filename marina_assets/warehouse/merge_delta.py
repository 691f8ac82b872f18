"""The set-based merge DuckDB and PostgreSQL run: classify once, then apply only the changes.

`merge_sql` defines the snapshot, the dedupe and its rejects (shared with Oracle's procedure).
Comparing the snapshot with the DW table is the expensive part, so it happens exactly once:
one FULL JOIN of the snapshot and the DW table writes the keys that need an action, with the
snapshot's values, to the scratch table MERGE_DELTA:

    I  key not in the DW             -> insert
    R  key soft-deleted in the DW    -> revive (values overwritten)
    U  key live, some value differs  -> update (NULL-safe, column by column)
    D  live key not in the snapshot  -> soft-delete (unless the delete guard holds it back)

Unchanged keys (usually ~all of them) are not written. One MERGE of the small delta into the DW
table by key then applies every action (`apply`); the soft-deletes only when the delete guard
lets them through (bind `apply_deletes`). The counts the guard needs follow from the delta's
counts and the number of snapshot keys, without another scan:
live before = snapshot keys - I - R + D (every snapshot key is new, deleted or live; every
live DW key is in the snapshot or pending deletion). Each WHEN clause also checks the DW row's
state the classify saw, so the MERGE's row count must equal the delta's: the merger fails the
table's transaction when it does not.

When no key repeats in the date's rows (the usual case), the snapshot is read straight from
STG, never copied; otherwise it is the deduped scratch table `merge_sql` fills.
The join from STG can also run as several SELECTs, one per residue of an integer key
(`classify_parts`), on connections of their own (PostgreSQL: `pg_snapshot_readers`).

Where the dialect has `row_hash` (PostgreSQL), the join compares key + ROW_HASH only and reads
just the key, the hash and IS_DELETED of the DW table, so its hash table is a quarter as wide.
A U row then means "hash differs or is NULL"; `confirm` re-checks each one column by column
(NULL-safe, the same `differs`) and drops those that are equal, so the counts stay exact. The
DW row of a dropped one gets the snapshot's hash (nothing else changes; UPDATED_DATE neither),
so rows merged before the hash existed are compared in full once, not in every merge.
"""

from __future__ import annotations

from dataclasses import dataclass

from marina_assets.catalog import audit
from marina_assets.catalog.model import Table
from marina_assets.warehouse.dialects import Dialect
from marina_assets.warehouse.merge_sql import (
    carried_columns,
    differs,
    keys_match,
    snapshot_table_name,
    touch_assignments,
)

DELTA = "MERGE_DELTA"  # transaction-scoped: the keys that need an action and their new values
DELTA_DROP = f"DROP TABLE IF EXISTS {DELTA}"
ACTION = "ACTION_"
IN_SNAPSHOT = "IN_SNAPSHOT_"  # 1 on every snapshot row, so a NULL marks a DW-only key
DW_AUDIT = ", ".join(
    (audit.INSERTED_DATE, audit.UPDATED_DATE, audit.CHANGED_BACKUP_DATE, audit.IS_DELETED, audit.DELETED_DATE)
)


@dataclass(frozen=True)
class DeltaStatements:
    key_counts: str  # (distinct keys, rows) of the date's STG rows (binds: backup date)
    classify_staged: str  # fill MERGE_DELTA from the STG rows directly (no key repeats)
    classify_snapshot: str  # fill MERGE_DELTA from the deduped snapshot table
    analyze: str | None  # refresh the planner's statistics of the fresh delta, where that matters
    confirm: str | None  # row hash: drop the U rows whose columns are all equal (after `analyze`)
    action_counts: str  # (action, count) of the delta
    repeated_keys: str  # a key the delta holds twice (a snapshot key repeats): none expected
    apply: str  # one MERGE of every action; binds: backup date, apply_deletes (the guard's verdict)
    drop: str


def _classify(dialect: Dialect, table: Table, source: str) -> str:
    return dialect.temp_table(DELTA, _classify_select(dialect, table, source))


def _classify_select(dialect: Dialect, table: Table, source: str, part: str = "") -> str:
    """The classify join; `part`, a predicate on the key that `source` applies too, limits the DW
    side to the same keys."""
    dw, first_key = table.dw_name, table.primary_key[0]
    snap_cols = ", ".join(carried_columns(dialect, table))
    keys = ", ".join(f"COALESCE(s.{k}, t.{k}) AS {k}" for k in table.primary_key)
    values = "".join(f", s.{c}" for c in carried_columns(dialect, table) if c not in table.primary_key)
    action = (
        f"CASE WHEN s.{IN_SNAPSHOT} IS NULL THEN 'D' WHEN t.{first_key} IS NULL THEN 'I' "
        f"WHEN t.{audit.IS_DELETED} = 1 THEN 'R' ELSE 'U' END"
    )
    # the DW key is NOT NULL, so a NULL t key means "no DW row"; IN_SNAPSHOT does the same for s
    changed = f"t.{audit.IS_DELETED} = 1 OR {differs(dialect, table, 't', 's')}"
    target = f"(SELECT * FROM {dw} WHERE {part})" if part else dw
    if dialect.row_hash:  # the narrow join: `confirm` compares the columns of the few U rows
        h = audit.ROW_HASH
        changed = f"t.{audit.IS_DELETED} = 1 OR s.{h} IS NULL OR t.{h} IS NULL OR s.{h} <> t.{h}"
        where = f" WHERE {part}" if part else ""
        target = f"(SELECT {', '.join(table.primary_key)}, {h}, {audit.IS_DELETED} FROM {dw}{where})"
    needs_action = (
        f"(s.{IN_SNAPSHOT} IS NULL AND t.{audit.IS_DELETED} = 0) OR t.{first_key} IS NULL "
        f"OR (s.{IN_SNAPSHOT} IS NOT NULL AND ({changed}))"
    )
    select = (
        f"SELECT {action} AS {ACTION}, {keys}{values} "
        f"FROM (SELECT {snap_cols}, 1 AS {IN_SNAPSHOT} FROM {source}) s "
        f"FULL JOIN {target} t ON {keys_match(table, 's', 't')} WHERE {needs_action}"
    )
    return select


def classify_parts(dialect: Dialect, table: Table, parts: int) -> tuple[str, tuple[str, ...]] | None:
    """The staged classify split into `parts` SELECTs by the key's residue, and the statement that
    makes the empty MERGE_DELTA they fill; None for a key that is not one integer column.

    Equal keys have equal residues, so the parts' rows together are exactly the rows of the one
    join (binds: backup date). Each part scans both tables but hashes and probes only its share:
    run side by side on a server's cores (`PostgresWarehouse.fill_in_parallel`), the benchmark's
    million-row classify takes 1.17-1.5 s instead of 1.5-1.9 s on its 2-core machine.
    """
    if parts < 2 or not table.single_integer_key:
        return None
    key = table.column(table.primary_key[0])
    staged = f"{table.stg_name} WHERE {audit.BACKUP_DATE} = {dialect.bind('backup_date')}"
    # MOD keeps the sign: -3 is in the part of 1 (remainder -1). A NULL key (never in the DW)
    # belongs to part 0, as the one join would have classified it too.
    shares = [f"MOD({key.name}, {parts}) IN ({k}, {k - parts})" for k in range(parts)]
    shares[0] = f"({shares[0]} OR {key.name} IS NULL)"
    selects = tuple(_classify_select(dialect, table, f"{staged} AND {p}", p) for p in shares)
    shape = dialect.temp_table(DELTA, f"{_classify_select(dialect, table, staged)} LIMIT 0")
    return shape, selects


def from_load(dialect: Dialect, table: Table, delta_table: str) -> str:
    """Fill MERGE_DELTA from the rows the load classified (`pg_load_classify`); no join."""
    return dialect.temp_table(
        DELTA, f"SELECT {ACTION}, {', '.join(carried_columns(dialect, table))} FROM {delta_table}"
    )


def _confirm(dialect: Dialect, table: Table) -> str:
    """Drop the U rows whose values all equal the DW row's; store their hash in the DW row."""
    dw, h, pk = table.dw_name, audit.ROW_HASH, ", ".join(f"{table.dw_name}.{k}" for k in table.primary_key)
    return (
        f"WITH same AS (UPDATE {dw} SET {h} = s.{h} FROM {DELTA} s WHERE {keys_match(table, dw, 's')} "
        f"AND s.{ACTION} = 'U' AND {dw}.{audit.IS_DELETED} = 0 AND NOT ({differs(dialect, table, dw, 's')}) "
        f"RETURNING {pk}) "
        f"DELETE FROM {DELTA} d USING same WHERE {keys_match(table, 'd', 'same')} AND d.{ACTION} = 'U'"
    )


def _apply(dialect: Dialect, table: Table) -> str:
    d, dw = dialect.bind("backup_date"), table.dw_name
    carried = carried_columns(dialect, table)
    set_values = "".join(f"{c} = s.{c}, " for c in carried if c not in table.primary_key)
    touch = touch_assignments(dialect, d)
    live, gone = f"t.{audit.IS_DELETED} = 0", f"t.{audit.IS_DELETED} = 1"
    return (
        f"MERGE INTO {dw} t USING {DELTA} s ON {keys_match(table, 't', 's')} "
        f"WHEN MATCHED AND s.{ACTION} = 'R' AND {gone} THEN UPDATE SET {set_values}{touch} "
        f"WHEN MATCHED AND s.{ACTION} = 'U' AND {live} THEN UPDATE SET {set_values}{touch} "
        f"WHEN MATCHED AND s.{ACTION} = 'D' AND {live} AND {dialect.bind('apply_deletes')} THEN UPDATE SET "
        f"{audit.IS_DELETED} = 1, {audit.DELETED_DATE} = {d}, {audit.UPDATED_DATE} = {dialect.now}, "
        f"{audit.CHANGED_BACKUP_DATE} = {d} "
        f"WHEN NOT MATCHED AND s.{ACTION} = 'I' THEN INSERT ({', '.join(carried)}, {DW_AUDIT}) "
        f"VALUES ({', '.join(f's.{c}' for c in carried)}, {dialect.now}, {dialect.now}, {d}, 0, NULL)"
    )


def delta_statements(dialect: Dialect, table: Table) -> DeltaStatements:
    d = dialect.bind("backup_date")
    pk = ", ".join(table.primary_key)
    where_date = f"WHERE {audit.BACKUP_DATE} = {d}"
    return DeltaStatements(
        key_counts=(
            f"SELECT COUNT(*), COALESCE(SUM(N_), 0) FROM (SELECT {pk}, COUNT(*) AS N_ "
            f"FROM {table.stg_name} {where_date} GROUP BY {pk}) k"
        ),
        classify_staged=_classify(dialect, table, f"{table.stg_name} {where_date}"),
        classify_snapshot=_classify(dialect, table, snapshot_table_name(dialect, table)),
        # the MERGE joins DW by the key and reads the action: statistics of the values are not worth
        # reading them (25,000 delta rows of a wide table: 0.16 s for all columns)
        analyze=f"ANALYZE {DELTA} ({ACTION}, {pk})" if dialect.analyze_scratch else None,
        confirm=_confirm(dialect, table) if dialect.row_hash else None,
        action_counts=f"SELECT {ACTION}, COUNT(*) FROM {DELTA} GROUP BY {ACTION}",
        repeated_keys=f"SELECT {pk} FROM {DELTA} GROUP BY {pk} HAVING COUNT(*) > 1 LIMIT 1",
        apply=_apply(dialect, table),
        drop=DELTA_DROP,
    )
