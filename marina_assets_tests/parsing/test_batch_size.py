"""`MARINA_BATCH_ROWS`: the parsers' batch size, validated where it is read."""

from __future__ import annotations

import pytest

from marina_assets.parsing.batch_size import DEFAULT_BATCH_ROWS, batch_rows_from_env


def test_unset_or_blank_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MARINA_BATCH_ROWS", raising=False)
    assert batch_rows_from_env() == DEFAULT_BATCH_ROWS == 65_536
    monkeypatch.setenv("MARINA_BATCH_ROWS", " ")
    assert batch_rows_from_env() == DEFAULT_BATCH_ROWS


def test_a_positive_integer_is_taken(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARINA_BATCH_ROWS", "5")
    assert batch_rows_from_env() == 5


@pytest.mark.parametrize("raw", ["0", "-3", "many", "1.5"])
def test_anything_else_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("MARINA_BATCH_ROWS", raw)
    with pytest.raises(ValueError, match=f"MARINA_BATCH_ROWS must be a positive integer, got '{raw}'"):
        batch_rows_from_env()
