"""PostgreSQL: the load classifies a date's keys against the DW, and the merge uses that delta
only while the DW table is unchanged since (`pg_load_classify`, `dw_versions`).

`load_classify_min_rows = 1` takes the path with tables of a few dozen rows. A table becomes
eligible once its DW table has statistics of at least one row: the first merge analyzes it only
when it inserts over 50 rows (`refresh_statistics`), so every first day here has 60.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import psycopg
import pytest

from marina_assets.parsing.events import Batch, Failed, Finished, ParseEvent, Reset, TableReport
from marina_assets.staging.loader import StagedTable, load_backup
from marina_assets.warehouse.dw_versions import (
    FUNCTION_SQL,
    SEQUENCE_SQL,
    always_sql,
    bump_sql,
    trigger_sql,
)
from marina_assets.warehouse.load_classify import DwIndex
from marina_assets.warehouse.merger import MergeResult, merge_table
from marina_assets.warehouse.postgres_backend import PostgresWarehouse
from marina_assets.warehouse.schema import ensure_schema
from marina_assets_tests.warehouse.support import T, batch_of, dw, partitions

pytestmark = pytest.mark.integration

D0 = date(2025, 11, 1)
DAYS = [D0 + timedelta(i) for i in range(8)]
D1, D2, D3 = DAYS[1], DAYS[2], DAYS[3]
DW = T.dw_name
WAIT = 60  # seconds: a deadline for what must happen, never a measure of anything

Row = tuple[int, str | None, Decimal | None, date | None, bool | None]


def _warehouse(dsn: str, min_rows: int | None) -> PostgresWarehouse:
    wh = PostgresWarehouse(dsn)
    wh.load_classify_min_rows = min_rows
    ensure_schema(wh, [T])
    return wh


@pytest.fixture()
def pg(pg_dsn: str) -> Iterator[PostgresWarehouse]:
    wh = _warehouse(pg_dsn, 1)
    yield wh
    wh.close()


def _row(i: int, name: str | None = "n", price: int | str | None = "own", active: bool | None = True) -> Row:
    """Row `i`: NAME `<name><i>`, PRICE `i` unless given (None: NULL)."""
    amount = Decimal(i) if price == "own" else None if price is None else Decimal(price)
    return (i, None if name is None else f"{name}{i}", amount, D0, active)


BASE = [_row(i) for i in range(1, 61)]


def _events(rows: list[Row], batches: int) -> Iterator[ParseEvent]:
    size = max(1, -(-len(rows) // batches))
    for start in range(0, len(rows), size):
        yield Batch(T, batch_of(T, rows[start : start + size], first_line=start + 2))
    yield Finished(T, TableReport("Widgets.csv", rows_read=len(rows)))


def _stage(wh: PostgresWarehouse, day: date, rows: list[Row], batches: int = 3) -> StagedTable:
    """Stage `rows` in several batches (the classify sees each batch on its own)."""
    out = load_backup(wh, tables=[T], backup_date=day, run_id=f"run-{day}", events=_events(rows, batches))
    assert out[T.stg_name].status == "loaded", out[T.stg_name].message
    return out[T.stg_name]


def _counts(r: MergeResult) -> tuple[int, int, int, int]:
    return (r.inserted, r.updated, r.deleted, r.revived)


def _version(wh: PostgresWarehouse) -> int:
    return int(
        wh.fetchall("SELECT VERSION FROM MARINA_DW_VERSIONS WHERE TABLE_NAME = %(t)s", {"t": DW})[0][0]
    )


def _registry(wh: PostgresWarehouse) -> list[tuple]:
    """MARINA_PRECLASSIFIED: (partition, DW version, snapshot keys, delta rows), by partition."""
    return wh.fetchall(
        "SELECT PARTITION_NAME, DW_VERSION, SNAPSHOT_KEYS, DELTA_ROWS FROM MARINA_PRECLASSIFIED "
        "WHERE TABLE_NAME = %(t)s ORDER BY 1",
        {"t": DW},
    )


def _delta_tables(wh: PostgresWarehouse) -> list[str]:
    return [
        r[0]
        for r in wh.fetchall(
            "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
            "AND relname LIKE 'stg\\_molo\\_widgets\\_%\\_pc' ORDER BY 1"
        )
    ]


def _partition_of(wh: PostgresWarehouse, day: date) -> str:
    names = [p for p in partitions(wh) if p.startswith(f"stg_molo_widgets_{day:%Y%m%d}_")]
    assert len(names) == 1, names
    return names[0]


def _start(wh: PostgresWarehouse, rows: list[Row] = BASE) -> None:
    """D0 staged and merged: the DW table has statistics, later loads classify."""
    _stage(wh, D0, rows)
    r = merge_table(wh, T, D0, "r0")
    assert (_counts(r), r.classified_at_load) == ((len(rows), 0, 0, 0), False)
    assert wh.fetchall("SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(t)s)", {"t": DW}) == [
        (float(len(rows)),)
    ]


class _Model:
    """The merge rules on a dict: key -> (values, deleted, deleted date, changed date)."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple] = {}

    def merge(self, day: date, snapshot: list[Row]) -> tuple[int, int, int, int]:
        new = {r[0]: r[1:] for r in snapshot}
        i = u = d = rv = 0
        for k, values in new.items():
            old = self.rows.get(k)
            if old is None:
                i += 1
            elif old[1]:
                rv += 1
            elif old[0] != values:
                u += 1
            else:
                continue
            self.rows[k] = (values, 0, None, day)
        for k, (values, deleted, _, _) in list(self.rows.items()):
            if not deleted and k not in new:
                d += 1
                self.rows[k] = (values, 1, day, day)
        return i, u, d, rv

    def dw(self) -> dict[int, tuple]:
        return {k: (*v, deleted, gone, changed) for k, (v, deleted, gone, changed) in self.rows.items()}


