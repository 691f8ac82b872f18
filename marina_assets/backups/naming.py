"""Backup object names: which system a key belongs to and which backup date it carries."""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass
from datetime import date, datetime

from marina_assets.catalog.model import SourceSystem


@dataclass(frozen=True)
class BackupObject:
    key: str  # full key (S3) or path relative to the backups folder
    system: str
    backup_date: date
    taken_at: datetime  # from the name: the latest object of a date wins
    size: int
    etag: str  # changes when an object is re-uploaded under the same key
    last_modified: datetime

    @property
    def name(self) -> str:
        return posixpath.basename(self.key)


def parse_name(system: SourceSystem, key: str) -> tuple[date, datetime] | None:
    """(backup date, time taken) when `key`'s file name is one of `system`'s backups."""
    m = re.fullmatch(system.object_pattern, posixpath.basename(key))
    if not m:
        return None
    digits = re.sub(r"\D", "", m.group("time"))
    hh, mm, ss = int(digits[0:2]), int(digits[2:4]), int(digits[4:6] or 0)
    try:
        # an impossible date or time in a name is not a backup: a sensor must not crash on it
        day = date.fromisoformat(m.group("date"))
        return day, datetime(day.year, day.month, day.day, hh, mm, ss)
    except ValueError:
        return None


def latest_per_date(objects: list[BackupObject]) -> dict[date, BackupObject]:
    """The winning object of each date: latest time in its name, then latest upload."""
    best: dict[date, BackupObject] = {}
    for o in objects:
        cur = best.get(o.backup_date)
        if cur is None or (o.taken_at, o.last_modified, o.key) > (cur.taken_at, cur.last_modified, cur.key):
            best[o.backup_date] = o
    return best
