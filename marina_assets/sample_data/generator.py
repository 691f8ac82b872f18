"""Deterministic evolution of every catalog table over a run of nightly snapshots.

`generate(start=..., days=...)` yields one `Snapshot` per backup date: for every table of the
given systems, the full set of rows the nightly backup holds that day (`{pk: row}`), with rows
as tuples in catalog column order and keys as tuples in primary-key order.

Day 0 gives each table `round(sample_rows * scale)` rows (at least 1); lookup tables keep
their catalog size, and a lookup whose label column has `choices` gets one row per choice.
Then, day over day, every non-lookup table loses ~1% of its rows, sees ~3% updated (1-2
columns, with value -> NULL and NULL -> value flips on purpose), gains ~2% new keys, and gets
back at least one key deleted on an earlier day (sometimes with new values). Lookup tables
never change.

Referential consistency: a `ref` column only takes "core" keys of its parent: the first 80% of
the parent's day-0 keys (all keys of a lookup), which are never deleted. So every reference
resolves in the parent's snapshot of the same day.

Determinism: each table draws from its own `random.Random`, seeded per (seed, system, table,
day) through a string seed (SHA-512, not `hash()`), and the code never iterates over a set.
The same arguments give the same snapshots, whichever other systems are generated alongside.
"""

from __future__ import annotations

import math
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from marina_assets.catalog import SYSTEMS
from marina_assets.catalog.model import Column, Kind, SourceSystem, Table
from marina_assets.sample_data.values import NULL_RATE, ValueFn, after_source, value_fn

Key = tuple[Any, ...]
Row = tuple[Any, ...]

DEFAULT_SEED = 20251117
CORE_SHARE = 0.8  # share of day-0 keys that are never deleted (the only ones children reference)
DELETE_RATE = 0.01
UPDATE_RATE = 0.03
INSERT_RATE = 0.02
REVIVE_RATE = 0.003
_SEQUENCE_DOMAIN = 20  # values of a non-ref, non-counter column in a composite key
_STAMP = re.compile(r"UPDATED|MODIFIED")
_LABEL = re.compile(r"NAME|LABEL|CODE|SYMBOL|TITLE|DESCRIPTION")

# Double-entry tables: (system, source) -> (parent column, debit column, credit column). After
# every day the last line of each parent is set so that the parent's debits equal its credits,
# as a ledger requires (the NetSuite views' journal check relies on it).
BALANCED_LINES: Mapping[tuple[str, str], tuple[str, str, str]] = {
    ("NS", "TransactionAccountingLine"): ("TRANSACTION", "DEBIT", "CREDIT"),
}


@dataclass(frozen=True)
class Snapshot:
    """What the nightly backups of one date hold: `dw_name -> {pk tuple: row tuple}`.

    `deleted_keys` is history only the generator knows: per table, the keys that were in an
    earlier snapshot of the run but are missing from this one. It lets `change_counts` tell a
    revival from an insert with just two consecutive snapshots; hand-built snapshots may omit it.
    """

    backup_date: date
    tables: Mapping[str, Mapping[Key, Row]]
    deleted_keys: Mapping[str, AbstractSet[Key]] = field(default_factory=dict)


def generate(
    systems: Sequence[SourceSystem] = SYSTEMS,
    *,
    start: date,
    days: int,
    scale: float = 1.0,
    seed: int = DEFAULT_SEED,
) -> Iterator[Snapshot]:
    """Yield `days` snapshots for backup dates `start`, `start + 1`, ... (see module doc)."""
    if days < 0 or scale <= 0:
        raise ValueError("days must be >= 0 and scale > 0")
    catalog_order = [t for s in systems for t in s.tables]
    states: dict[str, _TableState] = {}
    order = _generation_order(systems)
    for day in range(days):
        today = start + timedelta(days=day)
        for system, table in order:
            rng = random.Random(f"{seed}/{system.code}/{table.source}/{day}")
            if day == 0:
                parents = {t.source: states[t.dw_name] for t in system.tables if t.dw_name in states}
                states[table.dw_name] = _TableState(table, parents, rng, today, scale)
            elif not table.lookup:
                states[table.dw_name].evolve(rng, today)
        yield Snapshot(
            backup_date=today,
            tables=MappingProxyType(
                {t.dw_name: MappingProxyType(dict(states[t.dw_name].live)) for t in catalog_order}
            ),
            deleted_keys=MappingProxyType(
                {t.dw_name: frozenset(states[t.dw_name].deleted) for t in catalog_order}
            ),
        )