def _days() -> list[list[Row]]:
    """Inserts, updates, value <-> NULL flips, deletes, revivals and an unchanged day."""
    d1 = [_row(1, "c"), _row(2, price=200), _row(3, None), _row(4, active=None)]
    d1 += [r for r in BASE[4:] if r[0] not in (5, 6)] + [_row(61), _row(62, None, active=None)]
    d3 = [r for r in d1 if r[0] not in (7, 8)] + [_row(5), _row(6, "back"), _row(8, price=0)]
    d4 = [_row(3, "again") if r[0] == 3 else _row(4, None, None, None) if r[0] == 4 else r for r in d3]
    d4 = [r for r in d4 if r[0] != 61] + [_row(63), _row(-1, "neg")]
    d5 = [_row(61, "revived") if r[0] == -1 else _row(4) if r[0] == 4 else r for r in d4] + [_row(-1, "neg")]
    d6 = [_row(r[0], r[1] and r[1] + "x") if 10 <= r[0] < 25 else r for r in d5]
    return [BASE, d1, d1, d3, d4, d5, d6]


def test_merges_from_the_load_equal_merges_that_classify(pg_dsn: str, other_pg_dsn: str) -> None:
    fast, slow = _warehouse(pg_dsn, 1), _warehouse(other_pg_dsn, None)
    fast.streams.count = slow.streams.count = 2  # the batches take turns, whatever the environment says
    model = _Model()
    try:
        for i, (day, rows) in enumerate(zip(DAYS, _days(), strict=False)):
            expected = model.merge(day, rows)
            results = []
            for wh in (fast, slow):
                _stage(wh, day, rows)
                results.append(merge_table(wh, T, day, f"r{i}"))
            a, b = results
            assert _counts(a) == _counts(b) == expected, day
            assert a.status == b.status == "merged" and a.counts() == b.counts(), day
            assert a.classified_at_load is (i > 0), day
            assert b.classified_at_load is False, day
            assert dw(fast) == dw(slow) == model.dw(), day
        assert _registry(slow) == [] and _delta_tables(slow) == []
        assert len(_registry(fast)) == len(_days()) - 1  # D0's load had no DW to classify against
    finally:
        fast.close()
        slow.close()


