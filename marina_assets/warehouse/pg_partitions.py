"""PostgreSQL STG: one list partition per backup date, swapped in by the load that made it.

A load creates a plain table shaped like the STG table, with a CHECK on its date and the
load's constant columns (date, run id, load time) as column defaults. Created in the load's
own transaction, it takes `COPY ... FREEZE`: rows are written frozen, so the merge's first
read sets no hint bits and vacuum never has to revisit them. COPY sends only the file's
columns; the defaults fill the constants. `publish` detaches and drops the date's previous
partition and attaches the new one; thanks to the CHECK, ATTACH does not scan it. A failed
table drops its new table, a crash rolls all of it back: PostgreSQL's DDL is transactional.

The date's rows are then one partition: the merge reads that date's pages only however many
dates are retained (a BRIN index on an unpartitioned table read every page, as the freshly
COPYed range was not summarized), and retention drops partitions instead of deleting rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

from psycopg import sql

from marina_assets.catalog import audit
from marina_assets.catalog.model import Table
from marina_assets.warehouse.staging_store import Target

if TYPE_CHECKING:
    from marina_assets.warehouse.postgres_backend import PostgresWarehouse

# a partition's date, read back from its bound in the session's own DateStyle
_BOUND_DATE = "(regexp_match(pg_get_expr(c.relpartbound, c.oid), '''([^'']+)'''))[1]::date"
_PARTITIONS = (
    f"SELECT c.relname, {_BOUND_DATE} FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
    "WHERE i.inhparent = to_regclass(%(parent)s)"
)


def partition_name(stg_name: str, backup_date: date) -> str:
    """A new name per load (the previous partition of the date still exists until `publish`)."""
    return f"{stg_name}_{backup_date:%Y%m%d}_{secrets.token_hex(4)}".lower()


class PartitionStore:
    def __init__(self, wh: PostgresWarehouse) -> None:
        self.wh = wh
        self._open: dict[tuple[str, date], str] = {}

    def open(self, table: Table, backup_date: date, run_id: str, constants: dict[str, Any]) -> Target:
        name = partition_name(table.stg_name, backup_date)
        part, stg = sql.Identifier(name), sql.Identifier(table.stg_name.lower())
        defaults = sql.SQL(", ").join(
            sql.SQL("ALTER COLUMN {} SET DEFAULT {}").format(sql.Identifier(c.lower()), sql.Literal(v))
            for c, v in constants.items()
        )
        self.wh.execute_composed(
            sql.SQL("CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS, CHECK ({} = {}))").format(
                part, stg, sql.Identifier(audit.BACKUP_DATE.lower()), sql.Literal(backup_date)
            )
        )
        if constants:
            self.wh.execute_composed(sql.SQL("ALTER TABLE {} ").format(part) + defaults)
        self.wh.created_in_transaction(name)
        self._open[(table.stg_name, backup_date)] = name
        return Target(name, {})

    def reset(self, table: Table, backup_date: date, run_id: str) -> None:
        name = self._open[(table.stg_name, backup_date)]
        self.wh.execute_composed(sql.SQL("TRUNCATE {}").format(sql.Identifier(name)))
        self.wh.created_in_transaction(name)

    def discard(self, table: Table, backup_date: date, run_id: str) -> None:
        name = self._open.pop((table.stg_name, backup_date), None)
        if name is not None:
            self.wh.execute_composed(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))

    def publish(self, table: Table, backup_date: date, run_id: str) -> None:
        name = self._open.pop((table.stg_name, backup_date))
        for old in self._partitions(table, lambda d: d == backup_date):
            self._drop(table, old)
        self.wh.execute_composed(
            sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})").format(
                sql.Identifier(table.stg_name.lower()), sql.Identifier(name), sql.Literal(backup_date)
            )
        )

    def prune(self, table: Table, cutoff: date) -> int:
        removed = 0
        for old in self._partitions(table, lambda d: d < cutoff):
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
        partition is never changed after its load, so once is enough.
        """
        names = (*table.primary_key, audit.BACKUP_DATE)
        columns = sql.SQL(", ").join(sql.Identifier(c.lower()) for c in names)
        for name in self._partitions(table, lambda d: d == backup_date):
            rows = self.wh.fetchall(
                "SELECT reltuples FROM pg_class WHERE oid = to_regclass(%(t)s)", {"t": name}
            )
            if rows and rows[0][0] < 0:
                self.wh.execute("SET LOCAL default_statistics_target = 10")
                self.wh.execute_composed(sql.SQL("ANALYZE {} ({})").format(sql.Identifier(name), columns))
                self.wh.execute("RESET default_statistics_target")

    def _partitions(self, table: Table, wanted: Callable[[date], bool]) -> list[str]:
        rows = self.wh.fetchall(_PARTITIONS, {"parent": table.stg_name.lower()})
        return [name for name, d in rows if wanted(d)]

    def _drop(self, table: Table, name: str) -> None:
        stg, part = sql.Identifier(table.stg_name.lower()), sql.Identifier(name)
        self.wh.execute_composed(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(stg, part))
        self.wh.execute_composed(sql.SQL("DROP TABLE {}").format(part))


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
