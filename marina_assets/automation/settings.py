"""The automation's environment switches, read in one place (never a secret: see `mailer.py`).

| variable | default | meaning |
| --- | --- | --- |
| `MARINA_SENSOR_INTERVAL_SECONDS` | 60 | how often each backup sensor lists its source |
| `MARINA_SENSORS_DEFAULT_STATUS` | running | backup + report sensors on (`running`) or off (`stopped`) |
| `MARINA_SENSOR_WINDOW_HOURS` | 48 | how far behind the newest object the sensor still remembers keys |
| `MARINA_SCHEDULE_TIME` | 07:00 | daily fallback schedule (the legacy cron time) |
| `MARINA_SCHEDULE_TIMEZONE` | UTC | its IANA time zone |
| `MARINA_MAX_BACKUP_AGE_HOURS` | 24 | a source without a new backup for longer is stale |
| `MARINA_MAX_RUNTIME_MINUTES` | 15 | a run longer than this raises an alert |
| `MARINA_RETRY_DELAY_SECONDS` | 30 | first retry delay of a transient fault (doubles per attempt) |
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip()
    return int(raw) if raw else default


def _float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    return float(raw) if raw else default


@dataclass(frozen=True)
class AutomationSettings:
    sensor_interval_seconds: int = 60
    sensors_running: bool = True
    sensor_window_hours: float = 48.0
    schedule_hour: int = 7
    schedule_minute: int = 0
    schedule_timezone: str = "UTC"
    max_backup_age_hours: float = 24.0
    max_runtime_minutes: float = 15.0
    retry_delay_seconds: float = 30.0

    @property
    def schedule_cron(self) -> str:
        return f"{self.schedule_minute} {self.schedule_hour} * * *"


def automation_settings() -> AutomationSettings:
    time = os.environ.get("MARINA_SCHEDULE_TIME", "07:00").strip()
    m = re.fullmatch(r"(\d{1,2}):(\d{2})", time)
    if not m or int(m.group(1)) > 23 or int(m.group(2)) > 59:
        raise ValueError(f"MARINA_SCHEDULE_TIME={time!r} is not a time of day like 07:00")
    status = os.environ.get("MARINA_SENSORS_DEFAULT_STATUS", "running").strip().lower()
    if status not in ("running", "stopped"):
        raise ValueError(f"MARINA_SENSORS_DEFAULT_STATUS={status!r} is not running|stopped")
    return AutomationSettings(
        sensor_interval_seconds=max(1, _int("MARINA_SENSOR_INTERVAL_SECONDS", 60)),
        sensors_running=status == "running",
        sensor_window_hours=_float("MARINA_SENSOR_WINDOW_HOURS", 48.0),
        schedule_hour=int(m.group(1)),
        schedule_minute=int(m.group(2)),
        schedule_timezone=os.environ.get("MARINA_SCHEDULE_TIMEZONE", "UTC").strip() or "UTC",
        max_backup_age_hours=_float("MARINA_MAX_BACKUP_AGE_HOURS", 24.0),
        max_runtime_minutes=_float("MARINA_MAX_RUNTIME_MINUTES", 15.0),
        retry_delay_seconds=_float("MARINA_RETRY_DELAY_SECONDS", 30.0),
    )