def test_the_delta_table_holds_the_actions_and_the_registry_its_version(pg: PostgresWarehouse) -> None:
    _start(pg)
    version = _version(pg)
    rows = [_row(1, "c"), _row(3, None), *BASE[3:], _row(61), _row(62)]  # 2 gone; 1, 3 changed
    _stage(pg, D1, rows)
    part = _partition_of(pg, D1)
    assert _registry(pg) == [(part, version, 61, 5)]
    assert _delta_tables(pg) == [f"{part}_pc"]
    # part of its STG table, like the partition: not a table of its own to ensure_schema or deploy
    assert not {f"{part}_pc".upper(), part.upper()} & set(pg.existing_columns())
    got = pg.fetchall(f"SELECT ACTION_, ID, NAME FROM {part}_pc ORDER BY ID")
    assert got == [("U", 1, "c1"), ("D", 2, None), ("U", 3, None), ("I", 61, "n61"), ("I", 62, "n62")]
    r = merge_table(pg, T, D1, "r1")
    assert r.classified_at_load and _counts(r) == (2, 2, 1, 0)
    assert dw(pg)[1][0] == "c1" and dw(pg)[2][4] == 1 and dw(pg)[3][0] is None


def test_the_version_changes_with_each_writing_statement(pg: PostgresWarehouse, pg_dsn: str) -> None:
    seen = [_version(pg)]  # set by ensure_schema, before any write
    columns = "ID, NAME, IS_DELETED, ROW_HASH, CHANGED_BACKUP_DATE, INSERTED_DATE, UPDATED_DATE"
    insert = (
        f"INSERT INTO {DW} ({columns}) VALUES (1, 'a', 0, 1, DATE '2025-11-01', now(), now()), "
        "(2, 'b', 0, 2, DATE '2025-11-01', now(), now())"
    )
    with psycopg.connect(pg_dsn, autocommit=True) as other:
        steps = [
            insert,  # two rows, one statement
            f"UPDATE {DW} SET NAME = 'x'",
            f"DELETE FROM {DW} WHERE ID = 1",
            f"TRUNCATE {DW}",
            f"UPDATE {DW} SET NAME = 'y' WHERE ID = 42",  # no row: still a writing statement
        ]
        for statement in steps:
            other.execute(statement)
            seen.append(_version(pg))
            assert seen[-1] > seen[-2], statement
        with other.transaction():  # rolled back: so is its bump
            other.execute(f"DELETE FROM {DW}")
            bumped = other.execute("SELECT VERSION FROM MARINA_DW_VERSIONS WHERE TABLE_NAME = %s", (DW,))
            assert bumped.fetchone()[0] > seen[-1]  # type: ignore[index]
            raise psycopg.Rollback()
        assert _version(pg) == seen[-1]
        # a writer whose search_path does not name the warehouse's schema bumps it as well
        other.execute("SET search_path = pg_catalog")
        other.execute(f"DELETE FROM public.{DW}")
        seen.append(_version(pg))
        assert seen[-1] > seen[-2]
        # a version row deleted by hand comes back with a value never given before
        other.execute("DELETE FROM public.MARINA_DW_VERSIONS")
        other.execute(f"DELETE FROM public.{DW}")
        assert _version(pg) > max(seen)
    assert pg.fetchall("SELECT TABLE_NAME FROM MARINA_DW_VERSIONS") == [(DW,)]


@pytest.mark.parametrize(
    ("change", "counts", "row"),
    [
        # a fix by hand that also clears the hash: a fresh classify compares row 1 and restores it
        (f"UPDATE {DW} SET NAME = 'x', ROW_HASH = NULL WHERE ID = 1", (1, 1, 0, 0), (1, "n1")),
        (f"DELETE FROM {DW} WHERE ID = 2", (2, 0, 0, 0), (2, "n2")),  # gone by hand: inserted again
        (f"UPDATE {DW} SET IS_DELETED = 1 WHERE ID = 3", (1, 0, 0, 1), (3, "n3")),  # revived
    ],
    ids=["update", "delete", "soft-delete"],
)
def test_a_dw_changed_since_the_load_is_classified_again(
    pg: PostgresWarehouse, pg_dsn: str, change: str, counts: tuple, row: tuple
) -> None:
    _start(pg)
    _stage(pg, D1, [*BASE, _row(61)])
    (registered,) = _registry(pg)
    with psycopg.connect(pg_dsn, autocommit=True) as other:
        other.execute(change)
    assert _version(pg) == registered[1] + 1
    r = merge_table(pg, T, D1, "r1")
    assert not r.classified_at_load
    assert _counts(r) == counts
    key, name = row
    assert dw(pg)[key][0] == name and dw(pg)[key][4] == 0
    assert sorted(dw(pg)) == list(range(1, 62))


