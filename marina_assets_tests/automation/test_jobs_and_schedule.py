"""Jobs, schedule, retries, pools and the instance configs: structure checked on the real defs."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import dagster as dg
import pytest
import yaml

from marina_assets.assets.jobs import MERGES_JOB, STAGING_JOB, VIEWS_JOB, layer
from marina_assets.catalog import SYSTEMS, all_tables

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def defs() -> dg.Definitions:
    from marina_assets.definitions import build_definitions

    return build_definitions()


def job_keys(defs: dg.Definitions, name: str) -> set[str]:
    job = defs.resolve_job_def(name)
    return {k.to_user_string() for k in job.asset_layer.executable_asset_keys}


def test_layer_jobs_select_by_tag(defs: dg.Definitions) -> None:
    stg = {f"{t.system_prefix}/{t.stg_name.lower()}" for t in _tables()}
    dw = {f"{t.system_prefix}/{t.dw_name.lower()}" for t in _tables()}
    assert job_keys(defs, STAGING_JOB) == stg
    assert job_keys(defs, MERGES_JOB) == dw
    for s in SYSTEMS:
        keys = job_keys(defs, f"{s.asset_prefix}_only")
        assert keys and all(k.startswith(f"{s.asset_prefix}/") for k in keys)
        assert {k for k in keys if "/stg_" in k or "/dw_" in k} == {
            k for k in stg | dw if k.startswith(f"{s.asset_prefix}/")
        }


def test_views_job_picks_up_assets_tagged_views() -> None:
    @dg.asset(tags={"marina/layer": "views"})
    def dw_ns_x_fin_demo_v() -> None: ...

    @dg.asset(tags={"marina/layer": "warehouse"})
    def not_a_view() -> None: ...

    d = dg.Definitions(
        assets=[dw_ns_x_fin_demo_v, not_a_view],
        jobs=[dg.define_asset_job(VIEWS_JOB, selection=layer("views"))],
    )
    assert job_keys(d, VIEWS_JOB) == {"dw_ns_x_fin_demo_v"}


class _T:
    def __init__(self, prefix: str, table) -> None:
        self.system_prefix, self.stg_name, self.dw_name = prefix, table.stg_name, table.dw_name


def _tables() -> list[_T]:
    prefix = {s.code: s.asset_prefix for s in SYSTEMS}
    return [_T(prefix[t.system], t) for t in all_tables()]


def test_retry_policies_and_pools_per_layer(defs: dg.Definitions) -> None:
    repo = defs.get_repository_def()
    nodes = {a.node_def.name: a.node_def for a in repo.assets_defs_by_key.values() if a.is_executable}
    for s in SYSTEMS:
        stg, dw = nodes[f"{s.asset_prefix}_staging"], nodes[f"{s.asset_prefix}_warehouse"]
        assert stg.retry_policy.max_retries == 4 and stg.retry_policy.backoff == dg.Backoff.EXPONENTIAL
        assert dw.retry_policy.max_retries == 3 and dw.retry_policy.backoff == dg.Backoff.EXPONENTIAL
        assert stg.pool == dw.pool == "marina_warehouse_duckdb"
    for name in ("marina_retention", "molo_rebuild"):
        (op,) = [n.definition for n in defs.resolve_job_def(name).nodes]
        assert op.pool == "marina_warehouse_duckdb" and op.retry_policy.max_retries == 2


def test_daily_schedule_is_off_by_default_with_configurable_time_and_zone(
    defs: dg.Definitions, monkeypatch: pytest.MonkeyPatch
) -> None:
    from marina_assets.automation.schedules import daily_schedule
    from marina_assets.automation.settings import automation_settings

    default = daily_schedule(automation_settings())
    assert default.cron_schedule == "0 7 * * *"  # the legacy 07:00
    assert default.default_status == dg.DefaultScheduleStatus.STOPPED
    monkeypatch.setenv("MARINA_SCHEDULE_TIME", "05:30")
    monkeypatch.setenv("MARINA_SCHEDULE_TIMEZONE", "America/New_York")
    sched = daily_schedule(automation_settings())
    assert (sched.cron_schedule, sched.execution_timezone) == ("30 5 * * *", "America/New_York")
    tick = datetime(2025, 11, 17, 5, 30, tzinfo=ZoneInfo("America/New_York"))
    repo = defs.get_repository_def()
    with dg.build_schedule_context(scheduled_execution_time=tick, repository_def=repo) as ctx:
        req = sched.evaluate_tick(ctx).run_requests[0]
    assert req.partition_key == "2025-11-17"
    monkeypatch.setenv("MARINA_SCHEDULE_TIME", "25:00")
    with pytest.raises(ValueError, match="MARINA_SCHEDULE_TIME"):
        automation_settings()


@pytest.mark.parametrize("name", ["dagster.yaml", "dagster.local.yaml"])
def test_instance_configs_are_valid_and_limit_the_warehouse_pool_to_one(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dagster._core.instance.config import dagster_instance_config

    text = (REPO / "deploy" / name).read_text()
    assert "password:" not in text or "{env: DAGSTER_PG_PASSWORD}" in text  # no secret in the file
    (tmp_path / "dagster.yaml").write_text(text)
    for var in ("DAGSTER_PG_HOST", "DAGSTER_PG_DB", "DAGSTER_PG_USERNAME", "DAGSTER_PG_PASSWORD"):
        monkeypatch.setenv(var, "x")
    monkeypatch.setenv("DAGSTER_PG_PORT", "5432")
    config, _ = dagster_instance_config(str(tmp_path))
    assert config["concurrency"]["pools"]["default_limit"] == 1
    assert config["concurrency"]["pools"]["granularity"] == "op"
    if name == "dagster.yaml":
        assert "postgres" in yaml.safe_load(text)["storage"]
        assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
