"""STG and DW checks: pass on a clean load, fail on each injected fault (NetSuite, staged and merged)."""

from __future__ import annotations

from datetime import date, timedelta

from marina_assets.checks import staging as stg
from marina_assets.checks import warehouse as dw
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse
from marina_assets.warehouse.merger import MergePolicy
from marina_assets_tests.checks.conftest import NS, NS_DAYS, NS_START, apply_backup

SET_MESSAGE = (
    "UPDATE MARINA_LOAD_LOG SET MESSAGE = $m WHERE TABLE_NAME = $t AND BACKUP_DATE = $d AND LAYER = 'STG'"
)
LAST = NS_START + timedelta(days=NS_DAYS - 1)
TXN = NS.table("Transaction")
LINES = NS.table("TransactionLine")


def _parents(t):
    return {c.ref: NS.table(c.ref) for c in t.columns if c.ref}


def test_every_layer_check_passes_on_a_clean_load(ns_wh: DuckDBWarehouse) -> None:
    for t in NS.tables:
        assert stg.staged_completely(ns_wh, t, LAST).passed, t.stg_name
        assert stg.source_quality(ns_wh, t, LAST).passed, t.stg_name
        assert dw.integrity_and_freshness(ns_wh, t, _parents(t), [LAST], date.today()).passed
        assert stg.rows_match_load_log(ns_wh, t, LAST).passed, t.stg_name
        assert stg.primary_key_unique(ns_wh, t, LAST).passed, t.stg_name
        assert stg.reject_ratio(ns_wh, t, LAST).passed, t.stg_name
        assert dw.reconciled_with_staging(ns_wh, t).passed, t.dw_name
        assert dw.referential_integrity(ns_wh, t, _parents(t)).passed, t.dw_name
        assert dw.row_count_anomaly(ns_wh, t, LAST).passed, t.dw_name
        assert dw.fresh(ns_wh, t, date.today()).passed, t.dw_name


def test_a_duplicated_key_fails_primary_key_uniqueness(ns_wh: DuckDBWarehouse) -> None:
    ns_wh.execute(
        f"INSERT INTO {TXN.stg_name} SELECT * FROM {TXN.stg_name} WHERE BACKUP_DATE = $d "
        f"AND ID = (SELECT MIN(ID) FROM {TXN.stg_name})",
        {"d": LAST},
    )
    outcome = stg.primary_key_unique(ns_wh, TXN, LAST)
    assert not outcome.passed and outcome.metadata[f"{LAST} duplicate keys"] == 1
    # ...and the partition no longer holds what the load log recorded
    assert not stg.rows_match_load_log(ns_wh, TXN, LAST).passed


def test_a_lost_staging_row_fails_the_row_count(ns_wh: DuckDBWarehouse) -> None:
    ns_wh.execute(
        f"DELETE FROM {LINES.stg_name} WHERE BACKUP_DATE = $d "
        f"AND ID = (SELECT MAX(ID) FROM {LINES.stg_name})",
        {"d": LAST},
    )
    outcome = stg.rows_match_load_log(ns_wh, LINES, LAST)
    assert not outcome.passed and "load log says" in outcome.description


def test_rejected_records_above_the_ratio_fail_as_a_warning(ns_wh: DuckDBWarehouse) -> None:
    ns_wh.execute(
        "UPDATE MARINA_LOAD_LOG SET ROWS_REJECTED = 5, ROWS_READ = ROWS_READ + 5 "
        "WHERE TABLE_NAME = $t AND BACKUP_DATE = $d AND LAYER = 'STG'",
        {"t": LINES.stg_name, "d": LAST},
    )
    outcome = stg.reject_ratio(ns_wh, LINES, LAST)
    assert not outcome.passed and outcome.severity == "WARN"