def test_dates_merged_out_of_load_order_classify_again(pg: PostgresWarehouse) -> None:
    _start(pg)
    # D1: 1 changed, 5 gone, 61 new. D2, classified before D1's merge: 5 unchanged and 61 absent,
    # as D0 had them; against D1's DW, 5 is revived and 61 deleted
    _stage(pg, D1, [_row(1, "c"), *[r for r in BASE[1:] if r[0] != 5], _row(61)])
    _stage(pg, D2, [_row(1, "c"), _row(2, "c"), *BASE[2:]])
    assert {r[1] for r in _registry(pg)} == {_version(pg)}
    r1 = merge_table(pg, T, D1, "r1")
    assert r1.classified_at_load and _counts(r1) == (1, 1, 1, 0)
    r2 = merge_table(pg, T, D2, "r2")
    assert not r2.classified_at_load and _counts(r2) == (0, 1, 1, 1)
    rows = dw(pg)
    assert [rows[k][0] for k in (1, 2, 5, 61)] == ["c1", "c2", "n5", "n61"]
    assert [rows[k][4:] for k in (1, 2, 5, 61)] == [(0, None, D1), (0, None, D2), (0, None, D2), (1, D2, D2)]


def test_the_delta_lives_and_goes_with_its_partition(pg: PostgresWarehouse) -> None:
    _start(pg)
    assert _registry(pg) == [] and _delta_tables(pg) == []
    _stage(pg, D1, BASE[1:])
    first = _partition_of(pg, D1)
    assert [r[0] for r in _registry(pg)] == [first] and _delta_tables(pg) == [f"{first}_pc"]

    _stage(pg, D1, BASE[2:])  # the date loaded again: its old partition and delta go
    second = _partition_of(pg, D1)
    assert second != first
    assert _registry(pg) == [(second, _version(pg), 58, 2)]
    assert _delta_tables(pg) == [f"{second}_pc"]
    assert pg.fetchall(f"SELECT ACTION_, ID FROM {second}_pc ORDER BY ID") == [("D", 1), ("D", 2)]

    _stage(pg, D2, BASE)
    third = _partition_of(pg, D2)
    assert [r[0] for r in _registry(pg)] == sorted([second, third])

    # a load that fails leaves the date as it was: no partition, no delta of its own
    events = [Batch(T, batch_of(T, BASE[:10])), Failed(T, "member is corrupt")]
    out = load_backup(pg, tables=[T], backup_date=D3, run_id="bad", events=iter(events))
    assert out[T.stg_name].status == "failed"
    events = [Batch(T, batch_of(T, BASE[:10])), Failed(T, "member is corrupt")]
    out = load_backup(pg, tables=[T], backup_date=D2, run_id="bad-again", events=iter(events))
    assert out[T.stg_name].status == "failed"
    assert _partition_of(pg, D2) == third  # the date's previous load stays, and its delta
    assert [r[0] for r in _registry(pg)] == sorted([second, third])
    assert _delta_tables(pg) == sorted([f"{second}_pc", f"{third}_pc"])
    assert not [p for p in partitions(pg) if "20251104" in p]

    removed = pg.staging_store().prune(T, D2)  # D0 and D1 go
    assert removed == 60 + 58
    assert [r[0] for r in _registry(pg)] == [third] and _delta_tables(pg) == [f"{third}_pc"]
    pg.staging_store().prune(T, D3)
    assert _registry(pg) == [] and _delta_tables(pg) == []


