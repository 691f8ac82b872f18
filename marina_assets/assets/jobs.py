"""Jobs over the asset graph, mirroring the legacy script's entry points.

`marina_all` is the legacy `download_csv_from_s3.py` with no flags; per-source jobs replace
`--skip-molo` / `--skip-stellar`.
"""

from __future__ import annotations

import dagster as dg

from marina_assets.assets.keys import group
from marina_assets.catalog import SYSTEMS

ALL_JOB = "marina_all"


def jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    out = [
        dg.define_asset_job(
            ALL_JOB,
            selection=dg.AssetSelection.all()
            - dg.AssetSelection.groups(*(group(s, "backups") for s in SYSTEMS)),
            description="Stage and merge every table of every source for a backup date.",
        )
    ]
    for s in SYSTEMS:
        out.append(
            dg.define_asset_job(
                f"{s.asset_prefix}_only",
                selection=dg.AssetSelection.groups(group(s, "staging"), group(s, "warehouse")),
                description=f"Stage and merge {s.label} only.",
            )
        )
    return out
