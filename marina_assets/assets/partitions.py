"""One daily partition per backup date, shared by backups, STG and DW assets.

`end_offset=1` makes today a partition: backups are taken in the morning of their date.
"""

from __future__ import annotations

import dagster as dg

from marina_assets import settings

BACKUP_DATES = dg.DailyPartitionsDefinition(start_date=settings.PARTITIONS_START, end_offset=1)
