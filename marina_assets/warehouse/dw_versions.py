"""A version number per DW table that every writing statement bumps (PostgreSQL).

The load classifies a date's keys against the DW table as the load read it (`pg_load_classify`);
the merge may use that delta only when the DW table has not changed since. Statement-level
triggers on INSERT, UPDATE, DELETE and TRUNCATE, enabled ALWAYS (they fire under
`session_replication_role = replica` too), set MARINA_DW_VERSIONS.VERSION to the next value of
one sequence in the writer's own transaction, whoever the writer is (a merge, a DBA's fix, a
restore script). A value is never given twice, so an equal version means the same rows.

The cost: one row update per writing statement, and writers of one DW table queue on its
version row. A fix by hand that runs while a merge of the same table holds the row waits for
the merge; if the merge then needs a row the fix changed, PostgreSQL ends one of the two as a
deadlock (the merge's transaction rolls back whole and the run can be retried).

MARINA_PRECLASSIFIED records, per STG partition, the DW version its load classified against;
the delta itself is a table next to the partition (`<partition>_pc`), created in the load's
transaction and dropped with the partition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from marina_assets.catalog.model import ColumnType, Kind, Table
from marina_assets.warehouse.ddl import ColumnDef, TableDef

if TYPE_CHECKING:
    from marina_assets.warehouse.backend import Warehouse

_INT = ColumnType(Kind.INTEGER)

VERSIONS = TableDef(
    "MARINA_DW_VERSIONS",
    (ColumnDef("TABLE_NAME", ColumnType(Kind.VARCHAR, length=30), False), ColumnDef("VERSION", _INT, False)),
    primary_key=("TABLE_NAME",),
)

PRECLASSIFIED = TableDef(
    "MARINA_PRECLASSIFIED",
    (
        ColumnDef("PARTITION_NAME", ColumnType(Kind.VARCHAR, length=63), False),
        ColumnDef("TABLE_NAME", ColumnType(Kind.VARCHAR, length=30), False),
        ColumnDef("DW_VERSION", _INT, False),
        ColumnDef("SNAPSHOT_KEYS", _INT, False),  # the keys the load classified (one row each)
        ColumnDef("DELTA_ROWS", _INT, False),  # rows of `<partition>_pc`
        ColumnDef("CLASSIFIED_AT", ColumnType(Kind.TIMESTAMP), False),
    ),
    primary_key=("PARTITION_NAME",),
)

FUNCTION = "MARINA_BUMP_DW_VERSION"
# versions come from one sequence: a value is never given twice, so a version row deleted by hand
# or a DW table dropped and made again can never match a delta classified before
SEQUENCE = "MARINA_DW_VERSION_SEQ"
SEQUENCE_SQL = f"CREATE SEQUENCE IF NOT EXISTS {SEQUENCE}"

# the version table is found in the written table's schema, whatever the writer's search_path
_BODY = f"""
BEGIN
    EXECUTE format('INSERT INTO %1$I.marina_dw_versions AS v (table_name, version) '
                   'VALUES ($1, nextval(''%1$I.{SEQUENCE.lower()}'')) '
                   'ON CONFLICT (table_name) DO UPDATE SET version = EXCLUDED.version', TG_TABLE_SCHEMA)
        USING upper(TG_TABLE_NAME);
    RETURN NULL;
END
"""
FUNCTION_SQL = f"CREATE OR REPLACE FUNCTION {FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $${_BODY}$$"


def trigger_name(table: Table) -> str:
    return f"{table.dw_name}_VERSION"


def trigger_sql(table: Table) -> str:
    return (
        f"CREATE OR REPLACE TRIGGER {trigger_name(table)} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE "
        f"ON {table.dw_name} FOR EACH STATEMENT EXECUTE FUNCTION {FUNCTION}()"
    )


def always_sql(table: Table) -> str:
    """Fire under `session_replication_role = replica` too (restore and repair scripts set it)."""
    return f"ALTER TABLE {table.dw_name} ENABLE ALWAYS TRIGGER {trigger_name(table)}"


def bump_sql(table: Table) -> str:
    """A new version for a table whose writes may have gone uncounted (its trigger was missing or
    not firing always); also the row the merge locks (`SELECT ... FOR UPDATE`)."""
    return (
        f"INSERT INTO {VERSIONS.name} (TABLE_NAME, VERSION) "
        f"VALUES ('{table.dw_name}', nextval('{SEQUENCE}')) "
        "ON CONFLICT (TABLE_NAME) DO UPDATE SET VERSION = EXCLUDED.VERSION"
    )


# (trigger present and firing always, version) of a DW table, read in one snapshot
STATE_SQL = (
    "SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgrelid = to_regclass(%(dw)s) "
    "AND tgname = lower(%(trigger)s) AND tgenabled = 'A'), "
    f"(SELECT VERSION FROM {VERSIONS.name} WHERE TABLE_NAME = %(dw)s)"
)


def state_params(table: Table) -> dict[str, str]:
    return {"dw": table.dw_name, "trigger": trigger_name(table)}


def ensure_triggers(wh: Warehouse, tables: list[Table]) -> list[str]:
    """The sequence, the bump function as written here, and each DW table's trigger firing always;
    a table whose trigger was missing or not firing always gets a new version."""
    ran: list[str] = []

    def run(statement: str) -> None:
        wh.execute(statement)
        ran.append(statement)

    if not wh.fetchall(f"SELECT to_regclass('{SEQUENCE.lower()}')")[0][0]:
        run(SEQUENCE_SQL)
    source = wh.fetchall(f"SELECT prosrc FROM pg_proc WHERE oid = to_regprocedure('{FUNCTION.lower()}()')")
    if not source or source[0][0] != _BODY:
        run(FUNCTION_SQL)
    firing = {
        name: enabled
        for name, enabled in wh.fetchall(
            "SELECT upper(t.tgname), t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace AND NOT t.tgisinternal"
        )
    }
    for t in tables:
        if firing.get(trigger_name(t)) != "A":
            if trigger_name(t) not in firing:
                run(trigger_sql(t))
            run(always_sql(t))
            run(bump_sql(t))
    return ran
