"""PostgreSQL: classify a date's keys while they load, so the merge need not join STG with DW.

The merge's classify join scans the whole DW table and the date's whole partition; for a
million-row table it is most of the merge's CPU time. The loader has every loaded row and its
row hash at hand, so it can classify in memory instead (`load_classify`), given the DW's keys:

1. `open` of a big table's load starts a thread that reads the DW table's keys and row hashes
   as arrays (and the few keys whose hash is NULL or which are soft-deleted), and the table's
   version (`dw_versions`), in one snapshot;
2. each batch, as it is COPYed into the partition, is classified against them, and only its
   rows that need an action are kept (with ACTION_); the D keys follow at the end;
3. `publish` writes those rows to `<partition>_pc` and the version to MARINA_PRECLASSIFIED, in
   the load's transaction: they exist exactly when the partition does, and go with it;
4. the merge (`usable_delta`) locks the table's version row; when the version is still the one
   classified against, MERGE_DELTA is a copy of `<partition>_pc`. Otherwise (another date merged
   since, a replay, a DBA's fix) it classifies as always: the load's delta is an optimisation,
   never a source of truth.

Anything unexpected (no trigger, a NULL or repeated key, a fetch error, a key that is not one
integer column) means no delta, and the merge classifies.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql

from marina_assets.catalog import audit
from marina_assets.catalog.model import Table
from marina_assets.settings import env_int
from marina_assets.warehouse import pg_binary
from marina_assets.warehouse.ddl import LOAD_LOG
from marina_assets.warehouse.dialects import POSTGRES
from marina_assets.warehouse.dw_versions import PRECLASSIFIED, STATE_SQL, VERSIONS, state_params
from marina_assets.warehouse.load_classify import DELETED, HASH_NULL, NONE, DwIndex, DwKeys, unique
from marina_assets.warehouse.merge_delta import ACTION
from marina_assets.warehouse.merge_sql import carried_columns

if TYPE_CHECKING:
    from marina_assets.warehouse.postgres_backend import PostgresWarehouse

log = logging.getLogger(__name__)

# below this many DW rows the merge's own classify is quick: not worth a fetch
# (`MARINA_POSTGRES_PRECLASSIFY_MIN_ROWS`; the tests set 1 to take this path with small tables)
MIN_ROWS = env_int("MARINA_POSTGRES_PRECLASSIFY_MIN_ROWS", 100_000, minimum=0)
# an array of int8 takes 12 bytes per element in COPY's binary format; PostgreSQL caps a value at 1GB
MAX_ROWS = 50_000_000
# fetches at once per process: each is one server process reading a DW table
_FETCHES = threading.BoundedSemaphore(2)
SUFFIX = "_pc"
# batches held while the fetch is still running; beyond this the load waits for it
PENDING_BYTES = 256 * 1024 * 1024


def eligible(wh: PostgresWarehouse, table: Table) -> bool:
    if not table.single_integer_key or wh.load_classify_min_rows is None:
        return False
    # the planner's estimate, or the live rows the last merge logged: a small table's estimate
    # stays 0 until autovacuum gets to it, and the path must not depend on when that happens
    size = wh.fetchall(
        "SELECT GREATEST(COALESCE((SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(t)s)), -1), "
        f"COALESCE((SELECT ROWS_LIVE FROM {LOAD_LOG.name} WHERE TABLE_NAME = %(t)s AND LAYER = 'DW' "
        "AND ROWS_LIVE IS NOT NULL ORDER BY FINISHED_AT DESC LIMIT 1), -1))",
        {"t": table.dw_name},
    )[0][0]
    return max(wh.load_classify_min_rows, 1) <= size <= MAX_ROWS


class _Fetch(threading.Thread):
    """Reads one DW table's keys, hashes, flags and version in one snapshot, on its own connection."""

    def __init__(self, dsn: str, table: Table) -> None:
        super().__init__(name=f"dw-keys-{table.dw_name}", daemon=True)
        self._dsn, self._table = dsn, table  # the DSN may hold a password: never log it
        self.keys: DwKeys | None = None
        self.failure = ""

    def run(self) -> None:
        try:
            with _FETCHES, psycopg.connect(self._dsn) as con:
                con.read_only = True
                con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
                con.execute("SET jit = off")  # compiling the scan costs more than it saves
                con.commit()  # the snapshot is the one of `_read_keys`'s transaction
                self.keys = _read_keys(con, self._table)
        except psycopg.Error as e:
            self.failure = f"{type(e).__name__}: {e.sqlstate or ''}"
        except Exception as e:  # a classify that cannot happen must never fail the load
            self.failure = type(e).__name__


