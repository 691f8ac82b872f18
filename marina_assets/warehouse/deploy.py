"""Apply the generated SQL of the warehouse's dialect and report each object's status.

Tables go through `ensure_schema` (create what is missing, ALTER ADD new catalog columns);
every other CREATE in `sql/<dialect>/` (merge procedures, views, functions) is executed in file
order. Status per object: the engine's own where it tracks one (Oracle: USER_OBJECTS.STATUS and
USER_ERRORS), otherwise OK or the error the statement raised.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from marina_assets.catalog.model import Table
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.dw_versions import ensure_triggers
from marina_assets.warehouse.schema import ensure_schema
from marina_assets.warehouse.sql_files import generate, read_tree
from marina_assets.warehouse.sql_text import created_object, split_statements


@dataclass
class DeployedObject:
    kind: str
    name: str
    status: str  # CREATED | ALTERED | UNCHANGED (tables); OK | ERROR | VALID | INVALID | MISSING
    errors: str = ""


def deploy(wh: Warehouse, tables: list[Table], sql_dir: Path | None) -> list[DeployedObject]:
    before = set(wh.existing_columns())
    ran = ensure_schema(wh, tables)
    out: list[DeployedObject] = []
    altered = {s.split()[2] for s in ran if s.startswith("ALTER TABLE")}
    for name in sorted(set(wh.existing_columns())):
        status = "CREATED" if name not in before else "ALTERED" if name in altered else "UNCHANGED"
        out.append(DeployedObject("TABLE", name, status))

    files = read_tree(sql_dir, wh.dialect) if sql_dir and (sql_dir / wh.dialect.name).exists() else None
    objects: list[DeployedObject] = []
    present = set(wh.existing_columns())
    for _, text in sorted((files or generate(wh.dialect)).items()):
        for stmt in split_statements(text):
            obj = created_object(stmt)
            if obj is None:
                continue
            if obj[0] == "TABLE":
                # catalog tables went through ensure_schema above; a table outside the catalog
                # (DW_CALENDAR, which the daily views join) is created here so views compile
                if obj[1] in present or obj[1] in {o.name for o in out}:
                    continue
                o = DeployedObject("TABLE", obj[1], "CREATED")
                try:
                    wh.execute(stmt)
                    present.add(obj[1])
                except Exception as e:
                    o.status, o.errors = "ERROR", str(e).strip()
                objects.append(o)
                continue
            o = DeployedObject(obj[0], obj[1], "OK")
            try:
                wh.execute(stmt)
            except Exception as e:  # report every object, then fail as a whole
                o.status, o.errors = "ERROR", str(e).strip()
            objects.append(o)
    if wh.dialect.dw_versions:
        # CREATE OR REPLACE TRIGGER above left the version triggers firing on origin only: back
        # to always, with new versions (`dw_versions`)
        ensure_triggers(wh, tables)
    status = wh.object_status([o.name for o in objects])
    for o in objects:
        if o.kind != "TABLE" and o.name in status and o.status != "ERROR":
            o.status, o.errors = status[o.name]
    return out + objects
