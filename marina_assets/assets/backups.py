"""One external asset per source system: its nightly backup object, partitioned by date."""

from __future__ import annotations

import dagster as dg

from marina_assets.assets.keys import backup_key, group
from marina_assets.assets.partitions import BACKUP_DATES
from marina_assets.catalog.model import SourceSystem

BACKUP_IO_MANAGER_KEY = "backup_io_manager"


def backup_spec(system: SourceSystem, *, store_kind: str) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=backup_key(system),
        description=(
            f"Nightly {system.label} backup ({system.backup_format}); objects named like "
            f"`{system.object_name_format}`. The latest object of a date wins."
        ),
        group_name=group(system, "backups"),
        kinds={store_kind},
        partitions_def=BACKUP_DATES,
        metadata={"marina/system": system.code, "marina/object_pattern": system.object_pattern},
    ).with_io_manager_key(BACKUP_IO_MANAGER_KEY)
