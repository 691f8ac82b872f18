"""The warehouse truth after applying snapshots in order, computed independently of the pipeline.

This is what tests compare the pipeline's DW tables and merge counts against. Semantics per
table and backup date D (DESIGN.md, "Merge semantics"):

- a key seen for the first time is inserted;
- a live key whose values differ (NULL-safe: None equals None, otherwise `==`) is updated;
- a live key absent from D is soft-deleted (`deleted_date` = D);
- a deleted key present again is revived (values from D, `deleted_date` cleared);
- anything else is unchanged. A table missing from a snapshot altogether is not touched.

`changed_backup_date` is D for each of insert, update, delete and revival.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from marina_assets.sample_data.generator import Key, Row, Snapshot

COUNTS = ("inserted", "updated", "deleted", "revived")


@dataclass(frozen=True)
class ExpectedRow:
    values: tuple[Any, ...]  # catalog column order
    is_deleted: bool
    deleted_date: date | None  # backup date of the first snapshot that lacked the key
    changed_backup_date: date  # backup date of the last insert / value change / delete / revival


ExpectedState = dict[str, dict[Key, ExpectedRow]]


def same_values(a: Row, b: Row) -> bool:
    """NULL-safe row equality: None equals None, anything else compares with `==`.

    Plain tuple equality already is exactly that (None equals only None, and the generator
    never produces NaN), so this is `a == b`, named for what it means.
    """
    return a == b


def apply_snapshot(state: ExpectedState, snapshot: Snapshot) -> dict[str, dict[str, int]]:
    """Merge one snapshot into `state` (in place); return the per-table change counts."""
    day = snapshot.backup_date
    counts: dict[str, dict[str, int]] = {}
    for name, rows in snapshot.tables.items():
        table = state.setdefault(name, {})
        tally = dict.fromkeys(COUNTS, 0)
        for key, values in rows.items():
            old = table.get(key)
            if old is None:
                tally["inserted"] += 1
            elif old.is_deleted:
                tally["revived"] += 1
            elif not same_values(old.values, values):
                tally["updated"] += 1
            else:
                continue
            table[key] = ExpectedRow(tuple(values), False, None, day)
        for key, old in table.items():
            if not old.is_deleted and key not in rows:
                tally["deleted"] += 1
                table[key] = ExpectedRow(old.values, True, day, day)
        counts[name] = tally
    return counts


def expected_state(snapshots: Iterable[Snapshot]) -> ExpectedState:
    """`dw_name -> pk -> ExpectedRow` after applying `snapshots` in the order given."""
    state: ExpectedState = {}
    for snapshot in snapshots:
        apply_snapshot(state, snapshot)
    return state


def change_counts(
    prev: Snapshot | None,
    cur: Snapshot,
    *,
    before: Mapping[str, Mapping[Key, ExpectedRow]] | None = None,
) -> dict[str, dict[str, int]]:
    """Inserted / updated / deleted / revived per `dw_name` when `cur` is merged right after `prev`.

    A key missing from `prev` but present in `cur` is a revival when it was seen on an earlier
    day: `prev.deleted_keys` says so for generated snapshots. For hand-built snapshots without
    that history pass `before` (the `expected_state` of every snapshot before `cur`; `prev` is
    then not consulted), or use `daily_change_counts` over the whole run.
    """
    state: ExpectedState = {}
    if before is not None:
        state = {name: dict(rows) for name, rows in before.items() if name in cur.tables}
    elif prev is not None:
        for name, rows in prev.tables.items():
            gone = ExpectedRow((), True, None, prev.backup_date)
            table = state[name] = {key: gone for key in prev.deleted_keys.get(name, ())}
            table.update(
                (key, ExpectedRow(tuple(v), False, None, prev.backup_date)) for key, v in rows.items()
            )
    return apply_snapshot(state, cur)


def daily_change_counts(snapshots: Iterable[Snapshot]) -> list[tuple[date, dict[str, dict[str, int]]]]:
    """Exact change counts of every snapshot in order (revivals included)."""
    state: ExpectedState = {}
    return [(snapshot.backup_date, apply_snapshot(state, snapshot)) for snapshot in snapshots]
