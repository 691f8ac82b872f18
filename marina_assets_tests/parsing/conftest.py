"""The CSV tests run on both readers a member can go through: the C scanner (`csv_native`) and
Arrow's reader (used where the extension could not be built). Their results must be the same."""

from __future__ import annotations

import pytest

from marina_assets.parsing import csv_native


@pytest.fixture(params=["native", "arrow"])
def csv_reader(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    if request.param == "native" and csv_native._csvscan is None:
        pytest.skip("the _csvscan extension is not built (no C compiler at install time)")
    monkeypatch.setenv("MARINA_CSV_NATIVE", "1" if request.param == "native" else "0")
    return request.param
