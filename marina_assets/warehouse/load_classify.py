"""The merge's classify, done by the loader in memory: which keys of a snapshot need which action.

The same rules as the row-hash classify join of `merge_delta` (PostgreSQL), on arrays:

    I  snapshot key not in the DW
    R  snapshot key soft-deleted in the DW
    U  snapshot key live in the DW, and either row hash is NULL or they differ
    D  live DW key not in the snapshot

`confirm` still re-checks the U rows column by column in the merge, as it does after the join.
`DwIndex.actions` classifies one batch of snapshot keys at a time; the D keys follow once every
batch was seen. The rules hold only for a snapshot whose keys are unique and not NULL: the
caller checks that over all batches (`unique`) and otherwise leaves the classify to the merge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

HASH_NULL = 1  # flag bits of a DW row, as the fetch computes them
DELETED = 2
NONE = b" "  # no action


@dataclass(frozen=True)
class DwKeys:
    """One DW table's keys, row hashes and flags, read in one snapshot at `version`."""

    version: int
    ids: np.ndarray  # int64
    hashes: np.ndarray  # int64 (0 where HASH_NULL)
    flags: np.ndarray  # int64: HASH_NULL | DELETED bits


class DwIndex:
    """`DwKeys` sorted for lookups, and which DW keys the snapshot's batches have named so far."""

    def __init__(self, dw: DwKeys) -> None:
        self.dw = dw
        self._order = np.argsort(dw.ids, kind="stable")
        self._sorted = dw.ids[self._order]
        self._seen = np.zeros(len(dw.ids), bool)

    def actions(self, ids: np.ndarray, hashes: np.ndarray, hash_null: np.ndarray) -> np.ndarray:
        """S1 action per snapshot row (NONE: unchanged); marks the DW keys found as seen."""
        ids = ids.astype(np.int64, copy=False)
        out = np.full(len(ids), b"I", dtype="S1")
        if not len(self._sorted) or not len(ids):
            return out
        pos = np.minimum(np.searchsorted(self._sorted, ids), len(self._sorted) - 1)
        found = self._sorted[pos] == ids
        row = self._order[pos]
        flags, dw_hashes = self.dw.flags[row], self.dw.hashes[row]
        deleted = found & ((flags & DELETED) != 0)
        changed = found & ~deleted & (hash_null | ((flags & HASH_NULL) != 0) | (dw_hashes != hashes))
        out[found] = NONE
        out[deleted] = b"R"
        out[changed] = b"U"
        self._seen[row[found]] = True
        return out

    def gone(self) -> np.ndarray:
        """The live DW keys no batch named: the D keys."""
        return self.dw.ids[~self._seen & ((self.dw.flags & DELETED) == 0)]

    def reset(self) -> None:
        self._seen[:] = False


def unique(ids: np.ndarray) -> bool:
    ordered = np.sort(ids)
    return not bool(np.any(ordered[1:] == ordered[:-1]))
