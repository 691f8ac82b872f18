"""Legacy Stellar drops: one gzipped CSV per table.

Before the mysqldump era Stellar dropped each table as its own object. Naming (documented in
DESIGN terms: one object = one table):

    prod_resilient_YYYY-MM-DD_HH_MM-<table>.csv.gz      e.g. prod_resilient_2024-03-01_05_00-bookings.csv.gz
    <table>.csv.gz                                      (a bare drop; the table is the name)

The table is the part of the file name after the last `-` (or the whole stem), matched to the
catalog's source names case-insensitively. Catalog tables not carried by this object are not
reported by this parser (another object of the same drop carries them). The CSV rules are
those of every member (`csv_member`): header names, PostgreSQL COPY NULL semantics.

The gzip stream is decompressed under `ArchiveLimits`; the CSV reader may read the member
twice (fast path, then exact path), so a non-seekable source is first spooled (compressed) to
a temporary file that never carries a name from the object.
"""

from __future__ import annotations

import posixpath
import re
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from typing import BinaryIO

from marina_assets.catalog.model import Table
from marina_assets.parsing.csv_member import read_csv_member
from marina_assets.parsing.events import ParseEvent
from marina_assets.parsing.limits import DEFAULT_LIMITS, ArchiveLimits, open_gzip

_NAME = re.compile(r"(?:.*-)?(?P<table>[^-/]+)\.csv\.gz", re.I)


def table_of(object_name: str) -> str | None:
    m = _NAME.fullmatch(posixpath.basename(object_name))
    return m.group("table") if m else None


def parse_csv_gz(
    stream: BinaryIO, object_name: str, tables: Sequence[Table], *, limits: ArchiveLimits = DEFAULT_LIMITS
) -> Iterator[ParseEvent]:
    name = table_of(object_name)
    wanted = [t for t in tables if name is not None and t.source.lower() == name.lower()]
    if not wanted:
        return
    with tempfile.TemporaryFile() as spool:
        source: BinaryIO = stream
        if not (hasattr(stream, "seekable") and stream.seekable()):
            shutil.copyfileobj(stream, spool, 1 << 20)
            spool.seek(0)
            source = spool  # type: ignore[assignment]
        start = source.tell()

        def open_member() -> BinaryIO:
            source.seek(start)
            return open_gzip(source, object_name, limits)  # type: ignore[return-value]

        for table in wanted:
            yield from read_csv_member(table, object_name, open_member)
