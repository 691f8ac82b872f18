"""MOLO and NetSuite backups: a ZIP holding one CSV member per table.

Members are streamed straight out of the archive and matched to catalog tables by their base
name (`Boats.csv`, case-insensitive, any folder inside the ZIP); nothing is ever extracted to
disk, so member paths such as `../x` or `/etc/x` cannot write anywhere. Two members with the
same base name make that table ambiguous: it fails rather than picking one. Decompression is
bounded by `ArchiveLimits` (see `archive.py`). Members are parsed a few at a time in threads
(`read_ahead`), their events handed on in catalog order.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from marina_assets.catalog.model import Table
from marina_assets.parsing.archive import member_opener, member_stem, open_zip
from marina_assets.parsing.csv_member import read_csv_member
from marina_assets.parsing.events import BackupError, Failed, ParseEvent
from marina_assets.parsing.limits import DEFAULT_LIMITS, ArchiveLimits, Budget
from marina_assets.parsing.read_ahead import read_ahead

# members parsed at once; events still leave in catalog order (see read_ahead)
MEMBERS_AHEAD = min(4, os.cpu_count() or 1)


def parse_csv_zip(
    stream: BinaryIO, object_name: str, tables: Sequence[Table], *, limits: ArchiveLimits = DEFAULT_LIMITS
) -> Iterator[ParseEvent]:
    archive = open_zip(stream, object_name)
    budget = Budget(limits, object_name)
    lock = threading.Lock()
    with archive:
        members: dict[str, list] = {}
        for info in archive.infolist():
            stem, ext = member_stem(info)
            if not info.is_dir() and ext == ".csv":
                members.setdefault(stem.lower(), []).append(info)
        jobs: list[Callable[[], Iterator[ParseEvent]]] = []
        for table in tables:
            found = members.get(table.source.lower(), [])
            if not found:
                failed = Failed(table, f"{object_name}: no member {table.source}.csv in the archive")
                jobs.append(lambda failed=failed: iter([failed]))
            elif len(found) > 1:
                names = ", ".join(i.filename for i in found)
                failed = Failed(table, f"{object_name}: several members for {table.source}.csv ({names})")
                jobs.append(lambda failed=failed: iter([failed]))
            else:
                where = f"{object_name}:{found[0].filename}"
                opener = member_opener(archive, found[0], object_name, budget, lock)
                jobs.append(lambda t=table, w=where, o=opener: _member(t, w, o))
        yield from read_ahead(jobs, ahead=MEMBERS_AHEAD)


def _member(table: Table, where: str, opener: Callable[[], BinaryIO]) -> Iterator[ParseEvent]:
    try:
        yield from read_csv_member(table, where, opener)
    except BackupError:
        raise
    except (EOFError, OSError) as e:
        raise BackupError(f"{where}: corrupt or truncated member ({e})") from e
