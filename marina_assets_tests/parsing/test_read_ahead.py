"""read_ahead: parallel jobs, serial order — events, exceptions and early exits as a loop gives them."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from marina_assets.parsing.read_ahead import read_ahead


def _job(name: str, n: int, fail_at: int | None = None, log: list[str] | None = None):
    def run() -> Iterator[str]:
        for i in range(n):
            if i == fail_at:
                raise ValueError(f"{name} broke at {i}")
            if log is not None:
                log.append(f"{name}{i}")
            yield f"{name}{i}"

    return run


def test_events_leave_in_job_order_whatever_the_threads_do() -> None:
    jobs = [_job(name, n) for name, n in (("a", 50), ("b", 3), ("c", 0), ("d", 40))]
    got = list(read_ahead(jobs, ahead=3, queue_events=2))  # type: ignore[arg-type]
    assert got == [f"a{i}" for i in range(50)] + ["b0", "b1", "b2"] + [f"d{i}" for i in range(40)]


def test_an_exception_surfaces_after_the_events_before_it() -> None:
    jobs = [_job("a", 5), _job("b", 5, fail_at=2), _job("c", 5)]
    seen: list[str] = []
    with pytest.raises(ValueError, match="b broke at 2"):
        for ev in read_ahead(jobs, ahead=2):  # type: ignore[arg-type]
            seen.append(ev)
    assert seen == ["a0", "a1", "a2", "a3", "a4", "b0", "b1"]


def test_closing_early_stops_the_workers() -> None:
    log: list[str] = []
    jobs = [_job(name, 10_000, log=log) for name in "abcdef"]
    events = read_ahead(jobs, ahead=2, queue_events=4)  # type: ignore[arg-type]
    assert next(events) == "a0"
    events.close()  # returns once every worker has stopped
    assert len(log) < 100  # bounded by the queues, not the jobs' length
    assert not [t for t in threading.enumerate() if t.name.startswith("marina-parse")]
