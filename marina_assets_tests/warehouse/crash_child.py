"""Child process for the kill -9 tests: starts a load or a merge and stops dead in its middle.

    python -m marina_assets_tests.warehouse.crash_child load|merge|merge_split KIND TARGET SYNC_FILE DATE

It writes SYNC_FILE once it is inside the transaction (after two staged batches, after the
merge's classify, or, for merge_split on PostgreSQL, once the helper connections have imported
the merge's snapshot and before they read) and then blocks reading stdin until the parent kills
it, so the parent never has to guess a timing.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

from marina_assets.parsing.events import Batch, ParseEvent
from marina_assets.staging.loader import load_backup
from marina_assets.warehouse import merger
from marina_assets_tests.warehouse.support import T, batch_of, open_warehouse


def _signal_and_block(sync: Path) -> None:
    sync.write_text("inside the transaction\n")
    sys.stdin.read()  # the parent never writes: only SIGKILL ends this


def _events(sync: Path) -> Iterator[ParseEvent]:
    for i in range(2):
        rows = [(1000 * i + k, f"new{k}", None, None, None) for k in range(500)]
        yield Batch(T, batch_of(T, rows, first_line=2 + 500 * i))
    _signal_and_block(sync)


def main(phase: str, kind: str, target: str, sync_file: str, day: str) -> None:
    sync = Path(sync_file)
    wh = open_warehouse(kind, path=Path(target), dsn=target)
    d = date.fromisoformat(day)
    if phase == "load":
        load_backup(wh, tables=[T], backup_date=d, run_id="killed", events=_events(sync))
    elif phase == "merge_split":
        import psycopg
        from psycopg import sql

        from marina_assets.warehouse import pg_snapshot_readers

        def stuck_read(con: psycopg.Connection, snapshot: str, query: object) -> None:
            with con.transaction():
                con.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
                _signal_and_block(sync)

        wh.readers.min_rows = 0  # type: ignore[attr-defined]  # split even a few keys
        pg_snapshot_readers._read = stuck_read
        merger.merge_table(wh, T, d, "killed")
    else:

        def guard(*_a: object, **_k: object) -> bool:
            _signal_and_block(sync)
            return False

        merger.looks_truncated = guard
        merger.merge_table(wh, T, d, "killed")


if __name__ == "__main__":
    main(*sys.argv[1:])