def _read_keys(con: psycopg.Connection, t: Table) -> DwKeys | None:
    with con.transaction():
        triggered, version = con.execute(STATE_SQL, state_params(t)).fetchone() or (False, None)
        if not triggered or version is None:
            return None
        k, h = t.primary_key[0], audit.ROW_HASH
        # flags as the (few) keys that have them: building a third million-element array would
        # cost the server a quarter more (0.52-0.65 s instead of 0.66-0.74 s for 1M rows)
        query = (
            f"COPY (SELECT array_agg({k}), array_agg(COALESCE({h}, 0)), "
            f"array_agg({k}) FILTER (WHERE {h} IS NULL), "
            f"array_agg({k}) FILTER (WHERE {audit.IS_DELETED} = 1) "
            f"FROM {t.dw_name}) TO STDOUT (FORMAT binary)"
        )
        with con.cursor().copy(query) as copy:
            data = b"".join(bytes(block) for block in copy)
    ids, hashes, hash_null, deleted = _int8_arrays(data, 4)
    flags = np.where(np.isin(ids, hash_null), HASH_NULL, 0) | np.where(np.isin(ids, deleted), DELETED, 0)
    return DwKeys(int(version), ids, hashes, flags.astype(np.int64))


def _int8_arrays(data: bytes, n: int) -> list[np.ndarray]:
    """The `n` int8[] fields of COPY's binary output of one row (a NULL array: empty)."""
    pos = len(pg_binary.HEADER)  # signature, flags, header extension length
    (fields,) = np.frombuffer(data, ">i2", 1, pos)
    if fields != n:
        raise ValueError(f"expected {n} fields, got {fields}")
    pos += 2
    out = []
    for _ in range(n):
        (size,) = np.frombuffer(data, ">i4", 1, pos)
        pos += 4
        if size < 0:
            out.append(np.zeros(0, np.int64))
            continue
        ndim, has_null, _oid = np.frombuffer(data, ">i4", 3, pos)
        if has_null:
            raise ValueError("NULL in a key array")
        count = int(np.frombuffer(data, ">i4", 1, pos + 12)[0]) if ndim else 0
        start = pos + 12 + 8 * ndim
        elements = np.frombuffer(data, np.dtype([("len", ">i4"), ("v", ">i8")]), count, start)
        out.append(elements["v"].astype(np.int64))
        pos += int(size)
    return out


@dataclass(frozen=True)
class LoadDelta:
    """The rows needing an action (their staged values and ACTION_), classified at `version`."""

    version: int
    batches: list[pa.RecordBatch]
    snapshot_keys: int

    @property
    def rows(self) -> int:
        return sum(b.num_rows for b in self.batches)


class LoadClassifier:
    """One table's load: the DW fetch under way, then each batch classified as it is COPYed.

    Batches that arrive before the fetch is done wait in memory, at most `PENDING_BYTES` of them
    (then the load waits for the fetch); afterwards only the rows needing an action are kept.
    """

    def __init__(self, dsn: str, table: Table) -> None:
        self.table = table
        self._carried = set(carried_columns(POSTGRES, table))
        self._fetch = _Fetch(dsn, table)
        self._fetch.start()
        self._index: DwIndex | None = None
        self._ids: list[pa.Array] = []  # every key loaded, to check they are unique
        self._pending: list[pa.RecordBatch] = []
        self._pending_bytes = 0
        self._kept: list[pa.RecordBatch] = []
        self._usable = True

    def add(self, batch: pa.RecordBatch) -> None:
        if not self._usable:
            return
        key = self.table.primary_key[0]
        if key not in batch.schema.names or batch.column(key).null_count:
            self._usable = False  # a NULL key: the merge's own checks decide
            return
        try:
            self._ids.append(batch.column(key).cast(pa.int64()))
            self._pending.append(batch)
            self._pending_bytes += batch.nbytes
            if not self._fetch.is_alive() or self._pending_bytes > PENDING_BYTES:
                self._drain()
        except Exception as e:  # an optimisation that fails must never fail the load
            self._give_up(e)

    def reset(self) -> None:
        self._ids.clear()
        self._pending.clear()
        self._pending_bytes = 0
        self._kept.clear()
        self._usable = True
        if self._index is not None:
            self._index.reset()

    def abandon(self) -> None:
        """The load of the table failed: forget its rows; the fetch ends on its own."""
        self.reset()
        self._usable = False

    def finish(self) -> LoadDelta | None:
        """The delta of every row added since the last reset; None: the merge classifies."""
        try:
            self._drain()
            if not self._usable or self._index is None:
                return None
            ids = pa.chunked_array(self._ids, pa.int64()).to_numpy()
            if not unique(ids):
                return None
            gone = self._index.gone()
            action = pa.array(np.full(len(gone), b"D", dtype="S1")).cast(pa.string())
            deletes = pa.record_batch({ACTION: action, self.table.primary_key[0]: gone})
            return LoadDelta(self._index.dw.version, [*self._kept, deletes], len(ids))
        except Exception as e:
            self._give_up(e)
            return None

    def _give_up(self, e: Exception) -> None:
        log.warning("classifying %s at load failed (%s): its merge classifies", self.table.dw_name, e)
        self.abandon()

    def _drain(self) -> None:
        self._fetch.join()
        if self._index is None and self._usable:
            if self._fetch.keys is None:
                if self._fetch.failure:
                    log.warning(
                        "could not read %s's keys (%s): its merge classifies",
                        self.table.dw_name,
                        self._fetch.failure,
                    )
                self._usable = False
            else:
                self._index = DwIndex(self._fetch.keys)
        if self._index is not None and self._usable:
            for batch in self._pending:
                self._keep_changed(self._index, batch)
        self._pending.clear()
        self._pending_bytes = 0

    def _keep_changed(self, index: DwIndex, batch: pa.RecordBatch) -> None:
        hashes = batch.column(audit.ROW_HASH)
        actions = index.actions(
            batch.column(self.table.primary_key[0]).to_numpy(),
            hashes.fill_null(0).to_numpy(),
            hashes.is_null().to_numpy(zero_copy_only=False),
        )
        needed = actions != NONE
        if needed.any():
            carried = [c for c in batch.schema.names if c in self._carried]
            rows = batch.select(carried).filter(pa.array(needed))
            self._kept.append(rows.append_column(ACTION, pa.array(actions[needed]).cast(pa.string())))


