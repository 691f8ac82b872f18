"""PostgreSQL STG through several COPY streams: a date's partition per load, one leaf per stream.

Small tables loaded as several 2-row batches: the batches take turns between the streams, so
every test below goes through the helper connection of `pg_streams` (stream 1).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

import psycopg
import pytest

from marina_assets.automation.housekeeping import prune_staging
from marina_assets.catalog.model import Table, col, table
from marina_assets.parsing.events import BackupError, Batch, Failed, Finished, ParseEvent, Reset, TableReport
from marina_assets.staging.loader import StagedTable, load_backup
from marina_assets.warehouse import pg_partitions
from marina_assets.warehouse.merger import merge_table
from marina_assets.warehouse.pg_partitions import PartitionStore
from marina_assets.warehouse.pg_streams import stream_lock
from marina_assets.warehouse.postgres_backend import PostgresWarehouse
from marina_assets.warehouse.schema import ensure_schema
from marina_assets_tests.warehouse.support import T, batch_of, dw, partitions

pytestmark = pytest.mark.integration

G = table("MOLO", "Gadgets", [col("Id", "int"), col("Name", "str(20)")], pk="Id")
D1, D2 = date(2025, 11, 1), date(2025, 11, 2)
ROOT = Path(__file__).resolve().parents[2]


def rows_of(tbl: Table, b: int, tag: str) -> list[tuple]:
    """Batch `b`'s two rows: ids 10b and 10b+1, values that tell the batch and the load apart."""
    if tbl is G:
        return [(10 * b + k, f"{tag}{b}.{k}") for k in range(2)]
    return [
        (10 * b + k, f"{tag}{b}.{k}", Decimal(f"{b}.{k}5"), date(2025, 1, 1 + b), k == 0) for k in range(2)
    ]


def batches(tbl: Table, n: int, tag: str) -> list[ParseEvent]:
    return [Batch(tbl, batch_of(tbl, rows_of(tbl, b, tag), first_line=2 + 2 * b)) for b in range(n)]


def finished(tbl: Table, n: int) -> Finished:
    return Finished(tbl, TableReport(f"{tbl.source}.csv", rows_read=2 * n))


def load(
    wh: PostgresWarehouse, day: date, run: str, n: int = 5, tag: str = "n", tbl: Table = T
) -> StagedTable:
    events = [*batches(tbl, n, tag), finished(tbl, n)]
    return load_backup(wh, tables=[tbl], backup_date=day, run_id=run, events=events)[tbl.stg_name]


def staged(wh: PostgresWarehouse, day: date, tbl: Table = T) -> list[tuple]:
    return wh.fetchall(
        f"SELECT ID, NAME, LOAD_RUN_ID FROM {tbl.stg_name} WHERE BACKUP_DATE = %(d)s ORDER BY 1", {"d": day}
    )


def expected(n: int, tag: str, run: str, tbl: Table = T) -> list[tuple]:
    return [(r[0], r[1], run) for b in range(n) for r in rows_of(tbl, b, tag)]


def relkind(wh: PostgresWarehouse, name: str) -> str:
    return wh.fetchall("SELECT relkind FROM pg_class WHERE oid = to_regclass(%(n)s)", {"n": name})[0][0]


def stray(wh: PostgresWarehouse, stg: str = "stg_molo_widgets") -> list[str]:
    """Tables named like the STG table's partitions or stream tables that nothing holds."""
    rows = wh.fetchall(
        "SELECT relname FROM pg_class WHERE relkind IN ('r', 'p') AND NOT relispartition "
        "AND relname LIKE %(p)s ORDER BY 1",
        {"p": stg.replace("_", r"\_") + r"\_%"},
    )
    return [r[0] for r in rows]


def named_like(wh: PostgresWarehouse, prefix: str) -> list[str]:
    """Every relation whose name starts with `prefix` (a partition's leaves start with its name)."""
    rows = wh.fetchall(
        "SELECT relname FROM pg_class WHERE strpos(relname, %(p)s) = 1 ORDER BY 1", {"p": prefix}
    )
    return [r[0] for r in rows]


