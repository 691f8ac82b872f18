"""Extra COPY streams: a big table's batches are ingested by several server processes at once.

One COPY runs in one server process, on one core. With the client's encoder down to 0.1 s per
million rows, that process is the load's bound: 2.6-3.3 s per million rows of a 16-column
table on the benchmark's 2-core machine, however fast the client is. Every other batch of a big
table therefore goes through a second connection (`MARINA_POSTGRES_COPY_STREAMS`, default 2),
into a table of its own: the same million rows take 2.0-2.5 s (best runs; see the benchmark's
`warehouse_stg_load_postgres_one_stream` line for the comparison in the same run).

A stream table cannot be part of the load's transaction (it belongs to another connection), so
atomicity comes from how it is published, not from one COMMIT:
- It is created in the helper connection's own transaction and COPYed with FREEZE, like the
  load's main table, and stays invisible to every STG reader until the load's transaction
  attaches it (`pg_partitions.PartitionStore.publish`): the helper commits it just before.
- If the load's transaction then fails, the helper drops the tables it committed.
- If the process dies in between, the table is left over, unattached: nothing reads it. From
  creation until the load's transaction ends, the helper session holds an advisory lock
  named by the table's token and stream, so a later load recognises a left-over table (its lock
  is free: the session that held it is gone) and drops it (`PartitionStore._sweep`).
"""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pyarrow as pa
from psycopg import sql
from psycopg.sql import Composable

from marina_assets.warehouse import pg_binary
from marina_assets.warehouse.pg_copy import CopyChannel

STREAMS = min(64, max(1, int(os.environ.get("MARINA_POSTGRES_COPY_STREAMS", "2"))))
# the two-key advisory lock that marks a stream table as being loaded: ("MS" and the stream, token)
TOKEN_LOCK_CLASS = 0x4D53


def stream_lock(token: int, stream: int) -> tuple[int, int]:
    """The lock of stream table `stream` of the load with `token` (one per table: each stream's
    connection holds its own, so two streams of one load never wait for each other)."""
    return (TOKEN_LOCK_CLASS << 8) | stream, token


@dataclass
class _Helper:
    con: psycopg.Connection  # not autocommit: its transaction holds the tables it creates
    channel: CopyChannel
    created: list[str] = field(default_factory=list)  # during the load's transaction
    committed: set[str] = field(default_factory=set)  # ... and already committed by the helper


class CopyStreams:
    """The helper connections of one warehouse connection; opened on first use, kept until close."""

    def __init__(self, dsn: str, streams: int = STREAMS) -> None:
        self._dsn = dsn  # may hold a password: never put it in an error or a log line
        self.count = streams  # streams per table, the warehouse connection's own included
        self._helpers: dict[int, _Helper] = {}
        self._owner: dict[str, _Helper] = {}

    def create(self, stream: int, name: str, token: int, statements: list[Composable]) -> None:
        """Create stream table `name` (stream >= 1) with `statements`, on that stream's connection."""
        h = self._helper(stream)
        h.channel.end()
        got = h.con.execute("SELECT pg_try_advisory_lock(%s, %s)", stream_lock(token, stream)).fetchone()
        if not got or not got[0]:  # another live load drew the same 31-bit token: vanishingly rare
            raise RuntimeError(f"the lock of {name} is held by another load; run the load again")
        for statement in statements:
            h.con.execute(statement)
        h.created.append(name)
        h.channel.fresh.add(name.lower())
        self._owner[name] = h

    def owns(self, name: str) -> bool:
        return name in self._owner

    def write(
        self,
        name: str,
        batch: pa.RecordBatch,
        constants: dict[str, Any],
        types: dict[str, pg_binary.PgColumn],
    ) -> None:
        self._owner[name].channel.write(name, batch, constants, types)

    def commit(self) -> None:
        """End the helpers' COPYs and commit their tables: they can now be attached by the load."""
        for h in self._helpers.values():
            h.channel.end()
            h.con.commit()
            h.committed.update(h.created)
            h.channel.fresh.clear()

    def drop(self, names: list[str]) -> None:
        """Drop stream tables of a table the load discards or restarts."""
        for name in names:
            h = self._owner.pop(name)
            h.channel.end()
            h.con.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            h.created.remove(name)
            h.channel.fresh.discard(name.lower())
            if name in h.committed:  # committed already: make the drop stick now
                h.committed.discard(name)
                h.con.commit()
                # whatever else the helper created is committed too (and can no longer FREEZE)
                h.committed.update(h.created)
                h.channel.fresh.clear()

    def finish(self, committed: bool) -> None:
        """The load's transaction has ended: keep (it committed) or drop (it failed) the tables."""
        for h in self._helpers.values():
            try:
                if committed:
                    h.channel.end()
                    h.con.commit()
                else:
                    with suppress(psycopg.Error):
                        h.channel.end(RuntimeError("the load's transaction failed"))
                    h.con.rollback()  # the uncommitted tables go with it
                    for name in sorted(h.committed):  # attached by nobody: drop them
                        h.con.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
                    h.con.commit()
                h.con.execute("SELECT pg_advisory_unlock_all()")
                h.con.commit()
            except psycopg.Error:
                # a broken helper connection: closing it releases its locks, so a later load
                # drops whatever it left (see the module docstring)
                h.con.close()
            finally:
                h.created.clear()
                h.committed.clear()
                h.channel.fresh.clear()
        self._owner.clear()
        self._helpers = {k: h for k, h in self._helpers.items() if not h.con.closed}

    def close(self) -> None:
        for h in self._helpers.values():
            with suppress(psycopg.Error):
                h.channel.end(RuntimeError("closing"))
            h.con.close()
        self._helpers.clear()
        self._owner.clear()

    def _helper(self, stream: int) -> _Helper:
        if not 1 <= stream < self.count:
            raise ValueError(f"stream {stream} of {self.count}")
        if stream not in self._helpers:
            try:
                con = psycopg.connect(self._dsn)
            except psycopg.OperationalError as e:
                raise ConnectionError(f"cannot open COPY stream {stream} to PostgreSQL: {e}") from None
            self._helpers[stream] = _Helper(con, CopyChannel(con))
        return self._helpers[stream]
