"""PostgreSQL's classify split by key over helper connections that read the merge's snapshot.

Every merge here goes through the helpers (`readers.min_rows = 0`), tables of a few rows.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from marina_assets.warehouse import merger
from marina_assets.warehouse.dialects import POSTGRES
from marina_assets.warehouse.merge_delta import DELTA, classify_parts, delta_statements
from marina_assets.warehouse.merger import merge_table
from marina_assets.warehouse.postgres_backend import PostgresWarehouse
from marina_assets.warehouse.schema import ensure_schema
from marina_assets_tests.warehouse import test_merge_semantics as semantics
from marina_assets_tests.warehouse.support import T, dw, stage

pytestmark = pytest.mark.integration

D0, D1, D2 = date(2025, 11, 1), date(2025, 11, 2), date(2025, 11, 3)


@pytest.fixture()
def pg(pg_dsn: str) -> Iterator[PostgresWarehouse]:
    wh = PostgresWarehouse(pg_dsn)
    wh.readers.workers, wh.readers.min_rows = 2, 0  # whatever MARINA_POSTGRES_MERGE_WORKERS says
    ensure_schema(wh, [T])
    yield wh
    wh.close()


def _row(i: int, name: str | None = "n") -> tuple:
    return (i, None if name is None else f"{name}{i}", Decimal(i), D0, i % 2 == 0)


def _delta(wh: PostgresWarehouse) -> list[tuple]:
    return sorted(wh.fetchall(f"SELECT * FROM {DELTA}"), key=repr)


def test_the_parts_hold_exactly_the_rows_of_the_one_join(pg: PostgresWarehouse) -> None:
    keys = range(-6, 7)  # negative keys: MOD keeps the sign
    stage(pg, D0, [_row(i) for i in keys])
    merge_table(pg, T, D0, "r0")
    # -6 and 5 deleted, -5 and 4 changed (one to NULL), 7..9 new, the rest unchanged
    rows = [_row(i, "c" if i == -5 else None if i == 4 else "n") for i in keys if i not in (-6, 5)]
    stage(pg, D1, rows + [_row(i) for i in (7, 8, 9)])
    shape, selects = classify_parts(POSTGRES, T, 2) or pytest.fail("the integer key splits")
    d = {"backup_date": D1}
    with pg.transaction():
        pg.execute(delta_statements(POSTGRES, T).classify_staged, d)
        one = _delta(pg)
        pg.execute(f"DROP TABLE {DELTA}")
        assert pg.fill_in_parallel(shape, DELTA, selects, d)
        split = _delta(pg)
    assert pg.readers.runs == 2  # the D0 merge too
    assert split == one
    assert sorted((r[0], r[1]) for r in split) == [
        ("D", -6),
        ("D", 5),
        ("I", 7),
        ("I", 8),
        ("I", 9),
        ("U", -5),
        ("U", 4),
    ]


def test_only_a_single_integer_key_splits() -> None:
    from marina_assets.catalog.model import col, table

    text_key = table("MOLO", "Codes", [col("Code", "str(10)"), col("Name", "str(10)")], pk="Code")
    pair = table("MOLO", "Pairs", [col("A", "int"), col("B", "int"), col("V", "int")], pk=("A", "B"))
    assert classify_parts(POSTGRES, text_key, 2) is None
    assert classify_parts(POSTGRES, pair, 2) is None
    assert classify_parts(POSTGRES, T, 1) is None
    shape, selects = classify_parts(POSTGRES, T, 3) or pytest.fail("3 parts")
    assert [s.count("MOD(ID, 3) IN") for s in selects] == [2, 2, 2]  # the STG side and the DW side
    assert "IN (0, -3) OR ID IS NULL" in selects[0] and "IN (2, -1)" in selects[2]
    assert shape.endswith("LIMIT 0")


def _semantics_cases() -> list[Callable[..., None]]:
    """The merge-semantics tests that take just a warehouse: run again, through the helpers."""
    return [
        f
        for name, f in vars(semantics).items()
        if name.startswith("test_") and list(inspect.signature(f).parameters) == ["wh"]
    ]


@pytest.mark.parametrize("case", _semantics_cases(), ids=lambda f: f.__name__[5:])
def test_merge_semantics_hold_through_the_helpers(pg: PostgresWarehouse, case: Callable[..., None]) -> None:
    case(pg)
    merged = pg.fetchall(
        "SELECT COUNT(*) FROM MARINA_LOAD_LOG WHERE LAYER = 'DW' AND STATUS IN ('merged', 'replayed')"
    )[0][0]
    # a snapshot whose keys repeat is deduped into a temp table first: no helper can read that
    deduped_only = case is semantics.test_duplicate_keys_last_line_wins_and_losers_are_rejected
    assert (pg.readers.runs > 0) == (merged > 0 and not deduped_only)


def test_a_replay_classifies_on_its_own_connection(pg: PostgresWarehouse) -> None:
    """A replay empties the DW table in its transaction first: helpers would not see that."""
    for d, rows in ((D1, [_row(1), _row(2)]), (D2, [_row(2), _row(3)])):
        stage(pg, d, rows)
        merge_table(pg, T, d, f"r{d.day}")
    assert pg.readers.runs == 2
    stage(pg, D0, [_row(1, "old"), _row(2, "old")])
    r = merge_table(pg, T, D0, "late")
    assert r.status == "replayed"
    assert pg.readers.runs == 2  # none of the three dates of the replay used them
    assert {k: v[0] for k, v in dw(pg).items()} == {1: "n1", 2: "n2", 3: "n3"}
    assert dw(pg)[1][4] == 1  # deleted on D2, as in order


def test_unreachable_helpers_leave_the_classify_to_the_merge(pg: PostgresWarehouse) -> None:
    pg.readers._dsn = "postgresql://postgres@127.0.0.1:1/none"  # nothing listens on port 1
    stage(pg, D0, [_row(1), _row(2)])
    merge_table(pg, T, D0, "r0")
    stage(pg, D1, [_row(2, "c"), _row(3)])
    r = merge_table(pg, T, D1, "r1")
    assert (r.inserted, r.updated, r.deleted) == (1, 1, 1)
    assert pg.readers.runs == 0 and r.classify_connections == 1  # what the asset's metadata shows


def test_a_failing_helper_query_fails_the_merge_and_keeps_the_dw(
    pg: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    stage(pg, D0, [_row(1)])
    merge_table(pg, T, D0, "r0")
    stage(pg, D1, [_row(1, "c"), _row(2)])
    before = dw(pg)

    def broken(*args: object) -> tuple[str, tuple[str, ...]] | None:
        shape, selects = classify_parts(*args) or pytest.fail("splits")  # type: ignore[arg-type]
        return shape, (selects[0], selects[1].replace("FULL JOIN", "FULL JOIN no_such_table x, "))

    monkeypatch.setattr(merger, "classify_parts", broken)
    with pytest.raises(psycopg.errors.SyntaxError):
        merge_table(pg, T, D1, "r1")
    monkeypatch.undo()
    assert dw(pg) == before
    r = merge_table(pg, T, D1, "r2")  # the helpers were replaced: the next merge uses new ones
    assert (r.inserted, r.updated) == (1, 1) and pg.readers.runs == 2
    assert r.classify_connections == 2


def test_helpers_that_wait_for_a_lock_give_up_and_the_merge_classifies_alone(
    pg: PostgresWarehouse, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session holds the DW table when the helpers start: they give up after their lock
    timeout (a wait behind a request queued on the merge's own locks would never end), and the
    merge classifies on its own connection once the table is free."""
    import threading
    import time

    from marina_assets.warehouse import pg_snapshot_readers
    from marina_assets.warehouse.pg_snapshot_readers import SnapshotReaders

    stage(pg, D0, [_row(1), _row(2)])
    merge_table(pg, T, D0, "r0")
    stage(pg, D1, [_row(2, "c"), _row(3)])
    monkeypatch.setattr(pg_snapshot_readers, "LOCK_TIMEOUT", "100ms")
    copy_out = SnapshotReaders.copy_out
    blocker = psycopg.connect(pg_dsn)
    merge_waits = "SELECT COUNT(*) FROM pg_locks WHERE pid = %s AND relation = %s::regclass AND NOT granted"

    def release_when_the_merge_waits(pid: int) -> None:
        with psycopg.connect(pg_dsn, autocommit=True) as watcher:
            deadline = time.monotonic() + 60
            while not watcher.execute(merge_waits, (pid, T.dw_name.lower())).fetchone()[0]:  # type: ignore[index]
                if time.monotonic() > deadline:
                    break
                time.sleep(0.01)
        blocker.commit()

    def with_the_table_held(self: SnapshotReaders, *args: object) -> list[bytes] | None:
        blocker.execute(f"LOCK TABLE {T.dw_name} IN ACCESS EXCLUSIVE MODE")
        threading.Thread(target=release_when_the_merge_waits, args=(pg.con.info.backend_pid,)).start()
        return copy_out(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(SnapshotReaders, "copy_out", with_the_table_held)
    r = merge_table(pg, T, D1, "r1")
    blocker.close()
    assert (r.inserted, r.updated, r.deleted) == (1, 1, 1)
    assert pg.readers.runs == 1  # the D0 merge only: D1 fell back to the merge's connection


def test_helpers_read_the_merges_snapshot_not_a_later_commit(
    pg: PostgresWarehouse, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another session inserts a DW row and commits after the merge exported its snapshot and
    before the helpers read: they must not see it. The classify then asks to insert a key the
    MERGE finds in the table, and the row-count check fails the merge, which changes nothing."""
    from marina_assets.warehouse.pg_snapshot_readers import SnapshotReaders

    stage(pg, D0, [_row(1), _row(2)])
    merge_table(pg, T, D0, "r0")
    stage(pg, D1, [_row(1), _row(2), _row(3)])
    copy_out = SnapshotReaders.copy_out
    late = (3, "late3", Decimal(7), D0, False, 0, 1, D0)  # values unlike the snapshot's row 3
    insert = (
        f"INSERT INTO {T.dw_name} (ID, NAME, PRICE, SEEN, ACTIVE, IS_DELETED, ROW_HASH, CHANGED_BACKUP_DATE, "
        "INSERTED_DATE, UPDATED_DATE) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, now(), now())"
    )

    def after_a_concurrent_commit(self: SnapshotReaders, *args: object) -> list[bytes] | None:
        with psycopg.connect(pg_dsn, autocommit=True) as other:
            other.execute(insert, late)
        return copy_out(self, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(SnapshotReaders, "copy_out", after_a_concurrent_commit)
    with pytest.raises(RuntimeError, match=r"applied 0 rows where the delta asked for 1 .*'I': 1"):
        merge_table(pg, T, D1, "r1")
    monkeypatch.undo()
    assert pg.readers.runs == 2  # the helpers did read, under the exported snapshot
    rows = dw(pg)
    assert sorted(rows) == [1, 2, 3] and rows[3][0] == "late3"  # the other session's row only
    assert pg.fetchall("SELECT LAST_BACKUP_DATE FROM MARINA_WATERMARKS") == [(D0,)]
