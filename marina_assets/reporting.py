"""Per-table counts read back from the load log, for the CLI summary (and later the email)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.ddl import LOAD_LOG


@dataclass(frozen=True)
class TableSummary:
    backup_date: date
    table: str  # DW table name
    loaded: int  # rows staged
    rejected: int
    inserted: int
    updated: int
    deleted: int
    revived: int
    live: int | None  # live DW rows after the merge, when a merge ran
    status: str


def load_summary(
    wh: Warehouse, *, run_ids: Sequence[str] | None = None, backup_date: date | None = None
) -> list[TableSummary]:
    """One line per DW table and backup date: the latest STG load and merge of that date."""
    b = wh.dialect.bind
    where: list[str] = []
    params: dict[str, object] = {}
    if run_ids:
        where.append(f"LOAD_RUN_ID IN ({', '.join(b(f'r{i}') for i in range(len(run_ids)))})")
        params.update({f"r{i}": r for i, r in enumerate(run_ids)})
    if backup_date:
        where.append(f"BACKUP_DATE = {b('d')}")
        params["d"] = backup_date
    cond = f"WHERE {' AND '.join(where)}" if where else ""
    rows = wh.fetchall(
        f"SELECT BACKUP_DATE, LAYER, TABLE_NAME, STATUS, ROWS_LOADED, ROWS_REJECTED, ROWS_INSERTED, "
        f"ROWS_UPDATED, ROWS_DELETED, ROWS_REVIVED, ROWS_LIVE, FINISHED_AT FROM {LOAD_LOG.name} {cond} "
        f"ORDER BY FINISHED_AT",
        params,
    )
    stg: dict[tuple[date, str], tuple] = {}
    dw: dict[tuple[date, str], tuple] = {}
    for r in rows:
        name = r[2]
        dw_name = "DW_" + name[4:] if r[1] == "STG" else name
        (stg if r[1] == "STG" else dw)[(r[0], dw_name)] = r
    out = []
    for key in sorted(set(stg) | set(dw)):
        s, m = stg.get(key), dw.get(key)
        out.append(
            TableSummary(
                backup_date=key[0],
                table=key[1],
                loaded=(s[4] or 0) if s else 0,
                rejected=((s[5] or 0) if s else 0) + ((m[5] or 0) if m else 0),
                inserted=(m[6] or 0) if m else 0,
                updated=(m[7] or 0) if m else 0,
                deleted=(m[8] or 0) if m else 0,
                revived=(m[9] or 0) if m else 0,
                live=m[10] if m else None,
                status=(m[3] if m else s[3] if s else "?"),
            )
        )
    return out