def spy_streams(wh: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stream tables the warehouse's helpers create, in order."""
    names: list[str] = []
    real = wh.streams.create

    def create(stream: int, name: str, token: int, statements: list) -> None:
        names.append(name)
        real(stream, name, token, statements)

    monkeypatch.setattr(wh.streams, "create", create)
    return names


def need_visibility(wh: PostgresWarehouse) -> None:
    try:
        wh.execute("CREATE EXTENSION IF NOT EXISTS pg_visibility")
    except psycopg.Error as e:
        pytest.skip(f"pg_visibility is not installed with this server: {e}")


def all_frozen(wh: PostgresWarehouse, name: str) -> bool:
    """Every page all-visible and all-frozen: the rows were COPYed with FREEZE."""
    flags = wh.fetchall("SELECT all_visible, all_frozen FROM pg_visibility_map(%(t)s::regclass)", {"t": name})
    return bool(flags) and all(v and f for v, f in flags)


@pytest.fixture()
def pg(pg_dsn: str) -> Iterator[PostgresWarehouse]:
    wh = PostgresWarehouse(pg_dsn)
    wh.streams.count = 2  # whatever MARINA_POSTGRES_COPY_STREAMS says
    ensure_schema(wh, [T, G])
    yield wh
    wh.close()


def test_batches_alternate_between_two_frozen_leaves_attached_without_a_scan(
    pg: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_visibility(pg)
    notices: list[str] = []
    pg.con.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
    real = PartitionStore.publish

    def publish(self: PartitionStore, tbl: Table, day: date, run: str) -> None:
        notices.append("<publish>")  # the empty tables' checks at creation come before: not scans
        real(self, tbl, day, run)

    monkeypatch.setattr(PartitionStore, "publish", publish)
    pg.execute("SET client_min_messages = debug1")
    out = load(pg, D1, "r1")
    pg.execute("RESET client_min_messages")

    assert out.rows_loaded == 10 and out.status == "loaded"
    (part,) = partitions(pg)
    assert re.fullmatch(r"stg_molo_widgets_20251101_[0-9a-f]{8}", part) and relkind(pg, part) == "p"
    assert pg.fetchall("SELECT pg_get_partkeydef(%(t)s::regclass)", {"t": part}) == [("LIST (load_stream)",)]
    leaves = partitions(pg, part)
    assert leaves == [f"{part}_s0", f"{part}_s1"]
    bounds = pg.fetchall(
        "SELECT relname, pg_get_expr(relpartbound, oid) FROM pg_class WHERE relname = ANY(%(n)s) ORDER BY 1",
        {"n": leaves},
    )
    # (LOAD_STREAM is a BIGINT: PostgreSQL shows its bounds quoted)
    assert bounds == [(leaves[0], "FOR VALUES IN ('0')"), (leaves[1], "FOR VALUES IN ('1')")]

    rows = pg.fetchall(
        "SELECT ID, NAME, PRICE, SEEN, ACTIVE, SOURCE_LINE, LOAD_STREAM, LOAD_RUN_ID, BACKUP_DATE, "
        "LOADED_AT IS NOT NULL FROM STG_MOLO_WIDGETS ORDER BY ID"
    )
    want = [
        (*r, 2 + 2 * b + k, b % 2, "r1", D1, True) for b in range(5) for k, r in enumerate(rows_of(T, b, "n"))
    ]
    assert rows == want
    per_leaf = pg.fetchall(
        "SELECT tableoid::regclass::text, array_agg(ID ORDER BY ID) FROM STG_MOLO_WIDGETS "
        "GROUP BY 1 ORDER BY 1"
    )
    assert per_leaf == [(leaves[0], [0, 1, 20, 21, 40, 41]), (leaves[1], [10, 11, 30, 31])]
    # both leaves were COPYed with FREEZE, the helper's in its own transaction too
    assert all_frozen(pg, leaves[0]) and all_frozen(pg, leaves[1])
    # each ATTACH (leaf into the date's partition, partition into STG) was proved by constraints
    published = notices[notices.index("<publish>") :]
    for leaf in leaves:
        implied = f'partition constraint for table "{leaf}" is implied by existing constraints'
        assert published.count(implied) == 2, published
    assert not [n for n in published if n.startswith(("verifying table", "rewriting table"))], published


def test_reloading_a_date_swaps_the_partition_and_its_leaves(pg: PostgresWarehouse) -> None:
    load(pg, D1, "r1")
    load(pg, D2, "r2")
    (old, other) = partitions(pg)
    assert len(named_like(pg, old)) == 3  # the partition and its two leaves
    out = load(pg, D1, "r3", n=4, tag="new")
    assert out.rows_loaded == 8
    assert named_like(pg, old) == []
    (new,) = [p for p in partitions(pg) if p != other]
    assert new.startswith("stg_molo_widgets_20251101_") and new != old
    assert partitions(pg, new) == [f"{new}_s0", f"{new}_s1"]
    assert staged(pg, D1) == expected(4, "new", "r3")
    assert staged(pg, D2) == expected(5, "n", "r2")
    assert stray(pg) == []


def test_a_failed_table_keeps_the_date_and_leaves_no_stream_table(
    pg: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(pg, D1, "r1")
    before = partitions(pg)
    created = spy_streams(pg, monkeypatch)
    events = [*batches(T, 5, "bad"), Failed(T, "Widgets.csv: truncated")]
    out = load_backup(pg, tables=[T], backup_date=D1, run_id="r2", events=events)[T.stg_name]
    assert (out.status, out.rows_loaded) == ("failed", 0)
    assert len(created) == 1 and created[0].endswith("_s1")  # the load did use a second stream
    assert partitions(pg) == before
    assert staged(pg, D1) == expected(5, "n", "r1")

    # and a parser that dies mid-table: the transaction rolls back with the helper's table
    def dying() -> Iterator[ParseEvent]:
        yield from batches(T, 4, "dead")
        raise BackupError("Widgets.csv: truncated")

    with pytest.raises(BackupError):
        load_backup(pg, tables=[T], backup_date=D1, run_id="r3", events=dying())
    assert len(created) == 2 and partitions(pg) == before
    assert staged(pg, D1) == expected(5, "n", "r1")
    assert stray(pg) == []
    assert [n for c in created for n in named_like(pg, c[: -len("_s1")])] == []  # nothing of either token


def test_a_table_failing_after_another_was_published_drops_its_committed_stream_table(
    pg: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(pg, D1, "r1", tbl=G)
    created = spy_streams(pg, monkeypatch)
    # WIDGETS is published first: the helper commits GADGETS' stream table with its own
    events = [*batches(T, 3, "x"), *batches(G, 3, "x"), finished(T, 3), Failed(G, "Gadgets.csv: bad")]
    out = load_backup(pg, tables=[T, G], backup_date=D1, run_id="r2", events=events)
    assert [(r.status, r.rows_loaded) for r in out.values()] == [("loaded", 6), ("failed", 0)]
    assert len(created) == 2 and created[1].startswith("stg_molo_gadgets_20251101_")
    assert staged(pg, D1) == expected(3, "x", "r2") and staged(pg, D1, G) == expected(5, "n", "r1", G)
    assert named_like(pg, created[1][: -len("_s1")]) == [] and stray(pg, "stg_molo_gadgets") == []
    (part,) = partitions(pg)
    assert partitions(pg, part) == [f"{part}_s0", f"{part}_s1"] and stray(pg) == []


def test_a_transaction_failing_after_the_helper_committed_drops_its_tables(
    pg: PostgresWarehouse, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(pg, D1, "r1")
    load(pg, D1, "r1", tbl=G)
    created = spy_streams(pg, monkeypatch)
    visible: list[str] = []
    real = PartitionStore.publish

    def publish(self: PartitionStore, tbl: Table, day: date, run: str) -> None:
        if tbl is G:  # WIDGETS published already: the helper has committed both stream tables
            with psycopg.connect(pg_dsn) as other:
                visible.extend(
                    n for n in created if other.execute("SELECT to_regclass(%s)", (n,)).fetchone()[0]
                )
            raise RuntimeError("publish failed")
        real(self, tbl, day, run)

    monkeypatch.setattr(PartitionStore, "publish", publish)
    tb, gb = batches(T, 4, "x"), batches(G, 4, "x")
    events = [e for pair in zip(tb, gb, strict=True) for e in pair] + [finished(T, 4), finished(G, 4)]
    with pytest.raises(RuntimeError, match="publish failed"):
        load_backup(pg, tables=[T, G], backup_date=D1, run_id="r2", events=events)
    assert len(created) == 2 and sorted(visible) == sorted(created)

    assert staged(pg, D1) == expected(5, "n", "r1")
    assert staged(pg, D1, G) == expected(5, "n", "r1", G)
    assert stray(pg) == [] and stray(pg, "stg_molo_gadgets") == []
    assert [n for c in created for n in named_like(pg, c[: -len("_s1")])] == []
    # the helper connection is fine: the next load of both tables uses it again
    monkeypatch.undo()
    events = [*batches(T, 3, "y"), *batches(G, 3, "y"), finished(T, 3), finished(G, 3)]
    out = load_backup(pg, tables=[T, G], backup_date=D1, run_id="r3", events=events)
    assert [r.status for r in out.values()] == ["loaded", "loaded"]
    assert staged(pg, D1) == expected(3, "y", "r3") and staged(pg, D1, G) == expected(3, "y", "r3", G)
    for stg in ("stg_molo_widgets", "stg_molo_gadgets"):
        (part,) = partitions(pg, stg)
        assert partitions(pg, part) == [f"{part}_s0", f"{part}_s1"]


def _child(dsn: str, day: str) -> None:
    """Load the date and die by SIGKILL right after `publish`: the helper has committed its table."""
    wh = PostgresWarehouse(dsn)
    wh.streams.count = 2
    real = PartitionStore.publish

    def publish_then_die(self: PartitionStore, tbl: Table, d: date, run: str) -> None:
        real(self, tbl, d, run)
        os.kill(os.getpid(), signal.SIGKILL)
        os._exit(3)  # not reached

    PartitionStore.publish = publish_then_die  # type: ignore[method-assign]
    load(wh, date.fromisoformat(day), "killed", tag="dead")


@pytest.mark.parametrize("sweeper", ["next load", "retention"])
def test_a_killed_load_leaves_a_stream_table_the_next_load_or_retention_drops(
    pg: PostgresWarehouse, pg_dsn: str, sweeper: str
) -> None:
    load(pg, D1, "r1")
    before = partitions(pg)
    child = subprocess.run(
        [sys.executable, "-m", "marina_assets_tests.warehouse.test_pg_streams", pg_dsn, D1.isoformat()],
        cwd=ROOT,
        capture_output=True,
        check=False,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr.decode()[-2000:]
    # the helper's committed table outlives the process; the load's own table went with its transaction
    (left,) = stray(pg)
    assert left.startswith("stg_molo_widgets_20251101_") and left.endswith("_s1")
    assert partitions(pg) == before
    assert staged(pg, D1) == expected(5, "n", "r1")
    # the dead helper session's lock goes when its server process has seen the disconnect: wait for it
    token = int(left.split("_")[-2], 16)
    with psycopg.connect(pg_dsn, autocommit=True) as other:
        other.execute("SELECT pg_advisory_lock(%s, %s)", stream_lock(token, 1))
        other.execute("SELECT pg_advisory_unlock(%s, %s)", stream_lock(token, 1))
    if sweeper == "retention":  # nothing is old enough to prune: only the left-over table goes
        assert prune_staging(pg, [T], cutoff=D1).rows_deleted == {T.stg_name: 0}
        assert named_like(pg, left) == [] and stray(pg) == []
        assert staged(pg, D1) == expected(5, "n", "r1")
        return
    out = load(pg, D1, "r2", n=3, tag="again")
    assert out.rows_loaded == 6
    assert named_like(pg, left) == [] and stray(pg) == []
    assert staged(pg, D1) == expected(3, "again", "r2")


def test_a_live_loads_stream_table_is_not_swept(pg: PostgresWarehouse, pg_dsn: str) -> None:
    token = 0x0BADCAFE
    name = f"stg_molo_widgets_20251101_{token:08x}_s1"
    with psycopg.connect(pg_dsn, autocommit=True) as live:
        live.execute("SELECT pg_advisory_lock(%s, %s)", stream_lock(token, 1))
        live.execute(f"CREATE TABLE {name} (LIKE stg_molo_widgets)")
        out = load(pg, D1, "r1")
        assert out.status == "loaded"
        assert stray(pg) == [name]  # still there, still nobody's partition
        live.execute("SELECT pg_advisory_unlock(%s, %s)", stream_lock(token, 1))
        load(pg, D2, "r2")
    assert stray(pg) == []
    assert staged(pg, D1) == expected(5, "n", "r1") and staged(pg, D2) == expected(5, "n", "r2")


def test_a_token_another_load_holds_fails_the_load_cleanly(
    pg: PostgresWarehouse, pg_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    load(pg, D1, "r1")
    token = 0x0BADCAFE
    monkeypatch.setattr(pg_partitions.secrets, "randbits", lambda bits: token)
    with psycopg.connect(pg_dsn, autocommit=True) as live:
        live.execute("SELECT pg_advisory_lock(%s, %s)", stream_lock(token, 1))
        with pytest.raises(RuntimeError, match="held by another load"):
            load(pg, D1, "r2")
    assert staged(pg, D1) == expected(5, "n", "r1") and stray(pg) == []
    assert named_like(pg, f"stg_molo_widgets_20251101_{token:08x}") == []


def test_three_streams_take_turns_without_waiting_for_each_other(pg_dsn: str) -> None:
    dsn = pg_dsn + "?options=-c%20lock_timeout%3D20s"  # a lock wait fails, not hangs
    wh = PostgresWarehouse(dsn)
    try:
        wh.streams.count = 3
        ensure_schema(wh, [T])
        need_visibility(wh)
        assert load(wh, D1, "r1", n=7).rows_loaded == 14
        (part,) = partitions(wh)
        leaves = partitions(wh, part)
        assert leaves == [f"{part}_s{i}" for i in range(3)]
        streams = wh.fetchall("SELECT ID, LOAD_STREAM FROM STG_MOLO_WIDGETS ORDER BY 1")
        assert streams == [(10 * b + k, b % 3) for b in range(7) for k in range(2)]
        assert all(all_frozen(wh, leaf) for leaf in leaves)
        load_backup(
            wh, tables=[T], backup_date=D1, run_id="r2", events=[*batches(T, 7, "x"), Failed(T, "bad")]
        )
        assert staged(wh, D1) == expected(7, "n", "r1") and stray(wh) == [] and partitions(wh) == [part]
    finally:
        wh.close()


def test_a_reset_drops_the_first_attempts_stream_tables(
    pg: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_visibility(pg)
    created = spy_streams(pg, monkeypatch)
    events = [*batches(T, 3, "first"), Reset(T), *batches(T, 4, "second"), finished(T, 4)]
    out = load_backup(pg, tables=[T], backup_date=D1, run_id="r1", events=events)[T.stg_name]
    assert out.rows_loaded == 8
    assert staged(pg, D1) == expected(4, "second", "r1")
    (part,) = partitions(pg)
    assert created == [f"{part}_s1", f"{part}_s1"]  # dropped by the Reset, created again
    leaves = partitions(pg, part)
    assert leaves == [f"{part}_s0", f"{part}_s1"]
    streams = pg.fetchall("SELECT ID, LOAD_STREAM FROM STG_MOLO_WIDGETS ORDER BY 1")
    assert streams == [(10 * b + k, b % 2) for b in range(4) for k in range(2)]  # the turns restarted
    assert named_like(pg, part) == [part, *leaves] and stray(pg) == []
    assert all_frozen(pg, leaves[0]) and all_frozen(pg, leaves[1])


def test_retention_drops_a_multi_stream_date_and_counts_its_rows(pg: PostgresWarehouse) -> None:
    load(pg, D1, "r1", n=5)
    load(pg, D2, "r2", n=3)
    (old, kept) = partitions(pg)
    out = prune_staging(pg, [T], cutoff=D2)
    assert out.rows_deleted == {T.stg_name: 10}
    assert named_like(pg, old) == []
    assert partitions(pg) == [kept] and partitions(pg, kept) == [f"{kept}_s0", f"{kept}_s1"]
    assert staged(pg, D2) == expected(3, "n", "r2") and stray(pg) == []


def test_merge_of_a_multi_stream_date_equals_a_single_stream_one(pg: PostgresWarehouse) -> None:
    load(pg, D1, "r1")
    r = merge_table(pg, T, D1, "m1")
    assert (r.status, r.inserted, r.snapshot_rows) == ("merged", 10, 10)
    want = {row[0]: (*row[1:], False, None, D1) for b in range(5) for row in rows_of(T, b, "n")}
    assert dw(pg) == want
    # the merge's statistics reached both leaves (ANALYZE of a partitioned table recurses)
    (part,) = partitions(pg)
    tuples = pg.fetchall(
        "SELECT relname, reltuples FROM pg_class WHERE relname = ANY(%(n)s) ORDER BY 1",
        {"n": partitions(pg, part)},
    )
    assert tuples == [(f"{part}_s0", 6.0), (f"{part}_s1", 4.0)]
    # the same rows through one stream: a plain partition, and nothing changes in DW
    pg.streams.count = 1
    load(pg, D2, "r2")
    (single,) = [p for p in partitions(pg) if p != part]
    assert relkind(pg, single) == "r"
    r = merge_table(pg, T, D2, "m2")
    assert (r.inserted, r.updated, r.deleted, r.snapshot_rows) == (0, 0, 0, 10)
    assert dw(pg) == want


def test_one_stream_makes_a_plain_partition(pg: PostgresWarehouse, monkeypatch: pytest.MonkeyPatch) -> None:
    pg.streams.count = 1
    created = spy_streams(pg, monkeypatch)
    out = load(pg, D1, "r1")
    assert out.rows_loaded == 10 and created == []
    (part,) = partitions(pg)
    assert relkind(pg, part) == "r" and partitions(pg, part) == []
    assert pg.fetchall("SELECT DISTINCT LOAD_STREAM FROM STG_MOLO_WIDGETS") == [(0,)]
    assert staged(pg, D1) == expected(5, "n", "r1") and stray(pg) == []


if __name__ == "__main__":  # the child process of the kill test
    _child(*sys.argv[1:])
