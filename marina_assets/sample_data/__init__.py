"""Sample backups for demos and tests: a seeded evolution of every catalog table over days,
written in each source's real backup format, plus the warehouse state they should produce.

    snapshots = list(generate(start=date(2025, 11, 17), days=3, scale=0.1))
    write_snapshots(snapshots, ".marina/backups")        # or "s3://bucket/prefix"
    truth = expected_state(snapshots)                      # dw_name -> pk -> ExpectedRow

`generator` evolves the tables, `values` makes the column values, `writers` produces the
MOLO / NetSuite CSV ZIPs and the Stellar mysqldump, `expected` computes the merge's outcome.
"""

from marina_assets.sample_data.expected import (
    ExpectedRow,
    change_counts,
    daily_change_counts,
    expected_state,
)
from marina_assets.sample_data.generator import Snapshot, generate
from marina_assets.sample_data.writers import backup_object_name, write_backup, write_snapshots

__all__ = [
    "ExpectedRow",
    "Snapshot",
    "backup_object_name",
    "change_counts",
    "daily_change_counts",
    "expected_state",
    "generate",
    "write_backup",
    "write_snapshots",
]
