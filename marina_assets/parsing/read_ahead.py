"""Run several per-table parsers at once while their events still leave in table order.

A ZIP backup is ~50 independent members. Arrow's reader and ISA-L release the GIL, so on a
multi-core machine the next members can be parsed while the caller is still consuming (loading)
the current one. Each job runs in a worker thread and hands its events over through a small
bounded queue, so memory stays bounded by `ahead` jobs x `queue_events` events; the caller sees
exactly the sequence a serial loop would give, exceptions included, at the same place.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

from marina_assets.parsing.events import ParseEvent

_DONE = object()


class _Stopped(Exception):
    """The consumer went away: a worker stops producing."""


def read_ahead(
    jobs: list[Callable[[], Iterator[ParseEvent]]], *, ahead: int = 2, queue_events: int = 8
) -> Iterator[ParseEvent]:
    if ahead <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield from job()
        return
    stop = threading.Event()

    def put(q: queue.Queue, item: object) -> None:
        while not stop.is_set():
            try:
                q.put(item, timeout=0.1)
                return
            except queue.Full:
                continue
        raise _Stopped

    def work(job: Callable[[], Iterator[ParseEvent]], q: queue.Queue) -> None:
        if stop.is_set():
            return
        events = job()
        try:
            for event in events:
                put(q, event)
            put(q, _DONE)
        except _Stopped:
            return
        except BaseException as e:  # handed to the consumer, raised where a serial loop would
            try:
                put(q, e)
            except _Stopped:
                return
        finally:
            events.close()  # type: ignore[attr-defined]

    queues: list[queue.Queue] = [queue.Queue(maxsize=queue_events) for _ in jobs]
    with ThreadPoolExecutor(max_workers=ahead, thread_name_prefix="marina-parse") as pool:
        try:
            for job, q in zip(jobs, queues, strict=True):
                pool.submit(work, job, q)  # the pool runs `ahead` of them at a time, in order
            for q in queues:
                while True:
                    item = q.get()
                    if item is _DONE:
                        break
                    if isinstance(item, BaseException):
                        raise item
                    yield item  # type: ignore[misc]
        finally:
            stop.set()  # workers blocked on a full queue give up; queued jobs start and stop at once