def _generation_order(systems: Sequence[SourceSystem]) -> list[tuple[SourceSystem, Table]]:
    """Catalog order, except that a table referenced by an earlier one is moved before it."""
    order: list[tuple[SourceSystem, Table]] = []
    for system in systems:
        done: set[str] = set()
        pending = list(system.tables)
        known = {t.source for t in pending}
        while pending:
            for i, t in enumerate(pending):
                refs = {c.ref for c in t.columns if c.ref and c.ref != t.source}
                unknown = sorted(r for r in refs if r not in known)
                if unknown:
                    raise ValueError(f"{system.code}.{t.source} references unknown table(s) {unknown}")
                if refs <= done:
                    order.append((system, pending.pop(i)))
                    done.add(t.source)
                    break
            else:
                raise ValueError(f"{system.code}: reference cycle among {[t.source for t in pending]}")
    return order


def label_column(table: Table) -> Column | None:
    """The column of a lookup table whose `choices` enumerate its rows (one row per choice)."""
    candidates = [c for c in table.columns if c.choices]
    if not table.lookup or not candidates:
        return None
    keys = set(table.primary_key)
    return min(
        candidates,
        key=lambda c: (c.name not in keys, not _LABEL.search(c.name), c.nullable, candidates.index(c)),
    )


def _nth(table: Table, column: Column, n: int) -> Any:
    """The n-th (1-based) generated value of a key column; None once its type runs out."""
    kind = column.type.kind
    if kind is Kind.INTEGER:
        return n
    if kind is Kind.VARCHAR:
        length = column.type.length or 4000
        prefix = re.sub(r"[^A-Za-z]", "", table.source).upper()[:3][: max(0, length - 5)]
        text = f"{prefix}{n:05d}"
        return text if len(text) <= length else None
    if kind is Kind.DECIMAL:
        scale = column.type.scale or 0
        return Decimal(n).scaleb(-scale) if len(str(n)) <= (column.type.precision or 18) - scale else None
    if kind is Kind.DATE:
        return date(2000, 1, 1) + timedelta(days=n)
    if kind is Kind.TIMESTAMP:
        return datetime(2000, 1, 1) + timedelta(minutes=n)
    return str(n)


@dataclass(frozen=True)
class _Plan:
    """A table's value functions for one backup date, by position and in generation order."""

    by_pos: Mapping[int, tuple[ValueFn, bool]]
    steps: Sequence[tuple[int, ValueFn, bool]]


def _ref_fn(pool: Sequence[Any]) -> ValueFn:
    size = len(pool)
    return lambda rng, row: pool[int(rng.random() * size)]


class _Keys:
    """Hands out primary keys never used before in the table (deleted keys come back only by revival)."""

    def __init__(self, table: Table, parents: Mapping[str, _TableState], rng: random.Random) -> None:
        self.table = table
        self.columns = table.key_columns
        self.domains: list[Sequence[Any] | None] = []
        for c in self.columns:
            if c.ref:
                pool = list(parents[c.ref].core_values) if c.ref in parents else []
                rng.shuffle(pool)
                self.domains.append(pool)
            elif c.choices:
                self.domains.append(c.choices)
            elif c.type.kind is Kind.BOOLEAN:
                self.domains.append((False, True))
            else:
                self.domains.append(None)
        self.counter = 0
        self.counter_at: int | None = None
        if len(self.columns) > 1:
            free = [i for i, d in enumerate(self.domains) if d is None]
            ints = [i for i in free if self.columns[i].type.kind is Kind.INTEGER]
            self.counter_at = ints[-1] if ints else None
            for i in free:
                if i != self.counter_at:
                    values = [_nth(table, self.columns[i], n) for n in range(1, _SEQUENCE_DOMAIN + 1)]
                    self.domains[i] = [v for v in values if v is not None]
        self.per_prefix: dict[Key, int] = {}
        self.used: set[Key] = set()
        self.capacity = math.prod(len(d) for d in self.domains if d is not None)

    def take(self, rng: random.Random, n: int) -> list[Key]:
        if len(self.columns) == 1:
            return self._take_single(n)
        if self.counter_at is not None:
            return [self._take_counted(rng) for _ in range(n)]
        return self._take_sampled(rng, n)

    def _take_single(self, n: int) -> list[Key]:
        domain = self.domains[0]
        if domain is not None:
            keys = [(v,) for v in domain[self.counter : self.counter + n]]
        else:
            column = self.columns[0]
            values = (_nth(self.table, column, i) for i in range(self.counter + 1, self.counter + n + 1))
            keys = [(v,) for v in values if v is not None]
        self.counter += len(keys)
        return keys

    def _take_counted(self, rng: random.Random) -> Key:
        at = self.counter_at
        assert at is not None
        prefix = tuple(None if d is None else d[int(rng.random() * len(d))] for d in self.domains)
        count = self.per_prefix.get(prefix, 0) + 1
        self.per_prefix[prefix] = count
        return (*prefix[:at], count, *prefix[at + 1 :])

    def _take_sampled(self, rng: random.Random, n: int) -> list[Key]:
        keys: list[Key] = []
        attempts = 20 * n + 100
        while len(keys) < n and len(self.used) < self.capacity and attempts:
            attempts -= 1
            key = tuple(d[int(rng.random() * len(d))] for d in self.domains if d is not None)
            if key not in self.used:
                self.used.add(key)
                keys.append(key)
        return keys