def test_a_repeated_key_leaves_the_classify_and_the_dedupe_to_the_merge(pg: PostgresWarehouse) -> None:
    _start(pg)
    # line 2: key 1 "first"; key 1 again on line 62 ("last"), in another batch
    staged = _stage(pg, D1, [_row(1, "first"), *BASE[1:], _row(1, "last")])
    assert staged.distinct_keys is None
    assert _registry(pg) == [] and _delta_tables(pg) == []
    r = merge_table(pg, T, D1, "r1")
    assert not r.classified_at_load
    assert (r.duplicates, _counts(r), r.snapshot_rows) == (1, (0, 1, 0, 0), 60)
    assert dw(pg)[1][0] == "last1"
    assert pg.fetchall("SELECT LINE_NUMBER, REASON FROM MARINA_REJECTS") == [
        (2, "duplicate key in the snapshot: line 2 superseded by line 62")
    ]


def test_a_parser_reset_forgets_the_first_pass(pg: PostgresWarehouse) -> None:
    _start(pg)
    wrong = [_row(1, "wrong"), _row(99)]  # read before the parser started the member again
    right = [_row(2, "c"), *BASE[2:], _row(61)]  # 1 is gone, 2 changed, 61 new
    events = [
        Batch(T, batch_of(T, wrong)),
        Reset(T),
        *[Batch(T, batch_of(T, right[k : k + 20], k + 2)) for k in range(0, len(right), 20)],
        Finished(T, TableReport("Widgets.csv", rows_read=len(right))),
    ]
    out = load_backup(pg, tables=[T], backup_date=D1, run_id="r", events=iter(events))
    assert out[T.stg_name].status == "loaded"
    part = _partition_of(pg, D1)
    assert pg.fetchall(f"SELECT ACTION_, ID FROM {part}_pc ORDER BY ID") == [("D", 1), ("U", 2), ("I", 61)]
    r = merge_table(pg, T, D1, "r1")
    assert r.classified_at_load and _counts(r) == (1, 1, 1, 0)
    assert 99 not in dw(pg) and dw(pg)[1][4] == 1


def test_rows_without_a_hash_are_compared_once(pg: PostgresWarehouse) -> None:
    """DW rows merged before the row hash existed: the load marks every one U, the merge's
    column-by-column check drops the equal ones and stores their hash."""
    extremes = [
        _row(2**62, price=1),
        _row(-(2**62), price=1),
        _row(-(2**63), price=1),
        _row(2**63 - 1, price=1),
    ]
    _start(pg, BASE + extremes)
    pg.execute(f"UPDATE {DW} SET ROW_HASH = NULL WHERE ID <> 10")
    _stage(pg, D1, [_row(1, "c"), *BASE[1:], *extremes])
    part = _partition_of(pg, D1)
    assert pg.fetchall(f"SELECT ACTION_, COUNT(*) FROM {part}_pc GROUP BY 1") == [("U", 63)]
    r = merge_table(pg, T, D1, "r1")
    assert r.classified_at_load and _counts(r) == (0, 1, 0, 0)
    assert pg.fetchall(f"SELECT COUNT(*) FROM {DW} WHERE ROW_HASH IS NULL") == [(0,)]
    assert dw(pg)[1][0] == "c1" and dw(pg)[2**63 - 1][0] == f"n{2**63 - 1}"


def test_an_emptied_dw_table_is_classified_as_all_new(pg: PostgresWarehouse) -> None:
    _start(pg)
    # DELETE keeps the statistics (60 rows; TRUNCATE would reset them): the load fetches no key at
    # all. Autovacuum must not analyze the table meanwhile.
    pg.execute(f"ALTER TABLE {DW} SET (autovacuum_enabled = false)")
    pg.execute(f"DELETE FROM {DW}")
    _stage(pg, D1, BASE)
    (registered,) = _registry(pg)
    assert registered[1:] == (_version(pg), 60, 60)
    r = merge_table(pg, T, D1, "r1")
    assert r.classified_at_load and _counts(r) == (60, 0, 0, 0)
    assert dw(pg) == {k: (*v[1:], 0, None, D1) for k, v in ((r[0], r) for r in BASE)}


