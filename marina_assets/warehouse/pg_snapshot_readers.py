"""Read-only helper connections that run queries under the merge transaction's own snapshot.

A merge's classify join is one query, so PostgreSQL runs it on one core (version 15 has no
parallel full hash join). `merge_delta.classify_parts` splits it by key into independent
SELECTs; these connections run them side by side and the merge's connection COPYs their
rows, a few thousand, into its MERGE_DELTA.

Each helper reads exactly what the merge's transaction sees: the merge exports its snapshot
(`pg_export_snapshot`) and every helper's transaction imports it (`SET TRANSACTION SNAPSHOT`,
REPEATABLE READ, READ ONLY). A snapshot does not carry the exporter's uncommitted writes, so
the merger uses helpers only before its transaction has changed the tables they read (never
in a replay, which empties the DW table first).

The merge's connection waits on the helpers while holding its locks. A helper that had to wait
for a lock would wait for a session queued behind those locks, a cycle PostgreSQL cannot see;
so a helper gives up after `lock_timeout`, and so does any helper that cannot connect: the
merger then classifies on its own connection, as it would have without helpers.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any

import psycopg
from psycopg import sql

from marina_assets.settings import env_int

log = logging.getLogger(__name__)

WORKERS = min(64, max(1, int(os.environ.get("MARINA_POSTGRES_MERGE_WORKERS", "2"))))
# below this many snapshot keys the classify takes a fraction of a second: not worth the helpers
# (`MARINA_POSTGRES_SPLIT_MIN_ROWS`; the tests set 1 to drive the split with small tables)
MIN_ROWS = env_int("MARINA_POSTGRES_SPLIT_MIN_ROWS", 100_000, minimum=0)
LOCK_TIMEOUT = "5s"


class SnapshotReaders:
    """The helper connections of one warehouse connection; opened on first use, kept until close."""

    def __init__(self, dsn: str, tune: Callable[[psycopg.Connection], None], workers: int = WORKERS) -> None:
        self._dsn = dsn  # may hold a password: never put it in an error or a log line
        self._tune = tune
        self.workers = workers
        self.min_rows = MIN_ROWS
        self.runs = 0  # classifies done by helpers (the tests check the path was taken)
        self._cons: list[psycopg.Connection] = []

    def copy_out(self, snapshot: str, queries: Sequence[sql.Composable]) -> list[bytes] | None:
        """Each query's rows in binary COPY format, read under `snapshot`; None when a helper could
        not connect or waited too long for a lock (the caller then runs the work itself)."""
        try:
            cons = self._connections(len(queries))
            with ThreadPoolExecutor(len(queries)) as pool:
                futures = [pool.submit(_read, c, snapshot, q) for c, q in zip(cons, queries, strict=True)]
                out = [f.result() for f in futures]
        except psycopg.OperationalError as e:  # no connection, lock timeout, server going away
            log.warning("merge helpers unavailable, classifying on one connection: %s", type(e).__name__)
            self.close()
            return None
        except BaseException:
            self.close()  # a helper may be mid-COPY: never reuse it
            raise
        self.runs += 1
        return out

    def close(self) -> None:
        for con in self._cons:
            with suppress(psycopg.Error):
                con.close()
        self._cons.clear()

    def _connections(self, n: int) -> list[psycopg.Connection]:
        while len(self._cons) < n:
            con = psycopg.connect(self._dsn)  # not autocommit: a transaction per snapshot
            con.read_only = True
            con.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
            self._tune(con)
            # the helpers are the parallelism: workers of their own would only fight them for the
            # cores and ship each scanned row through a queue (2 helpers: 1.7 s instead of 1.1-1.4 s)
            con.execute("SET max_parallel_workers_per_gather = 0")
            con.commit()
            self._cons.append(con)
        return self._cons[:n]


def _read(con: psycopg.Connection, snapshot: str, query: sql.Composable) -> bytes:
    with con.transaction():
        # the first statement of the transaction, as SET TRANSACTION SNAPSHOT requires
        con.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
        con.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
        with con.cursor().copy(sql.SQL("COPY ({}) TO STDOUT (FORMAT binary)").format(query)) as copy:
            return b"".join(bytes(block) for block in copy)


def literal_query(con: psycopg.Connection, query: str, params: Mapping[str, Any]) -> sql.Composable:
    """`query` with its binds rendered as literals: COPY takes no parameters."""
    return sql.SQL(psycopg.ClientCursor(con).mogrify(query, dict(params)))  # type: ignore[arg-type]
