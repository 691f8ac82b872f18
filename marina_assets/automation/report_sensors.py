"""Run-status sensors that email the run report, on success and on failure.

Off unless SMTP is configured (`mailer.SmtpSettings.from_env`). Per-table counts come from the
warehouse's load log for the run id (`reporting.load_summary`), the failure reason from the
run's step failures, the attachments from the backup store (the winning object of each date
and source the run covered, only when together under the size cap).
"""

import time
from collections.abc import Sequence
from datetime import date

import dagster as dg

from marina_assets.assets.jobs import ALL_JOB, MERGES_JOB, STAGING_JOB
from marina_assets.automation import mailer
from marina_assets.automation.report import Attachment, RunReport, build_message
from marina_assets.automation.settings import AutomationSettings
from marina_assets.backups.store import BackupStore
from marina_assets.catalog import SYSTEMS
from marina_assets.catalog.model import SourceSystem
from marina_assets.reporting import TableSummary, load_summary
from marina_assets.resources import WarehouseResource

SUCCESS_SENSOR = "marina_report_success"
FAILURE_SENSOR = "marina_report_failure"
WAREHOUSE_BUSY_SECONDS = 20.0  # DuckDB: another run may hold the single writer lock for a moment


def run_dates(run: dg.DagsterRun) -> tuple[str, list[date]]:
    """The run's backup date(s) as text and as dates (single partition or a backfill range)."""
    tags = run.tags
    if "dagster/partition" in tags:
        d = tags["dagster/partition"]
        return d, [date.fromisoformat(d)]
    start, end = (
        tags.get("dagster/asset_partition_range_start"),
        tags.get("dagster/asset_partition_range_end"),
    )
    if start and end:
        a, b = date.fromisoformat(start), date.fromisoformat(end)
        return f"{start} .. {end}", [date.fromordinal(o) for o in range(a.toordinal(), b.toordinal() + 1)]
    return "-", []


def _summary(warehouse: WarehouseResource, run_id: str) -> tuple[list[TableSummary], str | None]:
    deadline = time.monotonic() + WAREHOUSE_BUSY_SECONDS
    while True:
        try:
            with warehouse.open() as wh:
                return load_summary(wh, run_ids=[run_id]), None
        except Exception as e:  # a locked DuckDB file, a database restart: report without counts
            if time.monotonic() > deadline:
                return (
                    [],
                    f"per-table counts unavailable ({type(e).__name__}); see MARINA_LOAD_LOG for {run_id}",
                )
            time.sleep(1.0)


def run_systems(run: dg.DagsterRun) -> list[SourceSystem]:
    """The source systems a run covered: from its asset selection, else from its job's name."""
    if run.asset_selection:
        prefixes = {k.path[0] for k in run.asset_selection}
        return [s for s in SYSTEMS if s.asset_prefix in prefixes]
    if run.job_name in (ALL_JOB, STAGING_JOB, MERGES_JOB):
        return list(SYSTEMS)
    return [s for s in SYSTEMS if run.job_name.startswith(f"{s.asset_prefix}_")]


def _attachments(
    store: BackupStore, systems: Sequence[SourceSystem], dates: list[date], max_bytes: int
) -> tuple[list[Attachment], list[str]]:
    objects = [o for s in systems for d in dates if (o := store.latest(s.code, d)) is not None]
    size = sum(o.size for o in objects)
    if not objects:
        return [], []
    if size > max_bytes:
        names = ", ".join(o.name for o in objects)
        return [], [f"backups not attached ({size / 1e6:,.1f} MB > {max_bytes / 1e6:,.1f} MB): {names}"]
    out = []
    for o in objects:
        with store.open(o) as f:
            out.append(Attachment(o.name, f.read()))
    return out, []


def _failure_reason(context: dg.RunFailureSensorContext) -> str:
    lines = []
    for ev in context.get_step_failure_events():
        data = ev.step_failure_data
        what = (data.user_failure_data.description if data and data.user_failure_data else None) or (
            data.error.message.strip() if data and data.error else ev.message
        )
        meta = data.user_failure_data.metadata if data and data.user_failure_data else {}
        detail = meta.get("failures")
        lines.append(f"{ev.step_key}: {what}" + (f"\n{detail.value}" if detail is not None else ""))
    return "\n".join(lines) or (context.failure_event.message or "run failed")


def send_report(
    context: dg.RunStatusSensorContext,
    *,
    succeeded: bool,
    failure: str | None,
    store: BackupStore,
    warehouse: WarehouseResource,
) -> dg.SkipReason | None:
    settings = mailer.SmtpSettings.from_env()
    run = context.dagster_run
    if settings is None:
        return dg.SkipReason(f"email off (MARINA_SMTP_HOST unset); run {run.run_id} not reported")
    text, dates = run_dates(run)
    tables, note = _summary(warehouse, run.run_id)
    notes = [note] if note else []
    attachments: list[Attachment] = []
    if settings.attach_backups and dates:
        attachments, more = _attachments(store, run_systems(run), dates, settings.attach_max_bytes)
        notes += more
    record = context.instance.get_run_record_by_id(run.run_id)
    duration = (
        record.end_time - record.start_time if record and record.start_time and record.end_time else None
    )
    report = RunReport(
        job_name=run.job_name,
        run_id=run.run_id,
        succeeded=succeeded,
        partitions=text,
        tables=tables,
        failure=failure,
        duration_seconds=duration,
        attachments=attachments,
        notes=notes,
    )
    mailer.send(settings, build_message(report, prefix=settings.subject_prefix))
    context.log.info(f"report for run {run.run_id} sent to {len(settings.recipients)} recipient(s)")
    return None


def report_sensors(
    *, store: BackupStore, warehouse: WarehouseResource, settings: AutomationSettings
) -> list[dg.SensorDefinition]:
    status = dg.DefaultSensorStatus.RUNNING if settings.sensors_running else dg.DefaultSensorStatus.STOPPED

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name=SUCCESS_SENSOR,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=status,
        description="Emails the run report (per-table counts) on success; off without MARINA_SMTP_HOST.",
    )
    def _success(context: dg.RunStatusSensorContext):
        return send_report(context, succeeded=True, failure=None, store=store, warehouse=warehouse)

    @dg.run_failure_sensor(
        name=FAILURE_SENSOR,
        minimum_interval_seconds=settings.sensor_interval_seconds,
        default_status=status,
        description="Emails the run report and failure reason on failure; off without MARINA_SMTP_HOST.",
    )
    def _failure(context: dg.RunFailureSensorContext):
        return send_report(
            context, succeeded=False, failure=_failure_reason(context), store=store, warehouse=warehouse
        )

    return [_success, _failure]