class _TableState:
    """One table's rows across days: live rows, deleted rows (for revival) and its core keys."""

    def __init__(
        self,
        table: Table,
        parents: Mapping[str, _TableState],
        rng: random.Random,
        today: date,
        scale: float,
    ) -> None:
        self.table = table
        self.parents = parents
        columns = table.columns
        self.index = {c.name: i for i, c in enumerate(columns)} | {c.source: i for i, c in enumerate(columns)}
        self.key_positions = [self.index[k] for k in table.primary_key]
        label = label_column(table)
        self.label_at = self.index[label.name] if label is not None else None
        self.stamp_at = next(
            (
                self.index[c.name]
                for c in table.value_columns
                if c.type.kind is Kind.TIMESTAMP and _STAMP.search(c.name) and not c.ref
            ),
            None,
        )
        self.order = self._value_order()
        self.dependents: dict[int, list[int]] = {}
        for pos in self.order:
            source = after_source(columns[pos])
            if source is not None:
                self.dependents.setdefault(self._position(source), []).append(pos)
        skip = {self.label_at, self.stamp_at}
        self.updatable = [p for p in self.order if p not in skip]
        self.nullable = [p for p in self.updatable if columns[p].nullable]

        if label is not None:
            wanted = len(label.choices or ())
        elif table.lookup:
            wanted = table.sample_rows
        else:
            wanted = max(1, round(table.sample_rows * scale))
        if any(c.ref == table.source for c in table.key_columns):
            raise ValueError(f"{table.dw_name}: a key column cannot reference its own table")
        self.keys = _Keys(table, parents, rng)
        keys = self.keys.take(rng, wanted)
        core_count = len(keys) if table.lookup else max(1, int(len(keys) * CORE_SHARE))
        self.core: set[Key] = set(keys[:core_count])
        self.core_values = [k[0] for k in keys[:core_count]]
        plan = self._plan(today)
        self.live: dict[Key, Row] = {}
        self.deleted: dict[Key, Row] = {}
        labels = list(label.choices or ()) if label is not None else [None] * len(keys)
        for key, text in zip(keys, labels, strict=False):
            self.live[key] = self._new_row(rng, key, plan, text)
        self._balance()

    def _balance(self) -> None:
        """Make each parent's debits equal its credits (tables in BALANCED_LINES only)."""
        spec = BALANCED_LINES.get((self.table.system, self.table.source))
        if spec is None:
            return
        parent_at, debit_at, credit_at = (self.index[name] for name in spec)
        groups: dict[Any, list[Key]] = {}
        for key, row in self.live.items():
            groups.setdefault(row[parent_at], []).append(key)
        zero = Decimal("0.00")
        for keys in groups.values():
            *others, last = sorted(keys)
            diff = sum(
                ((self.live[k][debit_at] or zero) - (self.live[k][credit_at] or zero) for k in others), zero
            )
            row = list(self.live[last])
            row[debit_at], row[credit_at] = (zero, diff) if diff >= 0 else (-diff, zero)
            self.live[last] = tuple(row)

    def _position(self, name: str) -> int:
        at = self.index.get(name, self.index.get(name.upper()))
        if at is None:
            raise ValueError(f"{self.table.dw_name}: after:{name} names no column of the table")
        return at

    def _value_order(self) -> list[int]:
        """Non-key columns, each `after:` column after the column it follows."""
        columns = self.table.columns
        order: list[int] = []
        placed = set(self.key_positions)
        pending = [i for i in range(len(columns)) if i not in placed]
        while pending:
            for pos in pending:
                source = after_source(columns[pos])
                if source is None or self._position(source) in placed:
                    order.append(pos)
                    placed.add(pos)
                    pending.remove(pos)
                    break
            else:
                raise ValueError(f"{self.table.dw_name}: cycle among after: hints")
        return order

    def _plan(self, today: date) -> _Plan:
        """Per non-key column: its value function for `today` and whether it may be NULL."""
        plan: dict[int, tuple[ValueFn, bool]] = {}
        for pos in self.order:
            column = self.table.columns[pos]
            if column.ref:
                parent = self if column.ref == self.table.source else self.parents[column.ref]
                pool = parent.core_values
                if not pool:
                    raise ValueError(f"{self.table.dw_name}.{column.name}: {column.ref} has no rows")
                plan[pos] = (_ref_fn(pool), column.nullable)
            else:
                plan[pos] = (value_fn(column, today=today, index=self.index), column.nullable)
        steps = [(pos, *plan[pos]) for pos in self.order if pos != self.label_at]
        return _Plan(plan, steps)

    def _new_row(self, rng: random.Random, key: Key, plan: _Plan, label: Any = None) -> Row:
        row: list[Any] = [None] * len(self.table.columns)
        for pos, value in zip(self.key_positions, key, strict=True):
            row[pos] = value
        if self.label_at is not None:
            row[self.label_at] = label
        draw = rng.random
        for pos, fn, nullable in plan.steps:
            if not nullable or draw() >= NULL_RATE:
                row[pos] = fn(rng, row)
        return tuple(row)

    def _regenerate(self, rng: random.Random, row: list[Any], pos: int, plan: _Plan) -> None:
        fn, nullable = plan.by_pos[pos]
        row[pos] = None if nullable and rng.random() < NULL_RATE else fn(rng, row)
        for dependent in self.dependents.get(pos, ()):
            self._regenerate(rng, row, dependent, plan)

    def _changed(
        self, rng: random.Random, old: Row, plan: _Plan, today: date, flip: str | None = None
    ) -> Row:
        """`old` with 1-2 columns regenerated (or one nullable column flipped) and its stamp bumped."""
        row = list(old)
        for _ in range(5):
            if flip is not None:
                candidates = [p for p in self.nullable if (row[p] is None) == (flip == "fill")]
                if not candidates:
                    flip = None
                    continue
                pos = candidates[int(rng.random() * len(candidates))]
                row[pos] = plan.by_pos[pos][0](rng, row) if flip == "fill" else None
                for dependent in self.dependents.get(pos, ()) if flip == "fill" else ():
                    self._regenerate(rng, row, dependent, plan)
            elif self.updatable:
                for pos in rng.sample(self.updatable, min(len(self.updatable), 1 + int(rng.random() * 2))):
                    self._regenerate(rng, row, pos, plan)
            if tuple(row) != old:
                break
        if self.stamp_at is not None:
            row[self.stamp_at] = datetime(today.year, today.month, today.day) - timedelta(
                seconds=1 + int(rng.random() * 86399)
            )
        return tuple(row)

    def evolve(self, rng: random.Random, today: date) -> None:
        """Apply one day of deletes, updates, revivals and inserts."""
        live, deleted = self.live, self.deleted
        plan = self._plan(today)
        size = len(live)
        revivable = list(deleted)

        removable = [k for k in live if k not in self.core]
        for key in rng.sample(removable, min(len(removable), max(1, round(size * DELETE_RATE)))):
            deleted[key] = live.pop(key)

        keys = list(live)
        targets = rng.sample(keys, min(len(keys), max(1, round(size * UPDATE_RATE))))
        flips = self._flip_targets(rng, keys, targets)
        for key in targets:
            live[key] = self._changed(rng, live[key], plan, today, flips.get(key))

        for key in rng.sample(revivable, min(len(revivable), max(1, round(size * REVIVE_RATE)))):
            row = deleted.pop(key)
            live[key] = self._changed(rng, row, plan, today) if rng.random() < 0.5 else row

        for key in self.keys.take(rng, max(1, round(size * INSERT_RATE))):
            live[key] = self._new_row(rng, key, plan)
        self._balance()

    def _flip_targets(self, rng: random.Random, keys: list[Key], targets: list[Key]) -> dict[Key, str]:
        """Pick one updated row to get a NULL filled and one to get a value NULLed, when possible."""
        flips: dict[Key, str] = {}
        if not self.nullable or not keys:
            return flips
        probes = targets + [keys[int(rng.random() * len(keys))] for _ in range(20)]
        for mode in ("fill", "clear"):
            for key in probes:
                row = self.live[key]
                if key not in flips and any((row[p] is None) == (mode == "fill") for p in self.nullable):
                    flips[key] = mode
                    if key not in targets:
                        targets.append(key)
                    break
        return flips
