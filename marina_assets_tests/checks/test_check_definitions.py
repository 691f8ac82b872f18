"""The checks as Dagster definitions: generated per catalog table, and blocking where it matters."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date
from pathlib import Path

import dagster as dg
import pytest

from marina_assets.assets.keys import dw_key, stg_key
from marina_assets.catalog import SYSTEMS, system
from marina_assets.checks import staging as stg
from marina_assets.checks import warehouse as dw
from marina_assets.sample_data import generate, write_backup


def _check_specs() -> dict[dg.AssetCheckKey, dg.AssetCheckSpec]:
    from marina_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    return {key: graph.get_check_spec(key) for key in graph.asset_check_keys}


def test_every_catalog_table_gets_its_layer_checks() -> None:
    specs = _check_specs()
    for s in SYSTEMS:
        for t in s.tables:
            for c in stg.STG_CHECKS:
                assert specs[dg.AssetCheckKey(stg_key(s, t), c.name)].blocking == c.blocking
            for c in dw.DW_CHECKS:
                spec = specs[dg.AssetCheckKey(dw_key(s, t), c.name)]
                assert spec.blocking == c.blocking
            # the integrity check also waits for the parents it reads (derived from `ref`)
            parents = {dw_key(s, s.table(col.ref)) for col in t.columns if col.ref and col.ref != t.source}
            sound = specs[dg.AssetCheckKey(dw_key(s, t), dw.SOUND.name)]
            assert {d.asset_key for d in sound.additional_deps} == parents


def test_blocking_only_where_downstream_data_would_be_wrong() -> None:
    blocking = {key.name for key, spec in _check_specs().items() if spec.blocking}
    assert blocking == {"staged_completely", "reconciled_with_staging", "covers_data_dates"}


@pytest.mark.integration
def test_a_backup_missing_a_column_blocks_the_merge(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARINA_HOME", str(tmp_path))
    for var in ("MARINA_S3_BUCKET", "MARINA_WAREHOUSE", "MARINA_DUCKDB_PATH", "MARINA_BACKUP_DIR"):
        monkeypatch.delenv(var, raising=False)
    ns = system("NS")
    today = date.today()
    snapshot = next(generate([ns], start=today, days=1, scale=0.05))
    name, data = write_backup(ns, snapshot)
    (tmp_path / "backups").mkdir()
    (tmp_path / "backups" / name).write_bytes(_drop_column(data, "Transaction.csv", "memo"))

    from marina_assets.definitions import build_definitions

    job = build_definitions().resolve_job_def("netsuite_only")
    result = job.execute_in_process(
        partition_key=today.isoformat(), instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
    )
    txn = ns.table("Transaction")
    evaluations = {(e.asset_key, e.check_name): e for e in result.get_asset_check_evaluations()}
    drift = evaluations[(stg_key(ns, txn), stg.COMPLETE.name)]
    assert not drift.passed and drift.severity == dg.AssetCheckSeverity.ERROR
    assert "memo" in (drift.description or "")
    assert not result.success
    materialized = {m.asset_key for m in result.get_asset_materialization_events() if m.asset_key}
    assert stg_key(ns, txn) in {e.asset_key for e in result.get_asset_materialization_events()}
    assert dw_key(ns, txn) not in materialized  # the merge step never ran


def _drop_column(zip_bytes: bytes, member: str, column: str) -> bytes:
    src = zipfile.ZipFile(io.BytesIO(zip_bytes))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info)
            if info.filename.endswith(member):
                rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
                drop = rows[0].index(column)
                buf = io.StringIO(newline="")
                csv.writer(buf, lineterminator="\n").writerows([r[:drop] + r[drop + 1 :] for r in rows])
                data = buf.getvalue().encode("utf-8")
            dst.writestr(info, data)
    return out.getvalue()
