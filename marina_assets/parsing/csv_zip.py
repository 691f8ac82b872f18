"""MOLO and NetSuite backups: a ZIP holding one CSV member per table.

Members are streamed straight out of the archive and matched to catalog tables by their base
name (`Boats.csv`, case-insensitive, any folder inside the ZIP); nothing is ever extracted to
disk, so member paths such as `../x` or `/etc/x` cannot write anywhere.
"""

from __future__ import annotations

import posixpath
import zipfile
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from marina_assets.catalog.model import Table
from marina_assets.parsing.csv_member import read_csv_member
from marina_assets.parsing.events import BackupError, Failed, ParseEvent


def parse_csv_zip(stream: BinaryIO, object_name: str, tables: Sequence[Table]) -> Iterator[ParseEvent]:
    try:
        archive = zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, OSError) as e:
        raise BackupError(f"{object_name}: not a readable ZIP archive ({e})") from e
    with archive:
        members: dict[str, zipfile.ZipInfo] = {}
        for info in archive.infolist():
            if info.is_dir():
                continue
            stem, ext = posixpath.splitext(posixpath.basename(info.filename.replace("\\", "/")))
            if ext.lower() == ".csv":
                members.setdefault(stem.lower(), info)
        for table in tables:
            info = members.get(table.source.lower())
            if info is None:
                yield Failed(table, f"{object_name}: no member {table.source}.csv in the archive")
                continue
            where = f"{object_name}:{info.filename}"
            try:
                yield from read_csv_member(table, where, lambda info=info: archive.open(info))
            except (zipfile.BadZipFile, EOFError, OSError) as e:
                raise BackupError(f"{where}: corrupt or truncated member ({e})") from e
