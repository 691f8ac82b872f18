"""What a check is (as data) and what evaluating it gives, independent of Dagster.

A `CheckDef` names a check, its default severity and whether it blocks downstream assets; an
evaluation returns an `Outcome`, which the Dagster layer turns into an `AssetCheckResult`.
Severities are deliberate: ERROR (and blocking) where downstream data would be wrong, WARN
where a human should look but the data downstream is still right.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Severity = Literal["ERROR", "WARN"]


@dataclass(frozen=True)
class CheckDef:
    name: str
    severity: Severity
    blocking: bool
    description: str


@dataclass(frozen=True)
class Outcome:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    severity: Severity | None = None  # overrides the check's default (e.g. schema drift)


def combine(outcomes: list[Outcome]) -> Outcome:
    """One outcome for several evaluations (e.g. several dates): fails if any fails."""
    if len(outcomes) == 1:
        return outcomes[0]
    failed = [o for o in outcomes if not o.passed]
    severities = {o.severity for o in failed}
    metadata: dict[str, Any] = {}
    for o in outcomes:
        metadata.update(o.metadata)
    return Outcome(
        passed=not failed,
        description="; ".join(o.description for o in (failed or outcomes)),
        metadata=metadata,
        severity="ERROR" if "ERROR" in severities else ("WARN" if "WARN" in severities else None),
    )