def test_drift_logged_by_the_loader_fails_the_right_check(ns_wh: DuckDBWarehouse) -> None:
    from marina_assets.staging.loader import drift_message

    ns_wh.execute(
        SET_MESSAGE,
        {"m": drift_message([], ["newcol"]), "t": TXN.stg_name, "d": LAST},
    )
    assert stg.staged_completely(ns_wh, TXN, LAST).passed
    quality = stg.source_quality(ns_wh, TXN, LAST)
    assert not quality.passed and quality.metadata["extra_columns"] == "newcol"
    ns_wh.execute(
        SET_MESSAGE,
        {"m": drift_message(["memo"], []), "t": TXN.stg_name, "d": LAST},
    )
    complete = stg.staged_completely(ns_wh, TXN, LAST)
    assert not complete.passed and complete.severity == "ERROR" and "memo" in complete.description


def test_schema_drift_missing_is_an_error_and_extra_a_warning() -> None:
    assert stg.schema_drift(TXN, [], []).passed
    missing = stg.schema_drift(TXN, ["memo"], ["newcol"])
    assert not missing.passed and missing.severity == "ERROR"
    extra = stg.schema_drift(TXN, [], ["newcol"])
    assert not extra.passed and extra.severity == "WARN"
    assert stg.parse_column_list("a, b") == ["a", "b"] and stg.parse_column_list("none") == []


def test_live_rows_the_snapshot_lacks_fail_reconciliation(ns_wh: DuckDBWarehouse) -> None:
    ns_wh.execute(f"UPDATE {TXN.dw_name} SET IS_DELETED = 0, DELETED_DATE = NULL WHERE IS_DELETED = 1")
    outcome = dw.reconciled_with_staging(ns_wh, TXN)
    assert not outcome.passed and outcome.metadata["live_keys_not_in_snapshot"] > 0


def test_a_snapshot_key_not_live_fails_reconciliation(ns_wh: DuckDBWarehouse) -> None:
    ns_wh.execute(f"UPDATE {TXN.dw_name} SET IS_DELETED = 1 WHERE ID = (SELECT MIN(ID) FROM {TXN.dw_name})")
    outcome = dw.reconciled_with_staging(ns_wh, TXN)
    assert not outcome.passed and outcome.metadata["snapshot_keys_not_live"] == 1


def test_held_back_deletes_fail_reconciliation_loudly(ns_wh: DuckDBWarehouse, ns_snapshots: list) -> None:
    # the next backup deletes rows as usual; a zero delete ratio makes the merge hold them all back
    apply_backup(ns_wh, ns_snapshots[NS_DAYS], MergePolicy(max_delete_ratio=0.0, min_rows_for_guard=0))
    outcome = dw.reconciled_with_staging(ns_wh, LINES)
    assert not outcome.passed
    assert outcome.metadata["deletes_held"] > 0 and "held back" in outcome.description


def test_an_orphan_reference_fails_referential_integrity(ns_wh: DuckDBWarehouse) -> None:
    ns_wh.execute(
        f"UPDATE {LINES.dw_name} SET TRANSACTION = 99999999 WHERE ID = (SELECT MIN(ID) FROM {LINES.dw_name})"
    )
    outcome = dw.referential_integrity(ns_wh, LINES, _parents(LINES))
    assert not outcome.passed
    assert outcome.metadata["TRANSACTION -> DW_NS_TRANSACTIONS"] == 1


def test_a_row_count_far_from_the_trailing_average_is_an_anomaly(ns_wh: DuckDBWarehouse) -> None:
    ns_wh.execute(
        "UPDATE MARINA_LOAD_LOG SET ROWS_LIVE = ROWS_LIVE * 3 "
        "WHERE TABLE_NAME = $t AND BACKUP_DATE = $d AND LAYER = 'DW'",
        {"t": LINES.dw_name, "d": LAST},
    )
    outcome = dw.row_count_anomaly(ns_wh, LINES, LAST)
    assert not outcome.passed and outcome.metadata["history_days"] == NS_DAYS - 1
    # with fewer earlier dates than MIN_HISTORY there is no verdict
    assert dw.row_count_anomaly(ns_wh, LINES, NS_START + timedelta(days=1)).passed


def test_an_old_watermark_is_stale(ns_wh: DuckDBWarehouse) -> None:
    later = date.today() + timedelta(days=dw.MAX_AGE_DAYS + 1)
    outcome = dw.fresh(ns_wh, TXN, later)
    assert not outcome.passed and outcome.metadata["age_days"] == dw.MAX_AGE_DAYS + 1
