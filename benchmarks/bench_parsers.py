"""Backup parsers: mysqldump .sql.gz -> typed batches, CSV members -> typed rows, RSS on 1 GB.

    python -m benchmarks.bench_parsers [--scale 25] [--big-gb 1.0] [--skip-big]

Input: one generated day at `--scale` (25 ≈ the legacy volumes x3: ~78 MB of Stellar dump,
~480K MOLO rows), written by the sample-data writers into `$MARINA_HOME/bench/` and reused by
later runs. Every measurement runs in a fresh child process (benchmarks/harness.py) that only
opens files, so `peak_rss_mb` is the parser's own.

- `mysqldump_sql_gz_typed`: `parse_mysqldump` on the Stellar `.sql.gz`, every catalog table,
  to typed Arrow batches; MB/s of uncompressed dump. Baseline `mysqldump_pure_python_tokenizer`:
  the same parser with the Arrow fast path switched off, i.e. a regex / pure-Python tokenizer
  per value like the legacy loader's. It is slow, so it reads a complete ~12 MB slice of the
  dump; `mysqldump_sql_gz_typed_slice` is our parser on that same slice (the side-by-side).
- `csv_zip_typed`: `parse_csv_zip` on the MOLO ZIP, typed rows/s. Baseline
  `csv_python_tokenizer`: the exact byte-level tokenizer path for every member.
- `mysqldump_1gb_peak_rss`: a ~1 GB (uncompressed) dump made by repeating the INSERT section of
  the Stellar dump as extra gzip members; peak RSS must stay under 1 GB.
"""

from __future__ import annotations

import argparse
import gzip
import io
import os
from datetime import date
from pathlib import Path
from typing import Any

from benchmarks.harness import emit, measure

# imported here, before the children fork, so no measurement pays Python's import time
from marina_assets.catalog import system as _system  # noqa: F401
from marina_assets.parsing import csv_zip as _csv_zip  # noqa: F401
from marina_assets.parsing import mysqldump as _mysqldump  # noqa: F401

STELLAR = "stellar.sql.gz"
SLICE = "stellar_slice.sql.gz"  # the first ~12 MB of INSERTs: the slow baseline's input
MOLO = "molo.zip"
BIG = "stellar_big.sql.gz"
SLICE_BYTES = 12_000_000


def _cache(scale: float) -> Path:
    from marina_assets.settings import marina_home

    path = marina_home() / "bench" / f"parsers_scale{scale:g}"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _generate(folder: Path, scale: float) -> dict[str, Any]:
    from marina_assets.catalog import system
    from marina_assets.sample_data import generate, write_backup

    snapshot = next(iter(generate(start=date(2025, 11, 17), days=1, scale=scale, seed=20251117)))
    for code, name in (("STELLAR", STELLAR), ("MOLO", MOLO)):
        _, data = write_backup(system(code), snapshot)
        (folder / f".{name}.partial").write_bytes(data)
        (folder / f".{name}.partial").replace(folder / name)
    return {"rows": 0}


def _make_slice(folder: Path) -> dict[str, Any]:
    """A complete, smaller dump: the head, INSERT lines up to SLICE_BYTES, the tail."""
    text = gzip.decompress((folder / STELLAR).read_bytes())
    cut = text.index(b";\n", SLICE_BYTES) + 2
    tail = text[text.rindex(b"/*!40103 SET TIME_ZONE=@OLD_TIME_ZONE") :]
    body = text[:cut] + b"UNLOCK TABLES;\n" + tail
    (folder / f".{SLICE}.partial").write_bytes(gzip.compress(body, 6))
    (folder / f".{SLICE}.partial").replace(folder / SLICE)
    (folder / f"{SLICE}.size").write_text(str(len(body)))
    return {"rows": 0}


def _make_big(folder: Path, target_bytes: int) -> dict[str, Any]:
    """Head (everything before the first INSERT) + the INSERT section repeated + the tail, as
    gzip members: a valid multi-member .sql.gz of ~target_bytes without holding it in memory."""
    text = gzip.decompress((folder / STELLAR).read_bytes())
    first = text.index(b"\nINSERT INTO ") + 1
    last = text.rindex(b"\nUNLOCK TABLES;") + 1
    middle = text[first:last]
    repeats = max(1, round((target_bytes - len(text)) / len(middle)) + 1)
    with open(folder / f".{BIG}.partial", "wb") as out:
        out.write(gzip.compress(text[:first], 1))
        member = gzip.compress(middle, 1)
        for _ in range(repeats):
            out.write(member)
        out.write(gzip.compress(text[last:], 1))
    (folder / f".{BIG}.partial").replace(folder / BIG)
    (folder / f"{BIG}.size").write_text(str(first + repeats * len(middle) + len(text) - last))
    return {"rows": 0}


