"""The run report email: per source and per table counts, colour-coded, HTML plus plain text.

Pure: a `RunReport` in, an `EmailMessage` out (sending is `mailer.py`, gathering the facts is
`report_sensors.py`). The layout follows the legacy email: one block per source system, one
line per table such as `DW_MOLO_BOATS → 793 records`, with inserted / updated / deleted /
rejected counts, and the failure reason when the run failed.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from email.message import EmailMessage

from marina_assets.catalog import SYSTEMS
from marina_assets.reporting import TableSummary

GREEN, AMBER, RED, GREY = "#1e7e34", "#b8860b", "#c82333", "#6c757d"
_OK = {"merged", "loaded"}
_WARN = {"skipped_older", "no_staging"}


@dataclass(frozen=True)
class Attachment:
    name: str
    content: bytes


@dataclass(frozen=True)
class RunReport:
    job_name: str
    run_id: str
    succeeded: bool
    partitions: str  # backup date(s) of the run, e.g. "2025-11-17" or "2025-11-14 .. 2025-11-18"
    tables: list[TableSummary]
    failure: str | None = None
    duration_seconds: float | None = None
    attachments: list[Attachment] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # e.g. "backups not attached: 31 MB > 20 MB"


def table_state(t: TableSummary) -> tuple[str, str]:
    """(label, colour) of one table line."""
    if t.status in _OK and t.rejected == 0:
        return "OK", GREEN
    if t.status in _OK or t.status in _WARN:
        return ("rejects" if t.status in _OK else t.status.replace("_", " ")), AMBER
    return t.status.upper(), RED


def _system_of(table: str) -> str:
    for s in SYSTEMS:
        if table.startswith(f"DW_{s.code}_"):
            return s.code
    return "OTHER"


def _label(code: str) -> str:
    return next((s.label for s in SYSTEMS if s.code == code), code)


def _records(t: TableSummary) -> int:
    return t.live if t.live is not None else t.loaded


def _line(t: TableSummary) -> str:
    return (
        f"{t.table} → {_records(t):,} records (inserted {t.inserted:,}, updated {t.updated:,}, "
        f"deleted {t.deleted:,}, rejected {t.rejected:,})"
    )


def _by_system(report: RunReport) -> dict[str, list[TableSummary]]:
    out: dict[str, list[TableSummary]] = {}
    for t in sorted(report.tables, key=lambda t: (t.table, t.backup_date)):
        out.setdefault(_system_of(t.table), []).append(t)
    return out


def _system_colour(tables: list[TableSummary]) -> str:
    colours = {table_state(t)[1] for t in tables}
    return RED if RED in colours else AMBER if AMBER in colours else GREEN


def subject(report: RunReport, prefix: str) -> str:
    what = "Processing Complete" if report.succeeded else "Processing FAILED"
    return f"{prefix} {what} - {report.partitions} ({report.job_name})"


def plain_text(report: RunReport) -> str:
    lines = [
        f"Run {report.run_id} of {report.job_name}: {'SUCCESS' if report.succeeded else 'FAILURE'}",
        f"Backup date(s): {report.partitions}",
    ]
    if report.duration_seconds is not None:
        lines.append(f"Duration: {report.duration_seconds:,.0f} s")
    if report.failure:
        lines += ["", "Failure:", report.failure]
    for code, tables in _by_system(report).items():
        total = sum(_records(t) for t in tables)
        lines += ["", f"{_label(code)} ({code}): {len(tables)} tables, {total:,} records"]
        lines += [f"  [{table_state(t)[0]}] {t.backup_date} {_line(t)}" for t in tables]
    if not report.tables:
        lines += ["", "No table was loaded or merged by this run."]
    if report.notes:
        lines += ["", *report.notes]
    return "\n".join(lines) + "\n"


def html_body(report: RunReport) -> str:
    e = html.escape
    colour = GREEN if report.succeeded else RED
    outcome = "SUCCESS" if report.succeeded else "FAILURE"
    parts = [
        "<html><body style='font-family:Arial,sans-serif'>",
        f"<h2 style='color:{colour}'>{e(report.job_name)}: {outcome}</h2>",
        f"<p>Backup date(s): <b>{e(report.partitions)}</b><br>Run: <code>{e(report.run_id)}</code></p>",
    ]
    if report.failure:
        parts.append(f"<pre style='color:{RED};white-space:pre-wrap'>{e(report.failure)}</pre>")
    for code, tables in _by_system(report).items():
        total = sum(_records(t) for t in tables)
        parts.append(
            f"<h3 style='color:{_system_colour(tables)}'>{e(_label(code))} ({e(code)}): "
            f"{len(tables)} tables, {total:,} records</h3>"
        )
        parts.append(
            "<table cellpadding='4' style='border-collapse:collapse'><tr><th>status</th><th>date</th>"
            "<th>table</th><th>records</th><th>inserted</th><th>updated</th><th>deleted</th>"
            "<th>rejected</th></tr>"
        )
        for t in tables:
            label, c = table_state(t)
            parts.append(
                f"<tr><td style='color:{c};font-weight:bold'>{e(label)}</td><td>{t.backup_date}</td>"
                f"<td>{e(t.table)} &rarr; {_records(t):,} records</td><td>{_records(t):,}</td>"
                f"<td>{t.inserted:,}</td><td>{t.updated:,}</td><td>{t.deleted:,}</td>"
                f"<td>{t.rejected:,}</td></tr>"
            )
        parts.append("</table>")
    if not report.tables:
        parts.append(f"<p style='color:{GREY}'>No table was loaded or merged by this run.</p>")
    parts += [f"<p style='color:{GREY}'>{e(n)}</p>" for n in report.notes]
    parts.append("</body></html>")
    return "\n".join(parts)


def build_message(report: RunReport, *, prefix: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject(report, prefix)
    msg.set_content(plain_text(report))
    msg.add_alternative(html_body(report), subtype="html")
    for a in report.attachments:
        msg.add_attachment(a.content, maintype="application", subtype="octet-stream", filename=a.name)
    return msg
