"""MOLO and NetSuite backups: a ZIP holding one CSV member per table.

Members are streamed straight out of the archive and matched to catalog tables by their base
name (`Boats.csv`, case-insensitive, any folder inside the ZIP); nothing is ever extracted to
disk, so member paths such as `../x` or `/etc/x` cannot write anywhere. Two members with the
same base name make that table ambiguous: it fails rather than picking one. Decompression is
bounded by `ArchiveLimits` (see `archive.py`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import BinaryIO

from marina_assets.catalog.model import Table
from marina_assets.parsing.archive import member_opener, member_stem, open_zip
from marina_assets.parsing.csv_member import read_csv_member
from marina_assets.parsing.events import BackupError, Failed, ParseEvent
from marina_assets.parsing.limits import DEFAULT_LIMITS, ArchiveLimits, Budget


def parse_csv_zip(
    stream: BinaryIO, object_name: str, tables: Sequence[Table], *, limits: ArchiveLimits = DEFAULT_LIMITS
) -> Iterator[ParseEvent]:
    archive = open_zip(stream, object_name)
    budget = Budget(limits, object_name)
    with archive:
        members: dict[str, list] = {}
        for info in archive.infolist():
            stem, ext = member_stem(info)
            if not info.is_dir() and ext == ".csv":
                members.setdefault(stem.lower(), []).append(info)
        for table in tables:
            found = members.get(table.source.lower(), [])
            if not found:
                yield Failed(table, f"{object_name}: no member {table.source}.csv in the archive")
                continue
            if len(found) > 1:
                names = ", ".join(i.filename for i in found)
                yield Failed(table, f"{object_name}: several members for {table.source}.csv ({names})")
                continue
            info = found[0]
            where = f"{object_name}:{info.filename}"
            try:
                yield from read_csv_member(table, where, member_opener(archive, info, object_name, budget))
            except BackupError:
                raise
            except (EOFError, OSError) as e:
                raise BackupError(f"{where}: corrupt or truncated member ({e})") from e