def test_an_empty_snapshot_holds_its_deletes_either_way(pg: PostgresWarehouse) -> None:
    _start(pg)
    _stage(pg, D1, [])
    (registered,) = _registry(pg)
    assert registered[2:] == (0, 60)  # no key, 60 D rows
    before = dw(pg)
    r = merge_table(pg, T, D1, "r1")
    assert r.classified_at_load and (r.deleted, r.deletes_held, r.live_rows) == (0, 60, 60)
    assert "looks empty or truncated" in r.message
    assert dw(pg) == before


def test_a_null_key_leaves_the_classify_to_the_merge(pg_dsn: str, other_pg_dsn: str) -> None:
    rows = [*BASE[1:], (None, "nokey", Decimal(1), D0, True)]
    outcomes = []
    for dsn, min_rows in ((pg_dsn, 1), (other_pg_dsn, None)):
        wh = _warehouse(dsn, min_rows)
        try:
            _start(wh)
            _stage(wh, D1, rows)  # type: ignore[arg-type]
            assert _registry(wh) == [] and _delta_tables(wh) == []
            try:
                r = merge_table(wh, T, D1, "r1")
                outcomes.append((r.classified_at_load, r.counts(), dw(wh)))
            except Exception as e:  # whatever the merge does with it, the same with and without
                outcomes.append((type(e).__name__, str(e).split("\n")[0]))
        finally:
            wh.close()
    assert outcomes[0] == outcomes[1]


def test_a_dropped_trigger_means_no_delta(pg: PostgresWarehouse) -> None:
    _start(pg)
    _stage(pg, D1, [_row(1, "c"), *BASE[1:]])
    assert len(_registry(pg)) == 1
    pg.execute(f"DROP TRIGGER {DW}_VERSION ON {DW}")
    r = merge_table(pg, T, D1, "r1")
    assert not r.classified_at_load and _counts(r) == (0, 1, 0, 0)
    assert dw(pg)[1][0] == "c1"
    _stage(pg, D2, [_row(1, "c"), *BASE[1:], _row(61)])  # without the trigger the load does not classify
    assert [r[0] for r in _registry(pg)] == [_partition_of(pg, D1)]
    r = merge_table(pg, T, D2, "r2")
    assert not r.classified_at_load and _counts(r) == (1, 0, 0, 0)


def test_a_disabled_trigger_means_no_delta(pg: PostgresWarehouse) -> None:
    _start(pg)
    _stage(pg, D1, [_row(1, "c"), *BASE[1:]])
    pg.execute(f"ALTER TABLE {DW} DISABLE TRIGGER {DW}_VERSION")
    r = merge_table(pg, T, D1, "r1")
    assert not r.classified_at_load and _counts(r) == (0, 1, 0, 0)


def test_ensure_schema_creates_the_trigger_once(pg_dsn: str) -> None:
    wh = PostgresWarehouse(pg_dsn)
    try:
        ran = ensure_schema(wh, [T])
        for statement in (SEQUENCE_SQL, FUNCTION_SQL, trigger_sql(T), always_sql(T), bump_sql(T)):
            assert ran.count(statement) == 1, statement
        assert ensure_schema(wh, [T]) == []
        triggers = wh.fetchall(
            "SELECT t.tgname, p.proname, t.tgenabled, t.tgtype FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE t.tgrelid = to_regclass(%(t)s) AND NOT t.tgisinternal",
            {"t": DW},
        )
        # tgtype: 0 = statement level; AFTER; INSERT (4) | DELETE (8) | UPDATE (16) | TRUNCATE (32)
        # "A": fires always, under session_replication_role = replica too
        assert triggers == [(f"{DW.lower()}_version", "marina_bump_dw_version", "A", 4 | 8 | 16 | 32)]
        assert _version(wh) == 1  # the sequence's first value
    finally:
        wh.close()


