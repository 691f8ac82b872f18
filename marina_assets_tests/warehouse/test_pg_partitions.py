"""PostgreSQL STG: a partition per date, written frozen, swapped in by its load, pruned whole."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import psycopg
import pytest

from marina_assets.automation.housekeeping import prune_staging
from marina_assets.catalog.model import col, table
from marina_assets.parsing.events import Batch, Failed, Finished, Reset, TableReport
from marina_assets.staging.loader import load_backup
from marina_assets.warehouse.merger import merge_table
from marina_assets.warehouse.postgres_backend import PostgresWarehouse
from marina_assets.warehouse.schema import ensure_schema
from marina_assets_tests.warehouse.support import T, batch_of, dw, partitions, stage

pytestmark = pytest.mark.integration

D1, D2, D3 = date(2025, 11, 1), date(2025, 11, 2), date(2025, 11, 3)
ROWS = [(1, "a", Decimal("1.00"), D1, True), (2, "b", None, None, False)]


@pytest.fixture()
def pg(pg_dsn: str) -> Iterator[PostgresWarehouse]:
    wh = PostgresWarehouse(pg_dsn)
    ensure_schema(wh, [T])
    yield wh
    wh.close()


def staged(wh: PostgresWarehouse, day: date) -> list[tuple]:
    return wh.fetchall(
        "SELECT ID, NAME, LOAD_RUN_ID, SOURCE_LINE FROM STG_MOLO_WIDGETS "
        "WHERE BACKUP_DATE = %(d)s ORDER BY 1",
        {"d": day},
    )


def test_each_load_swaps_in_its_own_partition(pg: PostgresWarehouse) -> None:
    assert pg.fetchall("SELECT relkind FROM pg_class WHERE relname = 'stg_molo_widgets'") == [("p",)]
    stage(pg, D1, ROWS, run="r1")
    stage(pg, D2, ROWS[:1], run="r2")
    first = partitions(pg)
    assert [p[:25] for p in first] == ["stg_molo_widgets_20251101", "stg_molo_widgets_20251102"]

    stage(pg, D1, [(3, "c", None, None, None)], run="r3")  # a re-run replaces the date
    now = partitions(pg)
    assert len(now) == 2 and first[1] in now and first[0] not in now
    assert staged(pg, D1) == [(3, "c", "r3", 2)]
    assert staged(pg, D2) == [(1, "a", "r2", 2)]
    # the constants are the partition's column defaults (COPY does not send them)
    loaded = pg.fetchall("SELECT DISTINCT BACKUP_DATE, LOADED_AT IS NOT NULL FROM STG_MOLO_WIDGETS")
    assert sorted(loaded) == [(D1, True), (D2, True)]
    (d1_part,) = [p for p in now if p.startswith("stg_molo_widgets_20251101")]
    defaults = dict(
        pg.fetchall(
            "SELECT column_name, column_default FROM information_schema.columns "
            "WHERE table_name = %(t)s AND column_default IS NOT NULL",
            {"t": d1_part},
        )
    )
    assert defaults["load_run_id"].startswith("'r3'") and defaults["backup_date"].startswith("'2025-11-01'")
    assert "loaded_at" in defaults
    # partitions are not tables of their own to the rest of the pipeline
    assert not [name for name in pg.existing_columns() if name.startswith("STG_MOLO_WIDGETS_")]


def test_a_failed_table_keeps_the_previous_partition(pg: PostgresWarehouse) -> None:
    stage(pg, D1, ROWS, run="r1")
    before = partitions(pg)
    events = [Batch(T, batch_of(T, [(9, "z", None, None, None)])), Failed(T, "Widgets.csv: bad file")]
    out = load_backup(pg, tables=[T], backup_date=D1, run_id="r2", events=events)
    assert out[T.stg_name].status == "failed"
    assert partitions(pg) == before
    assert [r[:3] for r in staged(pg, D1)] == [(1, "a", "r1"), (2, "b", "r1")]
    # the failed load's table is gone, not left behind unattached
    assert pg.fetchall("SELECT count(*) FROM pg_class WHERE relname LIKE 'stg_molo_widgets_%'") == [(1,)]


def test_a_reset_truncates_and_the_reload_is_still_frozen(pg: PostgresWarehouse) -> None:
    try:
        pg.execute("CREATE EXTENSION IF NOT EXISTS pg_visibility")
    except psycopg.Error as e:
        pytest.skip(f"pg_visibility is not installed with this server: {e}")
    events = [
        Batch(T, batch_of(T, [(7, "first try", None, None, None)])),
        Reset(T),
        Batch(T, batch_of(T, ROWS)),
        Finished(T, TableReport("Widgets.csv", rows_read=2)),
    ]
    out = load_backup(pg, tables=[T], backup_date=D1, run_id="r1", events=events)
    assert out[T.stg_name].rows_loaded == 2
    assert [r[:2] for r in staged(pg, D1)] == [(1, "a"), (2, "b")]
    (part,) = partitions(pg)
    # COPY FREEZE: every page written all-visible and all-frozen, nothing left for vacuum
    flags = pg.fetchall(f"SELECT all_visible, all_frozen FROM pg_visibility_map('{part}')")
    assert flags == [(True, True)]


def test_merge_reads_only_its_dates_partition(pg: PostgresWarehouse) -> None:
    stage(pg, D1, ROWS, run="r1")
    stage(pg, D2, ROWS[:1], run="r2")
    r = merge_table(pg, T, D2, "m2")
    assert (r.inserted, r.snapshot_rows) == (1, 1)
    plan = "\n".join(
        row[0]
        for row in pg.fetchall("EXPLAIN SELECT ID FROM STG_MOLO_WIDGETS WHERE BACKUP_DATE = %(d)s", {"d": D2})
    )
    assert "20251102" in plan and "20251101" not in plan
    # the merge analyzed its partition for the key and the date only (a small, cheap sample)
    (d2_part,) = [p for p in partitions(pg) if p.startswith("stg_molo_widgets_20251102")]
    analyzed = pg.fetchall("SELECT attname FROM pg_stats WHERE tablename = %(t)s ORDER BY 1", {"t": d2_part})
    assert analyzed == [("backup_date",), ("id",)]
    assert set(dw(pg)) == {1}


def test_retention_drops_whole_partitions(pg: PostgresWarehouse) -> None:
    for day in (D1, D2, D3):
        stage(pg, day, ROWS, run=f"r-{day}")
    out = prune_staging(pg, [T], cutoff=D3)
    assert out.rows_deleted == {T.stg_name: 4}
    assert [p[:25] for p in partitions(pg)] == ["stg_molo_widgets_20251103"]
    assert pg.fetchall("SELECT count(*) FROM pg_class WHERE relname LIKE 'stg_molo_widgets_%'") == [(1,)]


def test_a_plain_stg_table_from_before_is_partitioned_without_losing_rows(pg_dsn: str) -> None:
    gadgets = table("MOLO", "Gadgets", [col("Id", "int"), col("Name", "str(20)")], pk="Id")
    with PostgresWarehouse(pg_dsn) as wh:
        # the STG table as the previous release made it, with a column the catalog has since lost
        wh.execute(
            "CREATE TABLE STG_MOLO_GADGETS (ID BIGINT, NAME VARCHAR(20), OLD_NOTE TEXT, "
            "BACKUP_DATE DATE NOT NULL, SOURCE_LINE BIGINT NOT NULL, LOAD_RUN_ID VARCHAR(64) NOT NULL, "
            "LOADED_AT TIMESTAMP NOT NULL, ROW_HASH BIGINT)"
        )
        wh.execute("CREATE INDEX STG_MOLO_GADGETS_BD ON STG_MOLO_GADGETS USING brin (BACKUP_DATE)")
        wh.execute(
            "INSERT INTO STG_MOLO_GADGETS VALUES (1, 'a', 'kept', '2025-11-01', 2, 'old', now(), NULL), "
            "(2, 'b', NULL, '2025-11-02', 2, 'old', now(), NULL), "
            "(3, 'c', NULL, '2025-11-02', 3, 'old', now(), 7)"
        )
        ran = ensure_schema(wh, [gadgets])
        assert any("PARTITION BY LIST" in s for s in ran)
        assert partitions(wh, "stg_molo_gadgets")[0].startswith("stg_molo_gadgets_20251101_")
        rows = wh.fetchall(
            "SELECT ID, NAME, OLD_NOTE, BACKUP_DATE, ROW_HASH FROM STG_MOLO_GADGETS ORDER BY ID"
        )
        assert rows == [(1, "a", "kept", D1, None), (2, "b", None, D2, None), (3, "c", None, D2, 7)]
        assert ensure_schema(wh, [gadgets]) == []  # done once
        # and the converted table takes loads and merges like a new one
        stage(wh, D2, [(4, "d")], run="r-new", tbl=gadgets)
        assert wh.fetchall("SELECT ID FROM STG_MOLO_GADGETS WHERE BACKUP_DATE = %(d)s", {"d": D2}) == [(4,)]
        assert merge_table(wh, gadgets, D2, "m").inserted == 1
