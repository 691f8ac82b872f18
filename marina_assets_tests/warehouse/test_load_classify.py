"""`load_classify`: the merge's classify rules on arrays, against a plain-Python reading of them."""

from __future__ import annotations

import numpy as np
import pytest

from marina_assets.warehouse.load_classify import DELETED, HASH_NULL, NONE, DwIndex, DwKeys, unique

I64 = np.iinfo(np.int64)


def _reference(
    dw: DwKeys, batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[list[bytes], list[int]]:
    """The four rules, one row at a time: (action of every snapshot row in order, D keys in DW order)."""
    rows = {int(k): (int(h), int(f)) for k, h, f in zip(dw.ids, dw.hashes, dw.flags, strict=True)}
    seen: set[int] = set()
    actions: list[bytes] = []
    for ids, hashes, hash_null in batches:
        for k, h, hn in zip(ids.tolist(), hashes.tolist(), hash_null.tolist(), strict=True):
            if k not in rows:
                actions.append(b"I")
                continue
            seen.add(k)
            dw_hash, flags = rows[k]
            if flags & DELETED:
                actions.append(b"R")
            elif hn or flags & HASH_NULL or dw_hash != h:
                actions.append(b"U")
            else:
                actions.append(b" ")
    gone = [k for k in dw.ids.tolist() if k not in seen and not rows[k][1] & DELETED]
    return actions, gone


def _run(
    dw: DwKeys, batches: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
) -> tuple[list[bytes], list[int]]:
    index = DwIndex(dw)
    out = [index.actions(*b) for b in batches]
    for a, b in zip(out, batches, strict=True):
        assert a.dtype == np.dtype("S1") and len(a) == len(b[0])
    gone = index.gone()
    assert gone.dtype == np.int64
    return (np.concatenate(out).tolist() if out else []), gone.tolist()


def _random_case(seed: int) -> tuple[DwKeys, list[tuple[np.ndarray, np.ndarray, np.ndarray]]]:
    rng = np.random.default_rng(seed)
    # negative keys and the int64 extremes among them; DW keys in no particular order
    universe = np.concatenate([np.arange(-400, 400), [I64.min, I64.min + 1, I64.max - 1, I64.max]])
    dw_ids = rng.choice(universe, size=int(rng.integers(200, 500)), replace=False).astype(np.int64)
    n = len(dw_ids)
    # few hash values so equal hashes are common; 0 also as a real hash
    dw_hashes = rng.choice(np.array([0, 1, -1, 7, I64.min, I64.max], np.int64), size=n)
    flags = np.zeros(n, np.int64)
    flags[rng.random(n) < 0.15] |= HASH_NULL
    flags[rng.random(n) < 0.15] |= DELETED
    dw_hashes[(flags & HASH_NULL) != 0] = 0  # as the fetch reads them: COALESCE(hash, 0)
    snap_ids = rng.choice(universe, size=int(rng.integers(200, 500)), replace=False).astype(np.int64)
    m = len(snap_ids)
    by_key = dict(zip(dw_ids.tolist(), dw_hashes.tolist(), strict=True))
    # half of the keys found in the DW keep its hash, the rest draw one
    snap_hashes = rng.choice(np.array([0, 1, -1, 7, 8, I64.min, I64.max], np.int64), size=m)
    keep = rng.random(m) < 0.5
    for i, k in enumerate(snap_ids.tolist()):
        if keep[i] and k in by_key:
            snap_hashes[i] = by_key[k]
    hash_null = rng.random(m) < 0.1
    snap_hashes[hash_null] = 0  # the loader fills a NULL hash with 0
    cuts = np.sort(rng.choice(np.arange(1, m), size=int(rng.integers(1, 6)), replace=False))
    batches = [
        (ids, h, hn)
        for ids, h, hn in zip(
            np.split(snap_ids, cuts), np.split(snap_hashes, cuts), np.split(hash_null, cuts), strict=True
        )
    ]
    return DwKeys(int(rng.integers(0, 1000)), dw_ids, dw_hashes, flags), batches


@pytest.mark.parametrize("seed", range(8))
def test_actions_and_gone_follow_the_four_rules(seed: int) -> None:
    dw, batches = _random_case(seed)
    assert len(batches) >= 2
    actions, gone = _run(dw, batches)
    assert (actions, gone) == _reference(dw, batches)
    # every rule was exercised
    assert {b"I", b"R", b"U", NONE} <= set(actions) and gone


def test_one_batch_gives_what_several_batches_give() -> None:
    dw, batches = _random_case(42)
    whole = tuple(np.concatenate([b[i] for b in batches]) for i in range(3))
    assert _run(dw, [whole]) == _run(dw, batches)  # type: ignore[list-item]


def _keys(ids: list[int], hashes: list[int], flags: list[int], version: int = 1) -> DwKeys:
    return DwKeys(version, np.array(ids, np.int64), np.array(hashes, np.int64), np.array(flags, np.int64))


def _snap(ids: list[int], hashes: list[int], nulls: list[bool]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    return np.array(ids, np.int64), np.array(hashes, np.int64), np.array(nulls, bool)


def test_each_rule_on_known_rows() -> None:
    # key: (hash, flags)  10 live, 11 live hash NULL, 12 deleted, 13 live, 14 deleted unseen, 15 live unseen
    dw = _keys([15, 13, 12, 11, 10, 14], [5, 3, 2, 0, 1, 4], [0, 0, DELETED, HASH_NULL, 0, DELETED])
    ids, hashes, nulls = _snap([10, 11, 12, 13, 99, -3, 10], [1, 0, 2, 9, 1, 1, 1], [0, 0, 0, 0, 0, 0, 1])
    index = DwIndex(dw)
    first = index.actions(ids[:3], hashes[:3], nulls[:3])
    assert first.tolist() == [b" ", b"U", b"R"]  # unchanged; DW hash NULL; soft-deleted
    second = index.actions(ids[3:], hashes[3:], nulls[3:])
    # hashes differ; not in the DW (positive and negative); the snapshot hash is NULL
    assert second.tolist() == [b"U", b"I", b"I", b"U"]
    assert index.gone().tolist() == [15]  # 14 is deleted already: no D


def test_a_deleted_row_with_a_null_hash_is_revived_not_updated() -> None:
    dw = _keys([1], [0], [DELETED | HASH_NULL])
    index = DwIndex(dw)
    assert index.actions(*_snap([1], [0], [True])).tolist() == [b"R"]
    assert index.gone().tolist() == []


def test_empty_dw() -> None:
    index = DwIndex(_keys([], [], []))
    assert index.actions(*_snap([3, -1, 0], [1, 2, 3], [False, True, False])).tolist() == [b"I"] * 3
    assert index.actions(*_snap([], [], [])).tolist() == []
    assert index.gone().tolist() == []


def test_empty_snapshot_deletes_every_live_key() -> None:
    dw = _keys([-5, 7, -2, 3], [1, 2, 3, 4], [0, DELETED, HASH_NULL, 0])
    index = DwIndex(dw)
    out = index.actions(*_snap([], [], []))
    assert out.dtype == np.dtype("S1") and out.tolist() == []
    assert index.gone().tolist() == [-5, -2, 3]
    assert DwIndex(dw).gone().tolist() == [-5, -2, 3]  # no batch at all


def test_negative_keys_and_the_extremes() -> None:
    dw = _keys([I64.min, -1, 0, I64.max], [1, 1, 1, 1], [0, 0, 0, 0])
    index = DwIndex(dw)
    got = index.actions(*_snap([I64.max, -1, -2, I64.min, I64.min + 1], [1, 2, 1, 1, 1], [False] * 5))
    assert got.tolist() == [b" ", b"U", b"I", b" ", b"I"]
    assert index.gone().tolist() == [0]


def test_keys_of_a_narrower_integer_type() -> None:
    dw = _keys([1, 2, 3], [1, 1, 1], [0, 0, 0])
    index = DwIndex(dw)
    got = index.actions(np.array([3, 4, 1], np.int32), np.array([1, 1, 2], np.int64), np.zeros(3, bool))
    assert got.tolist() == [b" ", b"I", b"U"]
    assert index.gone().tolist() == [2]


def test_reset_forgets_the_keys_seen() -> None:
    dw, batches = _random_case(3)
    index = DwIndex(dw)
    first = [index.actions(*b).copy() for b in batches]
    assert len(index.gone()) < len(_reference(dw, [])[1])
    index.reset()
    assert index.gone().tolist() == _reference(dw, [])[1]  # every live key, as before any batch
    # a second pass (a parser's Reset) gives the same actions and the same D keys as a fresh index
    again = [index.actions(*b) for b in batches]
    assert [a.tolist() for a in again] == [a.tolist() for a in first]
    assert index.gone().tolist() == _run(dw, batches)[1]
    # a reset followed by only part of the batches: keys of the others are D again
    index.reset()
    index.actions(*batches[0])
    assert index.gone().tolist() == _reference(dw, batches[:1])[1]


@pytest.mark.parametrize(
    ("ids", "expected"),
    [
        ([], True),
        ([5], True),
        ([3, -1, 2, 0], True),
        ([I64.min, I64.max], True),
        ([1, 1], False),
        ([4, -7, 9, -7], False),  # repeats far apart in the input
        ([I64.max, 0, I64.max], False),
        ([0, 0, 0], False),
    ],
)
def test_unique(ids: list[int], expected: bool) -> None:
    arr = np.array(ids, np.int64)
    before = arr.copy()
    assert unique(arr) is expected
    assert arr.tolist() == before.tolist()  # the caller's keys are not reordered


def test_unique_on_random_keys() -> None:
    rng = np.random.default_rng(7)
    keys = rng.choice(np.arange(-10_000, 10_000), size=5_000, replace=False)
    assert unique(keys)
    assert not unique(np.append(keys, keys[1234]))
