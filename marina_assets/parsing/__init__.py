"""Backup parsers, one per backup format, all yielding the same `ParseEvent` stream."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import BinaryIO

from marina_assets.catalog.model import Table
from marina_assets.parsing.csv_zip import parse_csv_zip
from marina_assets.parsing.events import BackupError, ParseEvent
from marina_assets.parsing.mysqldump import parse_mysqldump

Parser = Callable[[BinaryIO, str, Sequence[Table]], Iterator[ParseEvent]]

PARSERS: dict[str, Parser] = {
    "csv_zip": parse_csv_zip,
    "mysqldump": parse_mysqldump,
}

__all__ = ["PARSERS", "BackupError", "ParseEvent", "Parser"]
