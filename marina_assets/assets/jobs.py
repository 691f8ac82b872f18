"""Jobs over the asset graph, mirroring the legacy script's entry points.

| legacy | job |
| --- | --- |
| `download_csv_from_s3.py` (no flags) | `marina_all` |
| `--skip-stellar` / `--skip-molo` | `molo_only`, `stellar_only`, `netsuite_only` |
| `--skip-merges` | `marina_staging_only` |
| `run_merges.py` | `marina_merges_only` |
| (views refresh) | `marina_views_only` |

Layers are selected by the `marina/layer` tag every spec carries (`staging`, `warehouse`,
`views`), so assets added later to a layer join its job without an edit here. The retention and
rebuild jobs are op jobs in `marina_assets/automation/maintenance.py`.
"""

from __future__ import annotations

import dagster as dg

from marina_assets.assets.keys import group
from marina_assets.catalog import SYSTEMS
from marina_assets.catalog.model import SourceSystem

ALL_JOB = "marina_all"
STAGING_JOB = "marina_staging_only"
MERGES_JOB = "marina_merges_only"
VIEWS_JOB = "marina_views_only"
LAYER_TAG = "marina/layer"


def source_job_name(system: SourceSystem) -> str:
    return f"{system.asset_prefix}_only"


def layer(name: str) -> dg.AssetSelection:
    return dg.AssetSelection.tag(LAYER_TAG, name)


def jobs() -> list[dg.UnresolvedAssetJobDefinition]:
    out = [
        dg.define_asset_job(
            ALL_JOB,
            selection=dg.AssetSelection.all()
            - dg.AssetSelection.groups(*(group(s, "backups") for s in SYSTEMS)),
            description="Stage and merge every table of every source for a backup date.",
        ),
        dg.define_asset_job(
            STAGING_JOB,
            selection=layer("staging"),
            description="Load every STG table of every source for a backup date, no merges (--skip-merges).",
        ),
        dg.define_asset_job(
            MERGES_JOB,
            selection=layer("warehouse"),
            description="Merge the staged date into every DW table, nothing loaded (run_merges.py).",
        ),
        # empty until view assets exist; an empty asset job is valid and harmless
        dg.define_asset_job(VIEWS_JOB, selection=layer("views"), description="Refresh the analytic views."),
    ]
    for s in SYSTEMS:
        out.append(
            dg.define_asset_job(
                source_job_name(s),
                selection=dg.AssetSelection.groups(group(s, "staging"), group(s, "warehouse")),
                description=f"Stage and merge {s.label} only.",
            )
        )
    return out
