"""The expected warehouse state: a hand-checked history and agreement with generated runs."""

from __future__ import annotations

from datetime import date
from itertools import pairwise

from marina_assets.sample_data import (
    ExpectedRow,
    Snapshot,
    change_counts,
    daily_change_counts,
    expected_state,
)
from marina_assets.sample_data import generate as generate_snapshots

D1, D2, D3, D4 = (date(2025, 11, d) for d in (1, 2, 3, 4))

# DW_T: day 1 inserts 1-3; day 2 updates 1, NULLs 2's qty, deletes 3, inserts 4;
# day 3 keeps 1 and 2 as they are, revives 3 with a new qty, deletes 4. DW_U skips day 2.
S1 = Snapshot(
    D1,
    {
        "DW_T": {(1,): (1, "a", 10), (2,): (2, "b", 20), (3,): (3, "c", 30)},
        "DW_U": {("x",): ("x", 1)},
    },
)
S2 = Snapshot(D2, {"DW_T": {(1,): (1, "a", 11), (2,): (2, "b", None), (4,): (4, "d", 40)}})
S3 = Snapshot(
    D3,
    {
        "DW_T": {(1,): (1, "a", 11), (2,): (2, "b", None), (3,): (3, "c", 33)},
        "DW_U": {("x",): ("x", 1)},
    },
)

TRUTH = {
    "DW_T": {
        (1,): ExpectedRow((1, "a", 11), is_deleted=False, deleted_date=None, changed_backup_date=D2),
        (2,): ExpectedRow((2, "b", None), is_deleted=False, deleted_date=None, changed_backup_date=D2),
        (3,): ExpectedRow((3, "c", 33), is_deleted=False, deleted_date=None, changed_backup_date=D3),
        (4,): ExpectedRow((4, "d", 40), is_deleted=True, deleted_date=D3, changed_backup_date=D3),
    },
    "DW_U": {("x",): ExpectedRow(("x", 1), is_deleted=False, deleted_date=None, changed_backup_date=D1)},
}


def counts(inserted: int = 0, updated: int = 0, deleted: int = 0, revived: int = 0) -> dict[str, int]:
    return {"inserted": inserted, "updated": updated, "deleted": deleted, "revived": revived}


def test_hand_built_history_gives_the_hand_written_truth() -> None:
    assert expected_state([S1, S2, S3]) == TRUTH


def test_a_key_still_missing_stays_deleted_since_the_first_day_it_was_missing() -> None:
    s4 = Snapshot(D4, {"DW_T": {(1,): (1, "a", 11), (2,): (2, "b", 22), (3,): (3, "c", 33)}})
    state = expected_state([S1, S2, S3, s4])
    assert state["DW_T"][(4,)] == TRUTH["DW_T"][(4,)]
    assert state["DW_T"][(2,)] == ExpectedRow((2, "b", 22), False, None, D4)  # NULL -> value
    assert state["DW_T"][(1,)] == TRUTH["DW_T"][(1,)]
    assert state["DW_U"] == TRUTH["DW_U"]


def test_a_revival_with_unchanged_values_still_counts_and_clears_the_delete() -> None:
    back = Snapshot(D3, {"DW_T": {(3,): (3, "c", 30)}})
    state = expected_state([S1, Snapshot(D2, {"DW_T": {}}), back])
    assert state["DW_T"][(3,)] == ExpectedRow((3, "c", 30), False, None, D3)
    assert state["DW_T"][(1,)] == ExpectedRow((1, "a", 10), True, D2, D2)


def test_daily_change_counts_of_the_hand_built_history() -> None:
    assert daily_change_counts([S1, S2, S3]) == [
        (D1, {"DW_T": counts(inserted=3), "DW_U": counts(inserted=1)}),
        (D2, {"DW_T": counts(inserted=1, updated=2, deleted=1)}),
        (D3, {"DW_T": counts(revived=1, deleted=1), "DW_U": counts()}),
    ]


def test_change_counts_needs_history_to_tell_a_revival_from_an_insert() -> None:
    assert change_counts(None, S1) == {"DW_T": counts(inserted=3), "DW_U": counts(inserted=1)}
    assert change_counts(S1, S2) == {"DW_T": counts(inserted=1, updated=2, deleted=1)}
    # without history the returning key 3 looks new ...
    assert change_counts(S2, S3)["DW_T"] == counts(inserted=1, deleted=1)
    # ... with the state before day 3, or the snapshot's own record of deleted keys, it is a revival
    assert change_counts(S2, S3, before=expected_state([S1, S2]))["DW_T"] == counts(revived=1, deleted=1)
    s2_with_history = Snapshot(D2, S2.tables, deleted_keys={"DW_T": frozenset({(3,)})})
    assert change_counts(s2_with_history, S3)["DW_T"] == counts(revived=1, deleted=1)


def test_generated_runs_agree_with_their_own_history() -> None:
    snaps = list(generate_snapshots(start=D1, days=4, scale=0.05))
    state = expected_state(snaps)
    last = snaps[-1]
    daily = daily_change_counts(snaps)
    assert any(c["revived"] for _, day in daily for c in day.values())
    for name, rows in state.items():
        live = {k: r.values for k, r in rows.items() if not r.is_deleted}
        assert live == dict(last.tables[name])
        assert {k for k, r in rows.items() if r.is_deleted} == set(last.deleted_keys[name])
        assert all(r.deleted_date is not None and r.deleted_date > D1 for r in rows.values() if r.is_deleted)
    for (prev, cur), (_, want) in zip(pairwise(snaps), daily[1:], strict=True):
        assert change_counts(prev, cur) == want
    assert change_counts(None, snaps[0]) == daily[0][1]
