"""What a backup parser hands the staging loader: a stream of events, per table.

Parsers never materialize a whole backup: they yield typed Arrow record batches as they read,
interleaved with rejected records and a final report per table. A parser that has to re-read
a member (fast path gave up) first yields `Reset` so the loader drops what it took so far.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from marina_assets.catalog.model import Table


class BackupError(Exception):
    """The backup object itself is unusable (corrupt, truncated, unsafe, over a limit)."""


@dataclass(frozen=True)
class Reject:
    """One record that could not be staged, with enough context to find and fix it."""

    table: str  # source table name
    member: str  # file or member the record came from
    line: int | None  # physical line where the record starts, 1-based
    raw: str  # the record as read (CSV text, or the SQL tuple)
    reason: str


@dataclass(frozen=True)
class Batch:
    table: Table
    batch: pa.RecordBatch  # catalog columns, typed, plus SOURCE_LINE


@dataclass(frozen=True)
class Rejected:
    table: Table
    reject: Reject


@dataclass(frozen=True)
class Reset:
    """Forget every batch and reject of `table` seen so far; it is being read again."""

    table: Table


@dataclass
class TableReport:
    member: str
    rows_read: int = 0  # records read, rejected ones included
    rows_rejected: int = 0
    missing_columns: list[str] = field(default_factory=list)  # catalog columns absent: NULL
    extra_columns: list[str] = field(default_factory=list)  # source columns ignored


@dataclass(frozen=True)
class Finished:
    table: Table
    report: TableReport


@dataclass(frozen=True)
class Failed:
    """The table cannot be staged from this backup; nothing of it may be committed."""

    table: Table
    message: str


ParseEvent = Batch | Rejected | Reset | Finished | Failed