def test_a_writer_still_in_its_transaction_is_waited_for(pg: PostgresWarehouse, pg_dsn: str) -> None:
    """Another session changed the DW table and has not committed: the merge waits for it on the
    version row, then sees the bump and classifies against the committed rows."""
    _start(pg)
    _stage(pg, D1, [*BASE, _row(61)])
    assert len(_registry(pg)) == 1
    merge_pid = pg.con.info.backend_pid
    writer = psycopg.connect(pg_dsn)  # a transaction opens with the first statement
    outcome: dict[str, object] = {}

    def merge() -> None:
        try:
            outcome["result"] = merge_table(pg, T, D1, "r1")
        except BaseException as e:  # reported by the assertions below
            outcome["error"] = e

    try:
        writer.execute(f"UPDATE {DW} SET NAME = 'x', ROW_HASH = NULL WHERE ID = 1")
        thread = threading.Thread(target=merge, daemon=True)
        thread.start()
        waiting = None
        with psycopg.connect(pg_dsn, autocommit=True) as watcher:
            deadline = time.monotonic() + WAIT
            while waiting is None and thread.is_alive() and time.monotonic() < deadline:
                waiting = watcher.execute(
                    "SELECT query FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                    (merge_pid,),
                ).fetchone()
                time.sleep(0.01)
        assert waiting is not None, f"the merge never waited for a lock: {outcome}"
        assert "MARINA_DW_VERSIONS" in waiting[0] and "FOR UPDATE" in waiting[0]
        writer.commit()
        thread.join(WAIT)
        assert not thread.is_alive()
    finally:
        writer.close()
    assert "error" not in outcome, outcome
    r = outcome["result"]
    assert isinstance(r, MergeResult)
    assert not r.classified_at_load and _counts(r) == (1, 1, 0, 0)
    assert dw(pg)[1][0] == "n1"


# --- ways the DW can change without a writing statement's bump: each must still invalidate ----


def test_writes_while_the_trigger_was_missing_invalidate_the_delta(pg: PostgresWarehouse) -> None:
    _start(pg)
    _stage(pg, D1, [*BASE, _row(61)])
    pg.execute(f"DROP TRIGGER {DW}_VERSION ON {DW}")
    pg.execute(f"UPDATE {DW} SET NAME = 'x', ROW_HASH = NULL WHERE ID = 1")  # no bump: no trigger
    ensure_schema(pg, [T])  # the next run of any asset puts the trigger back
    r = merge_table(pg, T, D1, "r1")
    assert dw(pg)[1][0] == "n1"  # what a fresh classify gives
    assert not r.classified_at_load and _counts(r) == (1, 1, 0, 0)


def test_a_recreated_dw_table_invalidates_the_delta(pg: PostgresWarehouse) -> None:
    _start(pg)
    _stage(pg, D1, BASE)  # an unchanged day: its delta is empty
    pg.execute(f"DROP TABLE {DW}")
    ensure_schema(pg, [T])  # an empty DW table, its trigger, and the version row as it was
    r = merge_table(pg, T, D1, "r1")
    assert len(dw(pg)) == 60  # what a fresh classify gives: every row inserted again
    assert not r.classified_at_load and _counts(r) == (60, 0, 0, 0)


def test_a_write_in_replica_mode_invalidates_the_delta(pg: PostgresWarehouse, pg_dsn: str) -> None:
    _start(pg)
    _stage(pg, D1, [*BASE, _row(61)])
    with psycopg.connect(pg_dsn, autocommit=True) as other:  # e.g. a repair script skipping FK checks
        other.execute("SET session_replication_role = replica")
        other.execute(f"UPDATE {DW} SET NAME = 'x', ROW_HASH = NULL WHERE ID = 1")
    r = merge_table(pg, T, D1, "r1")
    assert dw(pg)[1][0] == "n1"
    assert not r.classified_at_load and _counts(r) == (1, 1, 0, 0)


@pytest.mark.parametrize("where", ["actions", "gone"])
def test_a_classify_that_fails_leaves_the_load_and_the_merge_as_without_it(
    pg: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, where: str
) -> None:
    _start(pg)

    def broken(*_: object) -> None:
        raise MemoryError("no room for the keys")

    monkeypatch.setattr(DwIndex, where, broken)  # during a batch, or at publish
    staged = _stage(pg, D1, [_row(1, "c"), *BASE[2:], _row(61)])
    assert staged.rows_loaded == 60
    assert _registry(pg) == [] and _delta_tables(pg) == []
    assert "classifying DW_MOLO_WIDGETS at load failed (no room for the keys)" in caplog.text
    r = merge_table(pg, T, D1, "r1")
    assert not r.classified_at_load and _counts(r) == (1, 1, 1, 0)
