"""What a backup sensor has already seen, and which backup dates a new listing asks to (re)load.

Why not a timestamp high-water mark: S3 lists `LastModified` with one-second resolution, so two
objects landing in the same second as the mark would be skipped (`>`) or reloaded forever (`>=`).
Instead the cursor keeps the `(key, etag)` pairs seen within a window behind the newest
`LastModified` it has observed. Anything listed that is not in that set is new — including a
re-upload under the same key (new ETag). Objects older than the window are treated as already
seen, which bounds the cursor without ever losing a fresh object. The window is measured on the
store's own clock (the listing's `LastModified`), so host clock skew does not matter.

The first evaluation (no cursor) remembers everything it finds and asks only for the newest
backup date, as the legacy cron did: turning a sensor on over two years of history must not
launch hundreds of runs (a backfill is the tool for that).
"""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from marina_assets.backups.naming import BackupObject, latest_per_date


@dataclass
class SensorCursor:
    newest: datetime | None = None  # newest LastModified ever listed
    seen: dict[str, str] = field(default_factory=dict)  # key -> etag, within the window

    def to_json(self) -> str:
        return json.dumps(
            {"newest": self.newest.isoformat() if self.newest else None, "seen": self.seen},
            sort_keys=True,
        )

    @staticmethod
    def from_json(raw: str | None) -> SensorCursor | None:
        if not raw:
            return None
        data = json.loads(raw)
        newest = datetime.fromisoformat(data["newest"]) if data.get("newest") else None
        return SensorCursor(newest=newest, seen=dict(data.get("seen", {})))


@dataclass(frozen=True)
class Decision:
    requests: list[BackupObject]  # the winning object of each date to (re)load, oldest date first
    ignored: list[tuple[BackupObject, str]]  # new objects that trigger nothing, and why
    cursor: SensorCursor


def decide(objects: list[BackupObject], cursor: SensorCursor | None, *, window: timedelta) -> Decision:
    """Compare a full listing with the cursor: which dates need a run, and the next cursor."""
    newest = max((o.last_modified for o in objects), default=None)
    if cursor is not None and cursor.newest is not None:
        newest = max(newest, cursor.newest) if newest else cursor.newest
    floor = newest - window if newest else None
    recent = [o for o in objects if floor is None or o.last_modified >= floor]
    next_cursor = SensorCursor(newest=newest, seen={o.key: o.etag for o in recent})
    winners = latest_per_date(objects)

    if cursor is None:
        latest_date = max(winners, default=None)
        return Decision([winners[latest_date]] if latest_date else [], [], next_cursor)

    fresh = [o for o in recent if cursor.seen.get(o.key) != o.etag]
    by_date: dict[date, list[BackupObject]] = defaultdict(list)
    for o in fresh:
        by_date[o.backup_date].append(o)
    requests: list[BackupObject] = []
    ignored: list[tuple[BackupObject, str]] = []
    for d in sorted(by_date):
        winner = winners[d]
        if any(o.key == winner.key and o.etag == winner.etag for o in by_date[d]):
            requests.append(winner)
            ignored += [(o, f"superseded by {winner.key}") for o in by_date[d] if o.key != winner.key]
        else:
            ignored += [(o, f"{winner.key} is the later backup of {d}") for o in by_date[d]]
    return Decision(requests, ignored, next_cursor)
