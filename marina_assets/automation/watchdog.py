"""Freshness and runtime alerts.

- Freshness: each backup asset has a `backup_is_fresh` asset check (newest object of the source
  younger than `MARINA_MAX_BACKUP_AGE_HOURS`, default 24). The `marina_watchdog` sensor
  evaluates it on every tick from the store listing and records the result in the UI whenever
  the state changes (a failed ERROR check on the backup asset: the source shows as stale), and
  emails an alert when a source turns stale. The check can also be run by hand from the UI.
- Runtime: the same sensor alerts once per run that has been running longer than
  `MARINA_MAX_RUNTIME_MINUTES` (legacy: 15). It does not kill the run; to enforce a hard limit
  use Dagster's run monitoring with the `dagster/max_runtime` tag (see README).
"""

import html
import json
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import dagster as dg

from marina_assets.assets.keys import backup_key
from marina_assets.automation import mailer
from marina_assets.automation.settings import AutomationSettings
from marina_assets.backups.store import BackupStore
from marina_assets.catalog import SYSTEMS
from marina_assets.catalog.model import SourceSystem

CHECK_NAME = "backup_is_fresh"
WATCHDOG_SENSOR = "marina_watchdog"


def freshness(
    store: BackupStore, system: SourceSystem, *, now: datetime, max_age: timedelta
) -> tuple[bool, dict[str, str | float]]:
    """Whether the source's newest object is younger than max_age (store clock, naive UTC)."""
    objects = store.list_objects(system.code)
    if not objects:
        return False, {"newest_object": "none", "store": store.describe()}
    newest = max(objects, key=lambda o: o.last_modified)
    age_hours = (now - newest.last_modified).total_seconds() / 3600
    return age_hours <= max_age.total_seconds() / 3600, {
        "newest_object": newest.key,
        "age_hours": round(age_hours, 2),
        "max_age_hours": round(max_age.total_seconds() / 3600, 2),
    }


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def freshness_checks(settings: AutomationSettings) -> list[dg.AssetChecksDefinition]:
    max_age = timedelta(hours=settings.max_backup_age_hours)

    def build(system: SourceSystem) -> dg.AssetChecksDefinition:
        @dg.asset_check(
            asset=backup_key(system),
            name=CHECK_NAME,
            description=f"A new {system.label} backup arrived within the last {max_age}.",
        )
        def _check(backup_store: BackupStore) -> dg.AssetCheckResult:
            passed, meta = freshness(backup_store, system, now=_now(), max_age=max_age)
            return dg.AssetCheckResult(passed=passed, metadata=meta, severity=dg.AssetCheckSeverity.ERROR)

        return _check

    return [build(s) for s in SYSTEMS]


def _alert(subject: str, body: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = subject
    msg.set_content(body)
    msg.add_alternative(
        f"<html><body><p style='color:#c82333'>{html.escape(body)}</p></body></html>", subtype="html"
    )
    return msg


def watchdog_sensor(*, store: BackupStore, settings: AutomationSettings) -> dg.SensorDefinition:
    max_age = timedelta(hours=settings.max_backup_age_hours)
    max_runtime = timedelta(minutes=settings.max_runtime_minutes)

    @dg.sensor(
        name=WATCHDOG_SENSOR,
        minimum_interval_seconds=max(settings.sensor_interval_seconds, 30),
        default_status=(
            dg.DefaultSensorStatus.RUNNING if settings.sensors_running else dg.DefaultSensorStatus.STOPPED
        ),
        description=(
            f"Alerts when a source has had no new backup for {max_age} (and marks it stale in the UI) "
            f"or a run has been going for more than {max_runtime}."
        ),
    )
    def _watchdog(context: dg.SensorEvaluationContext) -> dg.SensorResult:
        state = json.loads(context.cursor) if context.cursor else {"fresh": {}, "slow": []}
        smtp = mailer.SmtpSettings.from_env()
        prefix = smtp.subject_prefix if smtp else mailer.DEFAULT_PREFIX
        alerts: list[EmailMessage] = []
        events: list[dg.AssetCheckEvaluation] = []
        for system in SYSTEMS:
            passed, meta = freshness(store, system, now=_now(), max_age=max_age)
            if state["fresh"].get(system.code) != passed:
                events.append(
                    dg.AssetCheckEvaluation(
                        asset_key=backup_key(system),
                        check_name=CHECK_NAME,
                        passed=passed,
                        metadata=meta,
                        severity=dg.AssetCheckSeverity.ERROR,
                    )
                )
                if not passed:
                    alerts.append(
                        _alert(
                            f"{prefix} STALE: no new {system.label} backup",
                            f"No new {system.label} backup for more than {max_age}: newest is "
                            f"{meta.get('newest_object')} ({meta.get('age_hours', '?')} h old).",
                        )
                    )
            state["fresh"][system.code] = passed
        running = context.instance.get_run_records(
            filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])
        )
        now_ts = datetime.now(UTC).timestamp()
        slow = [r for r in running if r.start_time and now_ts - r.start_time > max_runtime.total_seconds()]
        for r in slow:
            if r.dagster_run.run_id not in state["slow"]:
                minutes = (now_ts - r.start_time) / 60
                context.log.warning(f"run {r.dagster_run.run_id} has been running {minutes:.0f} min")
                alerts.append(
                    _alert(
                        f"{prefix} SLOW: {r.dagster_run.job_name} running {minutes:.0f} min",
                        f"Run {r.dagster_run.run_id} of {r.dagster_run.job_name} has been running for "
                        f"{minutes:.0f} minutes (limit {max_runtime}).",
                    )
                )
        # remember only runs still going: bounded, and a run is alerted once
        state["slow"] = [r.dagster_run.run_id for r in slow]
        if smtp:
            for msg in alerts:
                mailer.send(smtp, msg)
        for msg in alerts:
            context.log.warning(str(msg["Subject"]))
        return dg.SensorResult(asset_events=events, cursor=json.dumps(state, sort_keys=True))

    return _watchdog
