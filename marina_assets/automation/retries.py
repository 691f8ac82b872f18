"""Retry policies per layer, for transient faults only.

Dagster retries a step that raised anything except `dg.Failure(allow_retries=False)`, which is
what the pipeline raises for bad data (an unusable backup object, a table over its reject
budget): bad data fails at once with a message naming the file, table and reason, while a
throttled or reset S3 read or a dropped database connection is retried with exponential
backoff and jitter (so parallel runs do not retry in lock-step).

- staging reads the backup (S3) and writes the warehouse: more attempts, longer first delay
  (S3 throttling clears in tens of seconds);
- warehouse merges only talk to the database: a dropped connection usually recovers fast.

`MARINA_RETRY_DELAY_SECONDS` scales the first delay (default 30 s).
"""

from __future__ import annotations

import dagster as dg

from marina_assets.automation.settings import automation_settings


def _policy(max_retries: int, delay_factor: float) -> dg.RetryPolicy:
    return dg.RetryPolicy(
        max_retries=max_retries,
        delay=automation_settings().retry_delay_seconds * delay_factor,
        backoff=dg.Backoff.EXPONENTIAL,
        jitter=dg.Jitter.PLUS_MINUS,
    )


def staging_retry() -> dg.RetryPolicy:
    return _policy(max_retries=4, delay_factor=1.0)


def warehouse_retry() -> dg.RetryPolicy:
    return _policy(max_retries=3, delay_factor=0.5)


def maintenance_retry() -> dg.RetryPolicy:
    return _policy(max_retries=2, delay_factor=0.5)
