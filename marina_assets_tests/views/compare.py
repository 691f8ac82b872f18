"""Compare a view's rows from the engine with the Python expectation, column by column."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from marina_assets.views.catalog import view
from marina_assets.warehouse.backend import Warehouse
from marina_assets_tests.views.expected_views import EXPECTED, Truth

# Ratios and averages the SQL rounds (ROUND(x, 4) / ROUND(x, 2)) come back as binary floats in
# DuckDB (AVG and division of DECIMALs give DOUBLE), so a half-way value may round either way:
# floats agree within one unit of the second decimal. Integers and decimals compare exactly.
TOLERANCE = 0.011


def _norm(v: Any) -> Any:
    if isinstance(v, bool):
        return int(v)
    if isinstance(v, datetime):
        return v.date()
    return v


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        if a is None or b is None:
            return a is None and b is None
        return math.isclose(float(a), float(b), rel_tol=0.0, abs_tol=TOLERANCE)
    return _norm(a) == _norm(b)


def view_rows(wh: Warehouse, name: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    keys, _ = EXPECTED[name]
    columns = view(name).column_names
    out = {}
    for row in wh.fetchall(f"SELECT {', '.join(columns)} FROM {name}"):
        values = dict(zip(columns, row, strict=True))
        key = tuple(_norm(values[k]) if isinstance(values[k], datetime) else values[k] for k in keys)
        assert key not in out, f"{name}: key {key} appears twice"
        out[key] = values
    return out


def differences(wh: Warehouse, name: str, truth: Truth) -> list[str]:
    """Human-readable differences between the engine's view and the expectation (empty = equal)."""
    _, expect = EXPECTED[name]
    want = expect(truth)
    got = view_rows(wh, name)
    problems: list[str] = []
    missing = [k for k in want if k not in got]
    extra = [k for k in got if k not in want]
    if missing:
        problems.append(f"{name}: {len(missing)} expected rows missing, e.g. {missing[0]}")
    if extra:
        problems.append(f"{name}: {len(extra)} unexpected rows, e.g. {extra[0]}")
    for k, expected in want.items():
        row = got.get(k)
        if row is None:
            continue
        for column, value in expected.items():
            if not _same(row[column], value):
                problems.append(f"{name} {k}: {column} = {row[column]!r}, expected {value!r}")
                break
    return problems[:10]
