"""Backup parsers, one per backup format, all yielding the same `ParseEvent` stream.

Every parser is `parse(stream, object_name, tables, *, limits=ArchiveLimits())`; the mysqldump
parser also takes `schema=` (columns from a schema-only dump, for `--no-create-info` dumps).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, BinaryIO

from marina_assets.catalog.model import Table
from marina_assets.parsing.csv_gz import parse_csv_gz
from marina_assets.parsing.csv_zip import parse_csv_zip
from marina_assets.parsing.events import BackupError, ParseEvent
from marina_assets.parsing.limits import DEFAULT_LIMITS, ArchiveLimits
from marina_assets.parsing.mysqldump import parse_mysqldump

Parser = Callable[..., Iterator[ParseEvent]]
"""(stream: BinaryIO, object_name: str, tables: Sequence[Table], *, limits: ArchiveLimits, ...)"""

PARSERS: dict[str, Parser] = {
    "csv_zip": parse_csv_zip,
    "mysqldump": parse_mysqldump,
    "csv_gz": parse_csv_gz,  # legacy Stellar per-table drops, see csv_gz.py for the naming
}


def parse_backup(
    backup_format: str, stream: BinaryIO, object_name: str, tables: Sequence[Table], **options: Any
) -> Iterator[ParseEvent]:
    """Parse with the format's parser; `options` (e.g. `limits`) are passed on."""
    return PARSERS[backup_format](stream, object_name, tables, **options)


__all__ = [
    "DEFAULT_LIMITS",
    "PARSERS",
    "ArchiveLimits",
    "BackupError",
    "ParseEvent",
    "Parser",
    "parse_backup",
]
