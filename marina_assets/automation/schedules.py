"""The daily fallback schedule: the legacy 07:00 cron, for when a sensor missed a backup.

It runs `marina_all` for the backup date of the tick (today in the schedule's time zone:
backups are taken in the morning of their date). Off by default: the sensors are the primary
trigger, and a duplicate run is harmless (re-running a partition gives the same DW) but noisy.
"""

import dagster as dg

from marina_assets.assets.jobs import ALL_JOB
from marina_assets.automation.settings import AutomationSettings

SCHEDULE_NAME = "marina_daily"


def daily_schedule(settings: AutomationSettings) -> dg.ScheduleDefinition:
    @dg.schedule(
        name=SCHEDULE_NAME,
        job_name=ALL_JOB,
        cron_schedule=settings.schedule_cron,
        execution_timezone=settings.schedule_timezone,
        default_status=dg.DefaultScheduleStatus.STOPPED,
        description=(
            f"Fallback: every day at {settings.schedule_hour:02d}:{settings.schedule_minute:02d} "
            f"{settings.schedule_timezone}, stage and merge that day's backups of every source."
        ),
    )
    def _daily(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
        day = context.scheduled_execution_time.date().isoformat()
        return dg.RunRequest(run_key=f"daily-{day}", partition_key=day)

    return _daily