def delta_table(partition: str) -> str:
    return f"{partition}{SUFFIX}"


def write_delta(wh: PostgresWarehouse, table: Table, partition: str, delta: LoadDelta) -> None:
    """`<partition>_pc` (STG's columns and ACTION_) and its MARINA_PRECLASSIFIED row; in the
    caller's (the load's) transaction."""
    columns = sql.SQL(", ").join(sql.Identifier(c.lower()) for c in carried_columns(POSTGRES, table))
    wh.execute_composed(
        sql.SQL("CREATE TABLE {} AS SELECT CAST(NULL AS CHAR(1)) AS {}, {} FROM {} WITH NO DATA").format(
            sql.Identifier(delta_table(partition)),
            sql.Identifier(ACTION.lower()),
            columns,
            sql.Identifier(table.stg_name.lower()),
        )
    )
    for batch in delta.batches:
        wh.insert_arrow(delta_table(partition), batch, {})
    wh.execute(
        f"INSERT INTO {PRECLASSIFIED.name} (PARTITION_NAME, TABLE_NAME, DW_VERSION, SNAPSHOT_KEYS, "
        "DELTA_ROWS, CLASSIFIED_AT) VALUES (%(p)s, %(t)s, %(v)s, %(k)s, %(n)s, LOCALTIMESTAMP)",
        {
            "p": partition,
            "t": table.dw_name,
            "v": delta.version,
            "k": delta.snapshot_keys,
            "n": delta.rows,
        },
    )


def drop_delta(wh: PostgresWarehouse, partition: str) -> None:
    wh.execute_composed(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(delta_table(partition))))
    wh.execute(f"DELETE FROM {PRECLASSIFIED.name} WHERE PARTITION_NAME = %(p)s", {"p": partition})


def usable_delta(wh: PostgresWarehouse, table: Table, partition: str, keys: int) -> tuple[str, int] | None:
    """(delta table, its rows) when the load classified `partition`'s `keys` keys against the DW
    table as it still is. Locks the table's version row: a writer that has not committed yet
    is waited for, and its bump then seen."""
    row = wh.fetchall(
        f"SELECT DW_VERSION, SNAPSHOT_KEYS, DELTA_ROWS FROM {PRECLASSIFIED.name} "
        "WHERE PARTITION_NAME = %(p)s",
        {"p": partition},
    )
    if not row or row[0][1] != keys:
        return None
    version = wh.fetchall(
        f"SELECT VERSION FROM {VERSIONS.name} WHERE TABLE_NAME = %(dw)s FOR UPDATE", {"dw": table.dw_name}
    )
    triggered = wh.fetchall(STATE_SQL, state_params(table))[0][0]
    if not version or not triggered or version[0][0] != row[0][0]:
        log.info(
            "%s changed since the load of %s classified against it (version %s, now %s, trigger %s): "
            "the merge classifies",
            table.dw_name,
            partition,
            row[0][0],
            version[0][0] if version else None,
            "present" if triggered else "missing",
        )
        return None
    return delta_table(partition), int(row[0][2])
