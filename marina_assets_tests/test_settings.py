"""`settings.env_int`: integer switches fail at once, naming the variable."""

from __future__ import annotations

import pytest

from marina_assets.settings import env_int


def test_zero_is_allowed_where_the_minimum_is_zero(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MARINA_TEST_SWITCH", "0")
    assert env_int("MARINA_TEST_SWITCH", 100_000, minimum=0) == 0
    monkeypatch.delenv("MARINA_TEST_SWITCH")
    assert env_int("MARINA_TEST_SWITCH", 100_000, minimum=0) == 100_000


@pytest.mark.parametrize("raw", ["-1", "lots"])
def test_below_the_minimum_or_not_a_number_is_refused(monkeypatch: pytest.MonkeyPatch, raw: str) -> None:
    monkeypatch.setenv("MARINA_TEST_SWITCH", raw)
    with pytest.raises(ValueError, match=f"MARINA_TEST_SWITCH must be an integer of at least 0, got '{raw}'"):
        env_int("MARINA_TEST_SWITCH", 100_000, minimum=0)
