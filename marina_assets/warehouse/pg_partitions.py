"""PostgreSQL STG: one list partition per backup date, swapped in by the load that made it.

A load creates a plain table shaped like the STG table, with a CHECK on its date and the
load's constant columns (date, run id, load time) as column defaults. Created in the load's
own transaction, it takes `COPY ... FREEZE`: rows are written frozen, so the merge's first
read sets no hint bits and vacuum never has to revisit them. COPY sends only the file's
columns; the defaults fill the constants. `publish` detaches and drops the date's previous
partition and attaches the new one; thanks to the CHECK, ATTACH does not scan it. A failed
table drops its new table, a crash rolls all of it back: PostgreSQL's DDL is transactional.

A big table's batches take turns between COPY streams (`pg_streams`): the main connection's
table and one table per extra stream, each created and COPYed with FREEZE by its connection.
`publish` then makes the date's partition a table partitioned by LOAD_STREAM whose partitions
are those tables (each one's CHECKs imply its bounds, so nothing is scanned) and attaches it as
above. The stream tables are committed by their connections just before; if the load's
transaction fails they are dropped, and a crash leaves them unattached, for the next load of the
table or the next retention run to drop (`_sweep`).

The date's rows are then one partition: the merge reads that date's pages only however many
dates are retained (a BRIN index on an unpartitioned table read every page, as the freshly
COPYed range was not summarized), and retention drops partitions instead of deleting rows.

A table whose DW is big has its rows classified against the DW while they load
(`pg_load_classify`); `publish` stores the result next to the partition (`<partition>_pc`),
and dropping a partition drops it too.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import pyarrow as pa
from psycopg import sql

from marina_assets.catalog import audit
from marina_assets.catalog.model import Table
from marina_assets.warehouse.pg_load_classify import LoadClassifier, drop_delta, eligible, write_delta
from marina_assets.warehouse.pg_streams import stream_lock
from marina_assets.warehouse.staging_store import Target

if TYPE_CHECKING:
    from marina_assets.warehouse.postgres_backend import PostgresWarehouse

# a partition's date, read back from its bound in the session's own DateStyle
_BOUND_DATE = "(regexp_match(pg_get_expr(c.relpartbound, c.oid), '''([^'']+)'''))[1]::date"
_PARTITIONS = (
    f"SELECT c.relname, {_BOUND_DATE} FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = to_regclass(%(parent)s)"
)
# stream tables (stream >= 1) no partition holds: being loaded, or left by a dead load
_UNATTACHED_STREAMS = (
    "SELECT relname FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
    "AND relkind = 'r' AND NOT relispartition AND relname LIKE %(pattern)s"
)


def partition_name(stg_name: str, backup_date: date, token: int | None = None) -> str:
    """A new name per load (the previous partition of the date still exists until `publish`)."""
    token = secrets.randbits(31) if token is None else token
    return f"{stg_name}_{backup_date:%Y%m%d}_{token:08x}".lower()


@dataclass
class _Load:
    """One table's load of one date: the date's new partition and its stream tables."""

    name: str  # the new partition; until `publish`, also stream 0's table
    token: int  # in every table name of the load, and the advisory lock of its stream tables
    constants: dict[str, Any]
    streams: dict[int, str] = field(default_factory=dict)  # stream >= 1 -> its table
    batches: int = 0
    classifier: LoadClassifier | None = None  # a big table's rows, classified against its DW


class PartitionStore:
    def __init__(self, wh: PostgresWarehouse) -> None:
        self.wh = wh
        self._open: dict[tuple[str, date], _Load] = {}

    def open(self, table: Table, backup_date: date, run_id: str, constants: dict[str, Any]) -> Target:
        self._sweep(table)
        token = secrets.randbits(31)
        load = _Load(partition_name(table.stg_name, backup_date, token), token, constants)
        for statement in self._leaf(table, load.name, backup_date, constants, 0):
            self.wh.execute_composed(statement)
        self.wh.created_in_transaction(load.name, table.stg_name)
        if eligible(self.wh, table):
            load.classifier = LoadClassifier(self.wh.dsn, table)
        self._open[(table.stg_name, backup_date)] = load
        return Target(load.name, {})

    def observe(self, table: Table, backup_date: date, batch: pa.RecordBatch) -> None:
        classifier = self._open[(table.stg_name, backup_date)].classifier
        if classifier is not None:
            classifier.add(batch)

    def destination(self, table: Table, backup_date: date) -> str:
        """Where the next batch goes: the streams take turns, batch by batch.

        A table of one batch never opens a second stream; the next streams' tables are
        created as the batches reach them.
        """
        load = self._open[(table.stg_name, backup_date)]
        stream = load.batches % self.wh.streams.count
        load.batches += 1
        if stream == 0:
            return load.name
        if stream not in load.streams:
            name = f"{load.name}_s{stream}"
            leaf = self._leaf(table, name, backup_date, load.constants, stream)
            self.wh.streams.create(stream, name, load.token, leaf)
            self.wh.stream_table_created(name, table.stg_name)
            load.streams[stream] = name
        return load.streams[stream]

    def reset(self, table: Table, backup_date: date, run_id: str) -> None:
        load = self._open[(table.stg_name, backup_date)]
        self.wh.streams.drop(sorted(load.streams.values()))
        load.streams.clear()
        load.batches = 0
        if load.classifier is not None:
            load.classifier.reset()
        self.wh.execute_composed(sql.SQL("TRUNCATE {}").format(sql.Identifier(load.name)))
        self.wh.created_in_transaction(load.name, table.stg_name)

    def discard(self, table: Table, backup_date: date, run_id: str) -> None:
        load = self._open.pop((table.stg_name, backup_date), None)
        if load is not None:
            if load.classifier is not None:
                load.classifier.abandon()
            self.wh.streams.drop(sorted(load.streams.values()))
            self.wh.execute_composed(sql.SQL("DROP TABLE {}").format(sql.Identifier(load.name)))

    def publish(self, table: Table, backup_date: date, run_id: str) -> None:
        load = self._open.pop((table.stg_name, backup_date))
        stg = sql.Identifier(table.stg_name.lower())
        if load.streams:  # the date's partition: one sub-partition per stream
            self.wh.streams.commit()
            part, first = sql.Identifier(load.name), f"{load.name}_s0"
            self.wh.execute_composed(
                sql.SQL("ALTER TABLE {} RENAME TO {}").format(part, sql.Identifier(first))
            )
            self.wh.execute_composed(
                sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS) PARTITION BY LIST ({})").format(
                    part, stg, sql.Identifier(audit.LOAD_STREAM.lower())
                )
            )
            for stream, leaf in sorted({0: first, **load.streams}.items()):
                # each leaf's CHECK and NOT NULL imply its bound: ATTACH does not scan it
                self.wh.execute_composed(
                    sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
                        part, sql.Identifier(leaf), sql.Literal(stream)
                    )
                )
        for old in self.partitions(table, lambda d: d == backup_date):
            self._drop(table, old)
        self.wh.execute_composed(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
                stg, sql.Identifier(load.name), sql.Literal(backup_date)
            )
        )
        delta = load.classifier.finish() if load.classifier is not None else None
        if delta is not None:
            write_delta(self.wh, table, load.name, delta)

    def prune(self, table: Table, cutoff: date) -> int:
        self._sweep(table)  # the daily retention also drops what dead loads left
        removed = 0
        for old in self.partitions(table, lambda d: d < cutoff):
            removed += self.wh.fetchall(
                sql.SQL("SELECT COUNT(*) FROM {}").format(sql.Identifier(old)).as_string(self.wh.con)
            )[0][0]
            self._drop(table, old)
        return removed

    def refresh_statistics(self, table: Table, backup_date: date) -> None:
        """Row count, key and date statistics of a never-analyzed partition, from a small sample.

        Without them the planner takes the date filter for 0.5% of the rows and sorts a
        million-row snapshot for a merge join. The merge needs the row count, the key's
        distinct count and the date's share, nothing more: those columns from 3,000 rows cost
        0.03 s, where a full ANALYZE (30,000 rows, every column) reads every page: 0.5 s. A
        partition is never changed after its load, so once is enough. ANALYZE of a partition
        with streams also analyzes each stream's table.
        """
        names = (*table.primary_key, audit.BACKUP_DATE)
        columns = sql.SQL(", ").join(sql.Identifier(c.lower()) for c in names)
        for name in self.partitions(table, lambda d: d == backup_date):
            rows = self.wh.fetchall(
                "SELECT min(c.reltuples) FROM pg_partition_tree(to_regclass(%(t)s)) t "
                "JOIN pg_class c ON c.oid = t.relid WHERE t.isleaf",
                {"t": name},
            )
            if rows and rows[0][0] is not None and rows[0][0] < 0:
                self.wh.execute("SET LOCAL default_statistics_target = 10")
                self.wh.execute_composed(sql.SQL("ANALYZE {} ({})").format(sql.Identifier(name), columns))
                self.wh.execute("RESET default_statistics_target")

    def _leaf(
        self, table: Table, name: str, backup_date: date, constants: dict[str, Any], stream: int
    ) -> list[sql.Composable]:
        """A table shaped like STG whose constraints imply its bounds (date, and stream), with the
        load's constants as column defaults: COPY sends only the file's columns."""
        part, stg = sql.Identifier(name), sql.Identifier(table.stg_name.lower())
        day, lane = sql.Identifier(audit.BACKUP_DATE.lower()), sql.Identifier(audit.LOAD_STREAM.lower())
        defaults = [
            sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(sql.Identifier(c.lower()), sql.Literal(v))
            for c, v in {**constants, audit.LOAD_STREAM: stream}.items()
        ]
        defaults.append(sql.SQL("ALTER COLUMN {} SET NOT NULL").format(lane))
        return [
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS, CHECK ({} = {}), CHECK ({} = {}))").format(
                part, stg, day, sql.Literal(backup_date), lane, sql.Literal(stream)
            ),
            sql.SQL("ALTER TABLE {} ").format(part) + sql.SQL(", ").join(defaults),
        ]

    def _sweep(self, table: Table) -> None:
        """Drop the stream tables dead loads left (see `pg_streams`): their lock is free."""
        stg = table.stg_name.lower()
        pattern = stg.replace("_", r"\_") + r"\_%\_s%"
        shape = re.compile(rf"{re.escape(stg)}_\d{{8}}_([0-9a-f]{{8}})_s([1-9]\d*)")
        for (name,) in self.wh.fetchall(_UNATTACHED_STREAMS, {"pattern": pattern}):
            m = shape.fullmatch(name)
            if m is None:
                continue
            key, token = stream_lock(int(m[1], 16), int(m[2]))
            locked = self.wh.fetchall(
                "SELECT pg_try_advisory_xact_lock(%(k)s, %(t)s)", {"k": key, "t": token}
            )[0][0]
            # checked again under the lock: the load may have attached it before it let go
            if locked and self.wh.fetchall(
                _UNATTACHED_STREAMS + " AND relname = %(n)s", {"pattern": pattern, "n": name}
            ):
                self.wh.execute_composed(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))

    def partitions(self, table: Table, wanted: Callable[[date], bool]) -> list[str]:
        rows = self.wh.fetchall(_PARTITIONS, {"parent": table.stg_name.lower()})
        return [name for name, d in rows if wanted(d)]

    def _drop(self, table: Table, name: str) -> None:
        stg, part = sql.Identifier(table.stg_name.lower()), sql.Identifier(name)
        self.wh.execute_composed(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(stg, part))
        self.wh.execute_composed(sql.SQL("DROP TABLE {}").format(part))
        drop_delta(self.wh, name)


def unpartitioned(wh: PostgresWarehouse, names: list[str]) -> list[str]:
    """The STG tables among `names` that are still plain tables (made before partitioning)."""
    rows = wh.fetchall(
        "SELECT upper(relname) FROM pg_class WHERE relnamespace = current_schema()::regnamespace "
        "AND relkind = 'r' AND NOT relispartition AND upper(relname) = ANY(%(n)s)",
        {"n": [n.upper() for n in names]},
    )
    return [r[0] for r in rows]


def partition_existing(wh: PostgresWarehouse, stg_name: str) -> list[str]:
    """Turn a plain STG table into a partitioned one, one partition per date, keeping every row.

    The new parent takes the old table's columns (all of them, catalog or not: nothing is
    dropped); each retained date becomes a partition; the old table goes. One transaction.
    """
    stg, old = stg_name.lower(), f"{stg_name.lower()}_unpartitioned"
    ran: list[str] = []

    def run(stmt: sql.Composable) -> None:
        wh.execute_composed(stmt)
        ran.append(stmt.as_string(wh.con))

    with wh.transaction():
        run(sql.SQL("ALTER TABLE {} RENAME TO {}").format(sql.Identifier(stg), sql.Identifier(old)))
        run(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS) PARTITION BY LIST ({})").format(
                sql.Identifier(stg), sql.Identifier(old), sql.Identifier(audit.BACKUP_DATE.lower())
            )
        )
        dates = wh.fetchall(
            sql.SQL("SELECT DISTINCT {} FROM {}")
            .format(sql.Identifier(audit.BACKUP_DATE.lower()), sql.Identifier(old))
            .as_string(wh.con)
        )
        for (d,) in sorted(dates):
            run(
                sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES IN ({})").format(
                    sql.Identifier(partition_name(stg, d)),
                    sql.Identifier(stg),
                    sql.Literal(d),
                )
            )
        run(sql.SQL("INSERT INTO {} SELECT * FROM {}").format(sql.Identifier(stg), sql.Identifier(old)))
        run(sql.SQL("DROP TABLE {}").format(sql.Identifier(old)))
    return ran
