"""The backup sensor's decision rule, on listings built by hand (no clock, no store)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from marina_assets.automation.cursor import SensorCursor, decide
from marina_assets.backups.naming import BackupObject

WINDOW = timedelta(hours=48)
T0 = datetime(2025, 11, 17, 7, 0, 0)


def obj(day: int, hh: int = 6, etag: str = "e1", landed: datetime = T0) -> BackupObject:
    d = date(2025, 11, day)
    return BackupObject(
        key=f"molo_backup_{d}_{hh:02d}-00-00.zip",
        system="MOLO",
        backup_date=d,
        taken_at=datetime(2025, 11, day, hh),
        size=10,
        etag=etag,
        last_modified=landed,
    )


def test_first_evaluation_requests_only_the_newest_date_and_remembers_everything() -> None:
    listing = [obj(15), obj(16), obj(17)]
    d = decide(listing, None, window=WINDOW)
    assert [o.key for o in d.requests] == [obj(17).key]
    assert set(d.cursor.seen) == {o.key for o in listing}
    assert decide([], None, window=WINDOW).requests == []


def test_a_new_object_is_requested_once() -> None:
    c = decide([obj(16)], None, window=WINDOW).cursor
    listing = [obj(16), obj(17, landed=T0 + timedelta(hours=1))]
    d = decide(listing, c, window=WINDOW)
    assert [o.key for o in d.requests] == [obj(17).key]
    assert decide(listing, d.cursor, window=WINDOW).requests == []


def test_objects_landing_in_the_same_second_as_the_newest_seen_are_not_missed() -> None:
    first = obj(16, landed=T0)
    c = decide([first], None, window=WINDOW).cursor
    assert c.newest == T0
    # same LastModified second as the cursor's newest: a timestamp mark would lose these
    late = [obj(17, landed=T0), obj(18, landed=T0)]
    d = decide([first, *late], c, window=WINDOW)
    assert [o.backup_date.day for o in d.requests] == [17, 18]


def test_a_reupload_with_a_new_etag_is_requested_again() -> None:
    c = decide([obj(17, etag="a")], None, window=WINDOW).cursor
    d = decide([obj(17, etag="b", landed=T0 + timedelta(minutes=5))], c, window=WINDOW)
    assert [(o.key, o.etag) for o in d.requests] == [(obj(17).key, "b")]


def test_the_latest_object_of_a_date_wins() -> None:
    c = decide([obj(16)], None, window=WINDOW).cursor
    later = T0 + timedelta(hours=1)
    # two objects of the 17th arrive together: one request, for the later backup
    d = decide([obj(16), obj(17, hh=6, landed=later), obj(17, hh=9, landed=later)], c, window=WINDOW)
    assert [o.key for o in d.requests] == [obj(17, hh=9).key]
    assert [o.key for o, _ in d.ignored] == [obj(17, hh=6).key]
    # an earlier backup of the 17th arriving after the later one changes nothing
    listing = [obj(16), obj(17, hh=9, landed=later), obj(17, hh=3, landed=later + timedelta(minutes=1))]
    d2 = decide(listing, decide(listing[:2], c, window=WINDOW).cursor, window=WINDOW)
    assert d2.requests == []
    assert "later backup" in d2.ignored[0][1]


def test_the_cursor_is_bounded_by_the_window_and_survives_a_json_round_trip() -> None:
    old = obj(1, landed=T0 - timedelta(days=10))
    c = decide([old, obj(17)], None, window=WINDOW).cursor
    assert set(c.seen) == {obj(17).key}  # the old object is outside the window: not kept...
    restored = SensorCursor.from_json(c.to_json())
    assert restored == c
    assert decide([old, obj(17)], restored, window=WINDOW).requests == []  # ...and not requested
