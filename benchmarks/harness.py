"""Shared shape of every benchmark line: one JSON object per measurement on stdout.

    {"name": ..., "rows_per_s": ..., "mb_per_s": ..., "peak_rss_mb": ..., "cores": ...,
     "baseline": <name of the peer>, "speedup": <ours / baseline>, "cpu_busy_pct": ...}

`cpu_busy_pct`, where a benchmark samples it (`cpu_ticks`), is how busy all of the machine's
cores were during the timed section (every process, the database server's included): near 100
means the run was bound by the CPU work it does, not by waiting or by too little parallelism.

Benchmarks run each measured function in a fresh child process so `peak_rss_mb` is that
function's own high-water mark, not the harness's.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import resource
import time
from collections.abc import Callable
from typing import Any


def cpu_ticks() -> tuple[int, int] | None:
    """(all, idle) CPU ticks of the whole machine since boot; None off Linux."""
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    return sum(fields), fields[3] + fields[4]  # idle + iowait


def busy_pct(start: tuple[int, int] | None, end: tuple[int, int] | None) -> float | None:
    """The share of all cores' time between two `cpu_ticks` samples that was not idle, in %."""
    if start is None or end is None or end[0] <= start[0]:
        return None
    return round(100 * (1 - (end[1] - start[1]) / (end[0] - start[0])), 1)


def _child(fn: Callable[[], dict[str, Any]], queue: mp.Queue) -> None:
    try:
        t0 = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - t0
        out.setdefault("seconds", seconds)
        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    except BaseException as e:  # the parent must not wait forever on a failed measurement
        out = {"error": f"{type(e).__name__}: {e}"}
    queue.put(out)


def measure(fn: Callable[[], dict[str, Any]], *, timeout_s: float = 1800) -> dict[str, Any]:
    """Run `fn` in a child process; it returns at least `rows` and/or `bytes` (and may time itself)."""
    ctx = mp.get_context("fork")
    queue: mp.Queue = ctx.Queue()
    proc = ctx.Process(target=_child, args=(fn, queue))
    proc.start()
    try:
        result = queue.get(timeout=timeout_s)
    except Exception as e:  # queue.Empty, or the child died without reporting
        proc.kill()
        raise RuntimeError(f"benchmark child produced no result within {timeout_s} s") from e
    proc.join()
    if "error" in result:
        raise RuntimeError(f"benchmark child failed: {result['error']}")
    return result


def emit(
    name: str, m: dict[str, Any], *, baseline: str | None = None, baseline_rate: float | None = None
) -> dict:
    seconds = float(m["seconds"])
    line: dict[str, Any] = {"name": name, "cores": os.cpu_count(), "seconds": round(seconds, 3)}
    if "rows" in m:
        line["rows"] = m["rows"]
        line["rows_per_s"] = round(m["rows"] / seconds)
    if "bytes" in m:
        line["mb"] = round(m["bytes"] / 1e6, 1)
        line["mb_per_s"] = round(m["bytes"] / 1e6 / seconds, 1)
    line["peak_rss_mb"] = m.get("peak_rss_mb")
    if m.get("cpu_busy_pct") is not None:
        line["cpu_busy_pct"] = m["cpu_busy_pct"]
    if "runs_s" in m:  # a median of several runs: every run's seconds, fastest first
        line["runs_s"] = m["runs_s"]
    if baseline is not None and baseline_rate:
        rate = line.get("rows_per_s") or line.get("mb_per_s")
        line["baseline"] = baseline
        line["speedup"] = round(rate / baseline_rate, 2)
    print(json.dumps(line), flush=True)
    return line