def _uncompressed(path: Path) -> int:
    sized = path.with_name(path.name + ".size")
    if sized.exists():
        return int(sized.read_text())
    with gzip.open(path, "rb") as f:
        total = 0
        while chunk := f.read(1 << 22):
            total += len(chunk)
    sized.write_text(str(total))
    return total


def _run_dump(path: Path, fast: bool) -> dict[str, Any]:
    from marina_assets.catalog import system
    from marina_assets.parsing import mysqldump
    from marina_assets.parsing.events import Batch, Failed

    if not fast:
        mysqldump.to_csv = lambda *a: None  # type: ignore[assignment]  # child process only
    rows = 0
    with open(path, "rb") as f:
        for ev in mysqldump.parse_mysqldump(f, path.name, system("STELLAR").tables):
            if isinstance(ev, Batch):
                rows += ev.batch.num_rows
            elif isinstance(ev, Failed) and "is not in the dump" not in ev.message:  # the slice
                raise RuntimeError(ev.message)
    # MB/s is the measure (rows differ in width per table); typed rows are counted, not rated
    return {"bytes": _uncompressed(path), "typed_rows": rows}


def _run_zip(path: Path, fast: bool) -> dict[str, Any]:
    from marina_assets.catalog import system
    from marina_assets.parsing import csv_member
    from marina_assets.parsing.csv_zip import parse_csv_zip
    from marina_assets.parsing.events import Batch, Failed

    if not fast:

        def give_up(*args: Any, **kwargs: Any) -> Any:
            raise csv_member._FastPathGaveUp
            yield

        csv_member._fast = give_up  # type: ignore[assignment]  # child process only
    rows = 0
    with open(path, "rb") as f:
        for ev in parse_csv_zip(io.BufferedReader(f), path.name, system("MOLO").tables):  # type: ignore[arg-type]
            if isinstance(ev, Batch):
                rows += ev.batch.num_rows
            elif isinstance(ev, Failed):
                raise RuntimeError(ev.message)
    return {"rows": rows}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scale", type=float, default=25.0)
    p.add_argument("--big-gb", type=float, default=1.0)
    p.add_argument("--skip-big", action="store_true")
    p.add_argument("--only", choices=("csv",), help="skip the mysqldump parts")
    args = p.parse_args()
    folder = _cache(args.scale)
    if not (folder / STELLAR).exists() or not (folder / MOLO).exists():
        measure(lambda: _generate(folder, args.scale))
    dump = args.only != "csv"
    # pyarrow imports pandas lazily on its first pa.array(list): import time, paid once per
    # process (~0.4 s), so it is paid here before the children fork, like the imports above
    import pyarrow as pa

    pa.array([0])

    if dump and not (folder / SLICE).exists():
        measure(lambda: _make_slice(folder))
    if dump:
        legacy = measure(lambda: _run_dump(folder / SLICE, fast=False))
        base = emit("mysqldump_pure_python_tokenizer", legacy)
        side = measure(lambda: _run_dump(folder / SLICE, fast=True))
        emit("mysqldump_sql_gz_typed_slice", side, baseline=base["name"], baseline_rate=base["mb_per_s"])
        ours = measure(lambda: _run_dump(folder / STELLAR, fast=True))
        emit("mysqldump_sql_gz_typed", ours, baseline=base["name"], baseline_rate=base["mb_per_s"])

    ours = measure(lambda: _run_zip(folder / MOLO, fast=True))
    legacy = measure(lambda: _run_zip(folder / MOLO, fast=False))
    base = emit("csv_python_tokenizer", legacy)
    emit("csv_zip_typed", ours, baseline="csv_python_tokenizer", baseline_rate=base["rows_per_s"])

    if dump and not args.skip_big:
        target = int(args.big_gb * 1e9)
        big = folder / BIG
        if not big.exists() or abs(_uncompressed(big) - target) > target * 0.1:
            measure(lambda: _make_big(folder, target))
        emit("mysqldump_1gb_peak_rss", measure(lambda: _run_dump(big, fast=True)))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
