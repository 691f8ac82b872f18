"""The benchmark harness's CPU sampling: how busy the machine's cores were in a timed section."""

from __future__ import annotations

import sys

import pytest

from benchmarks.harness import busy_pct, cpu_ticks


def test_busy_share_between_two_samples() -> None:
    # 200 ticks passed on all cores together, 50 of them idle: 75% busy
    assert busy_pct((1_000, 400), (1_200, 450)) == 75.0
    assert busy_pct((1_000, 400), (1_200, 600)) == 0.0


def test_no_share_without_two_samples_or_time_between_them() -> None:
    assert busy_pct(None, (1_200, 450)) is None
    assert busy_pct((1_000, 400), None) is None
    assert busy_pct((1_000, 400), (1_000, 400)) is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="/proc/stat is Linux's")
def test_ticks_of_this_machine_grow() -> None:
    first = cpu_ticks()
    sum(range(2_000_000))  # some work, so that ticks pass
    second = cpu_ticks()
    assert first is not None and second is not None
    assert second[0] >= first[0] and 0 <= first[1] <= first[0]
