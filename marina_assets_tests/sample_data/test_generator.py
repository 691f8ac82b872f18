"""The sample generator: deterministic, referentially consistent, typed, and eventful."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from itertools import pairwise
from typing import Any

import pytest

from marina_assets.catalog import SYSTEMS
from marina_assets.catalog.model import Column, Kind, SourceSystem, Table, col, table
from marina_assets.sample_data import Snapshot, generate
from marina_assets.sample_data.generator import label_column
from marina_assets.sample_data.values import HARD_STRINGS, HINTS, value_fn

START = date(2025, 11, 17)
SCALE = 0.05
DAYS = 4


@cache
def run(scale: float = SCALE, days: int = DAYS, seed: int = 20251117) -> tuple[Snapshot, ...]:
    return tuple(generate(start=START, days=days, scale=scale, seed=seed))


def catalog_tables() -> list[tuple[SourceSystem, Table]]:
    return [(s, t) for s in SYSTEMS for t in s.tables]


def tiny_system(*tables: Table) -> SourceSystem:
    return SourceSystem("MOLO", "tiny", "csv_zip", r"x", "x_%Y-%m-%d.zip", tables=tables)


def _fits(column: Column, value: Any) -> bool:
    t = column.type
    if t.kind is Kind.INTEGER:
        return type(value) is int
    if t.kind is Kind.DECIMAL:
        if not isinstance(value, Decimal):
            return False
        _, digits, exponent = value.as_tuple()
        return exponent == -(t.scale or 0) and len(digits) <= (t.precision or 0)
    if t.kind is Kind.VARCHAR:
        return isinstance(value, str) and len(value) <= (t.length or 0)
    if t.kind is Kind.TEXT:
        return isinstance(value, str)
    if t.kind is Kind.DATE:
        return type(value) is date
    if t.kind is Kind.TIMESTAMP:
        return type(value) is datetime and value.microsecond == 0 and value.tzinfo is None
    return type(value) is bool


def _as_datetime(value: date) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


def test_same_arguments_give_identical_snapshots() -> None:
    again = tuple(generate(start=START, days=DAYS, scale=SCALE))
    assert again == run()
    assert [s.backup_date for s in again] == [date(2025, 11, 17 + i) for i in range(DAYS)]


def test_another_seed_gives_other_data_with_the_same_shape() -> None:
    other = run(seed=7)[0]
    first = run()[0]
    assert other != first
    assert {n: len(r) for n, r in other.tables.items()} == {n: len(r) for n, r in first.tables.items()}


def test_a_system_alone_is_generated_exactly_as_within_the_whole_catalog() -> None:
    stellar = next(s for s in SYSTEMS if s.code == "STELLAR")
    alone = list(generate([stellar], start=START, days=2, scale=SCALE))
    for snap, full in zip(alone, run(), strict=False):
        assert set(snap.tables) == {t.dw_name for t in stellar.tables}
        assert all(snap.tables[name] == full.tables[name] for name in snap.tables)


def test_rows_are_typed_keyed_and_within_the_catalogs_limits() -> None:
    for snap in run():
        assert set(snap.tables) == {t.dw_name for _, t in catalog_tables()}
        for _, t in catalog_tables():
            positions = [t.column_names.index(k) for k in t.primary_key]
            for key, row in snap.tables[t.dw_name].items():
                assert len(row) == len(t.columns)
                assert key == tuple(row[i] for i in positions), t.dw_name
                for c, value in zip(t.columns, row, strict=True):
                    if value is None:
                        assert c.nullable, f"{t.dw_name}.{c.name} is NOT NULL"
                        continue
                    assert _fits(c, value), f"{t.dw_name}.{c.name}: {value!r} does not fit {c.type}"
                    assert not c.choices or value in c.choices, f"{t.dw_name}.{c.name}: {value!r}"


def test_every_reference_resolves_in_the_parents_snapshot_of_the_same_day() -> None:
    for snap in run():
        for system, t in catalog_tables():
            for i, c in enumerate(t.columns):
                if c.ref is None:
                    continue
                parent = snap.tables[system.table(c.ref).dw_name]
                dangling = {row[i] for row in snap.tables[t.dw_name].values() if row[i] is not None} - {
                    k[0] for k in parent
                }
                assert not dangling, (
                    f"{snap.backup_date} {t.dw_name}.{c.name} -> {c.ref}: {sorted(dangling)[:5]}"
                )


def test_after_hints_order_the_two_values() -> None:
    for snap in run():
        for _, t in catalog_tables():
            for i, c in enumerate(t.columns):
                if not (c.gen or "").startswith("after:"):
                    continue
                j = next(
                    k for k, other in enumerate(t.columns) if other.source == c.gen.removeprefix("after:")
                )
                for row in snap.tables[t.dw_name].values():
                    if row[i] is not None and row[j] is not None:
                        later, earlier = (_as_datetime(v) for v in (row[i], row[j]))
                        assert later >= earlier or later.date() == earlier.date(), f"{t.dw_name}.{c.name}"


def test_day_zero_sizes_follow_the_catalog_at_any_scale() -> None:
    for _, t in catalog_tables():
        rows = run()[0].tables[t.dw_name]
        label = label_column(t)
        if label is not None:
            assert [row[t.columns.index(label)] for row in rows.values()] == list(label.choices or ())
        elif t.lookup:
            assert len(rows) == t.sample_rows, t.dw_name
        else:
            assert len(rows) == max(1, round(t.sample_rows * SCALE)), t.dw_name


def test_scale_one_totals_are_the_sum_of_the_catalogs_table_sizes() -> None:
    first = next(generate(start=START, days=1, scale=1.0))
    expected = 0
    for _, t in catalog_tables():
        label = label_column(t)
        expected += (
            len(label.choices or ()) if label else t.sample_rows if t.lookup else max(1, t.sample_rows)
        )
    assert sum(len(rows) for rows in first.tables.values()) == expected


def test_lookup_tables_never_change() -> None:
    snaps = run()
    for _, t in catalog_tables():
        if t.lookup:
            assert all(s.tables[t.dw_name] == snaps[0].tables[t.dw_name] for s in snaps), t.dw_name


def test_every_busy_table_sees_inserts_updates_deletes_and_a_revival() -> None:
    snaps = run()
    for _, t in catalog_tables():
        if t.lookup or len(snaps[0].tables[t.dw_name]) < 5:
            continue
        seen: set = set()
        deleted: set = set()
        events: Counter[str] = Counter()
        for prev, cur in pairwise(snaps):
            before, after = prev.tables[t.dw_name], cur.tables[t.dw_name]
            seen |= set(before)
            events["insert"] += sum(1 for k in after if k not in seen)
            events["revive"] += sum(1 for k in after if k in deleted)
            events["update"] += sum(1 for k in after if k in before and before[k] != after[k])
            gone = {k for k in before if k not in after}
            events["delete"] += len(gone)
            deleted = (deleted | gone) - set(after)
        assert all(events[e] > 0 for e in ("insert", "update", "delete", "revive")), (t.dw_name, events)


def test_updates_flip_values_to_null_and_back() -> None:
    flips: Counter[str] = Counter()
    snaps = run()
    for prev, cur in pairwise(snaps):
        for name, rows in cur.tables.items():
            for key, row in rows.items():
                old = prev.tables[name].get(key)
                for a, b in zip(old or (), row if old else (), strict=True):
                    flips["to_null"] += a is not None and b is None
                    flips["from_null"] += a is None and b is not None
    assert flips["to_null"] > 0 and flips["from_null"] > 0


def test_keys_composite_generated_and_lookup_labels_in_a_tiny_catalog() -> None:
    status = table(
        "MOLO",
        "Statuses",
        [col("Code", "str(8)", choices=["OPEN", "CLOSED", "VOID"]), col("Label", "str(20)", gen="words")],
        pk="Code",
        lookup=True,
    )
    kinds = table(
        "MOLO",
        "Kinds",
        [col("Id", "int"), col("Name", "str(30)", nullable=False, choices=["A", "B"])],
        pk="Id",
        lookup=True,
    )
    orders = table(
        "MOLO",
        "Orders",
        [
            col("OrderNo", "str(7)"),
            col("Status", "str(8)", nullable=False, ref="Statuses"),
            col("Parent", "str(7)", ref="Orders"),
            col("OpenedOn", "date", gen="date_past"),
            col("ClosedOn", "date", gen="after:OpenedOn"),
        ],
        pk="OrderNo",
        rows=40,
    )
    lines = table(
        "MOLO",
        "Lines",
        [col("OrderNo", "str(7)", ref="Orders"), col("LineNo", "int"), col("Kind", "int", ref="Kinds")],
        pk=("OrderNo", "LineNo"),
        rows=60,
    )
    pairs = table(
        "MOLO",
        "Pairs",
        [
            col("Kind", "int", ref="Kinds"),
            col("Status", "str(8)", ref="Statuses"),
            col("Note", "text", gen="note"),
        ],
        pk=("Kind", "Status"),
        rows=10,
    )
    snaps = list(generate([tiny_system(lines, orders, status, kinds, pairs)], start=START, days=3))
    first = snaps[0].tables
    assert list(first["DW_MOLO_STATUSES"]) == [("OPEN",), ("CLOSED",), ("VOID",)]
    assert [r[1] for r in first["DW_MOLO_KINDS"].values()] == ["A", "B"]
    assert list(first["DW_MOLO_ORDERS"])[:2] == [("OR00001",), ("OR00002",)]  # prefix cut to fit str(7)
    assert all(len(k[0]) <= 7 for k in first["DW_MOLO_ORDERS"])
    assert len(first["DW_MOLO_PAIRS"]) == 6  # every combination of 2 kinds x 3 statuses, no more
    for snap in snaps:
        orders_today = snap.tables["DW_MOLO_ORDERS"]
        assert all((k[0],) in orders_today for k in snap.tables["DW_MOLO_LINES"])
        assert all(r[2] is None or (r[2],) in orders_today for r in orders_today.values())
    line_numbers: dict[str, list[int]] = {}
    for order, line in sorted(first["DW_MOLO_LINES"]):
        line_numbers.setdefault(order, []).append(line)
    assert all(numbers == list(range(1, len(numbers) + 1)) for numbers in line_numbers.values())


def test_unknown_hints_raise() -> None:
    with pytest.raises(ValueError, match="unknown generator hint 'shoe_size'"):
        value_fn(col("X", "int", gen="shoe_size"), today=START, index={})
    broken = table("MOLO", "Broken", [col("Id", "int"), col("To", "date", gen="after:Nowhere")], pk="Id")
    with pytest.raises(ValueError, match="Nowhere"):
        next(generate([tiny_system(broken)], start=START, days=1))


HINT_TYPES = dict.fromkeys(
    ("length_ft", "beam_ft", "draft_ft", "money", "small_money", "rate", "pct", "qty"), "dec(9,2)"
)
HINT_TYPES.update(dict.fromkeys(("year", "count", "line_no"), "int"))


@pytest.mark.parametrize("hint", sorted(HINTS))
def test_each_hint_makes_values_of_its_column_type(hint: str) -> None:
    rng = random.Random(1)
    spec = HINT_TYPES.get(hint, "ts" if hint.startswith("ts_") else "date" if "date" in hint else "str(12)")
    column = col("Value", spec, gen=hint)
    values = [value_fn(column, today=START, index={})(rng, []) for _ in range(300)]
    assert all(v is not None and _fits(column, v) for v in values), (hint, values[:5])
    if hint == "date_recent":
        assert all(abs((v - START).days) <= 60 for v in values)
    if hint == "date_past":
        assert all(365 <= (START - v).days <= 3 * 365 for v in values)
    if hint == "ts_recent":
        assert all(0 <= (datetime(2025, 11, 17) - v).total_seconds() <= 30 * 86400 for v in values)


def test_notes_carry_every_hard_string_and_not_null_columns_never_get_an_empty_one() -> None:
    rng = random.Random(3)
    notes = {value_fn(col("Note", "text", gen="note"), today=START, index={})(rng, []) for _ in range(3000)}
    assert set(HARD_STRINGS) <= notes
    assert {"", "NULL", "line one\nline two", "windows line\r\nsecond line"} <= notes
    required = value_fn(col("Note", "str(40)", gen="note", nullable=False), today=START, index={})
    assert all(required(rng, []) != "" for _ in range(3000))
    short = value_fn(col("Note", "str(5)", gen="note"), today=START, index={})
    assert all(len(short(rng, [])) <= 5 for _ in range(500))


def test_name_heuristics_pick_sensible_values() -> None:
    rng = random.Random(5)

    def sample(column: Column) -> list[Any]:
        fn = value_fn(column, today=START, index={})
        return [fn(rng, []) for _ in range(200)]

    assert all("@" in v for v in sample(col("ContactEmail", "str(100)")))
    assert sum(sample(col("IsActive", "bool"))) > 150
    assert sum(sample(col("IsInactive", "bool"))) < 50
    assert all(v.startswith("America/") for v in sample(col("TimeZone", "str(40)")))
