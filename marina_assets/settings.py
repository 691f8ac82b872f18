"""Where local state lives and the few environment switches, read in one place.

Everything has a working default so the embedded setup needs no configuration at all:
`./.marina/` (or `$MARINA_HOME`) holds the backups folder, `warehouse.duckdb` and the Dagster
home. Secrets are never read here; resources read them from the environment at run time.
"""

from __future__ import annotations

import os
from pathlib import Path

PARTITIONS_START = os.environ.get("MARINA_PARTITIONS_START", "2024-01-01")


def marina_home() -> Path:
    return Path(os.environ.get("MARINA_HOME", ".marina")).resolve()


def backups_dir() -> Path:
    return Path(os.environ.get("MARINA_BACKUP_DIR", str(marina_home() / "backups"))).resolve()


def duckdb_path() -> Path:
    return Path(os.environ.get("MARINA_DUCKDB_PATH", str(marina_home() / "warehouse.duckdb"))).resolve()


def dagster_home() -> Path:
    return Path(os.environ.get("DAGSTER_HOME", str(marina_home() / "dagster_home"))).resolve()


def env_int(name: str, default: int, *, minimum: int) -> int:
    """An integer switch: `default` when unset or blank; anything that is not an integer of at
    least `minimum` fails at once, naming the variable (not deep inside a run)."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = minimum - 1
    if value < minimum:
        wanted = "a positive integer" if minimum == 1 else f"an integer of at least {minimum}"
        raise ValueError(f"{name} must be {wanted}, got {raw!r}")
    return value
