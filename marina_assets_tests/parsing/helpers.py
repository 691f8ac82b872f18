"""Collect a parser's events into plain values tests can compare."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from marina_assets.parsing.events import (
    Batch,
    Failed,
    Finished,
    ParseEvent,
    Reject,
    Rejected,
    Reset,
    TableReport,
)


@dataclass
class Collected:
    rows: dict[str, list[dict]] = field(default_factory=dict)
    rejects: dict[str, list[Reject]] = field(default_factory=dict)
    reports: dict[str, TableReport] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def collect(events: Iterable[ParseEvent]) -> Collected:
    out = Collected()
    for ev in events:
        name = ev.table.source
        if isinstance(ev, Batch):
            out.rows.setdefault(name, []).extend(ev.batch.to_pylist())
        elif isinstance(ev, Rejected):
            out.rejects.setdefault(name, []).append(ev.reject)
        elif isinstance(ev, Reset):
            out.rows.pop(name, None)
            out.rejects.pop(name, None)
        elif isinstance(ev, Finished):
            out.reports[name] = ev.report
        elif isinstance(ev, Failed):
            out.failures[name] = ev.message
    return out
