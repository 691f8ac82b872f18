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
  `mysqldump_sql_gz_typed_numpy_rewrite`: the fast path without the C scanner (numpy proof and
  Python rewrite of each VALUES list), what runs where the extension could not be built.
- `csv_zip_typed_arrow_reader`: the ZIP read by Arrow's CSV reader instead of the C scanner
  (again the path without the extension).
- `csv_zip_typed`: `parse_csv_zip` on the MOLO ZIP, typed rows/s. Baseline
  `csv_python_tokenizer`: the exact byte-level tokenizer path for every member.
- `csv_members_typed`: the same members already inflated in memory, read by our CSV reader
  (the ZIP's inflate left out); `csv_arrow_read_csv_floor`: Arrow's C reader alone on them, typed,
  without line numbers, checks or rejects — a reference for what this design can reach here.
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


def _run_dump(path: Path, fast: bool, native: bool = True) -> dict[str, Any]:
    """`fast`: the Arrow fast path; `native`: its VALUES rewrite by the C scanner (else the
    numpy proof + `to_csv`, used when the extension is not built)."""
    from marina_assets.catalog import system
    from marina_assets.parsing import mysqldump
    from marina_assets.parsing.events import Batch, Failed

    if not (fast and native):
        os.environ["MARINA_CSV_NATIVE"] = "0"  # child process only
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


def _run_zip(path: Path, reader: str) -> dict[str, Any]:
    """`reader`: "native" (the C scanner, what staging uses), "arrow" (Arrow's reader, used when
    the extension is not built) or "exact" (the byte tokenizer for every member)."""
    from marina_assets.catalog import system
    from marina_assets.parsing import csv_member
    from marina_assets.parsing.csv_zip import parse_csv_zip
    from marina_assets.parsing.events import Batch, Failed

    if reader != "native":
        os.environ["MARINA_CSV_NATIVE"] = "0"  # child process only
    if reader == "exact":

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


def _inflated_members(path: Path) -> dict[str, bytes]:
    import zipfile

    with zipfile.ZipFile(path) as z:
        return {i.filename.rsplit("/", 1)[-1][:-4].lower(): z.read(i) for i in z.infolist()}


def _run_members(path: Path) -> dict[str, Any]:
    """The CSV members already inflated in memory (no ZIP): our reader alone, as staging runs it
    (members a few at a time, events in catalog order). Only the parse is timed."""
    import time

    from marina_assets.catalog import system
    from marina_assets.parsing.csv_member import read_csv_member
    from marina_assets.parsing.csv_zip import MEMBERS_AHEAD
    from marina_assets.parsing.events import Batch, Failed
    from marina_assets.parsing.read_ahead import read_ahead

    members = _inflated_members(path)
    tables = system("MOLO").tables
    jobs = [
        lambda t=t: read_csv_member(t, f"{t.source}.csv", lambda t=t: io.BytesIO(members[t.source.lower()]))
        for t in tables
    ]
    t0 = time.perf_counter()
    rows = 0
    for ev in read_ahead(jobs, ahead=MEMBERS_AHEAD):
        if isinstance(ev, Batch):
            rows += ev.batch.num_rows
        elif isinstance(ev, Failed):
            raise RuntimeError(ev.message)
    return {"rows": rows, "bytes": sum(len(m) for m in members.values()), "seconds": time.perf_counter() - t0}


def _run_arrow_floor(path: Path) -> dict[str, Any]:
    """Reference, not a pipeline: Arrow's C CSV reader converting the in-memory members to the
    catalog types, with no line numbers, checks or rejects — the ceiling of this design."""
    import time

    import pyarrow as pa
    import pyarrow.csv as pacsv

    from marina_assets.catalog import system
    from marina_assets.parsing.typing import BOOLEAN_FALSE, BOOLEAN_TRUE, arrow_type

    members = _inflated_members(path)
    t0 = time.perf_counter()
    rows = 0
    for t in system("MOLO").tables:
        data = members[t.source.lower()]
        header = data[: data.index(b"\n")].decode("utf-8-sig").strip().split(",")
        by = {c.source.lower(): c for c in t.columns}
        types = {h: arrow_type(by[h.lower()].type) for h in header if h.lower() in by}
        rows += pacsv.read_csv(
            pa.BufferReader(data),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(
                column_types=types,
                null_values=[""],
                true_values=BOOLEAN_TRUE,
                false_values=BOOLEAN_FALSE,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        ).num_rows
    return {"rows": rows, "bytes": sum(len(m) for m in members.values()), "seconds": time.perf_counter() - t0}


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
        numpy_rewrite = measure(lambda: _run_dump(folder / STELLAR, fast=True, native=False))
        ours = measure(lambda: _run_dump(folder / STELLAR, fast=True))
        rate = base["mb_per_s"]
        emit("mysqldump_sql_gz_typed_numpy_rewrite", numpy_rewrite, baseline=base["name"], baseline_rate=rate)
        emit("mysqldump_sql_gz_typed", ours, baseline=base["name"], baseline_rate=rate)

    ours = measure(lambda: _run_zip(folder / MOLO, "native"))
    arrow = measure(lambda: _run_zip(folder / MOLO, "arrow"))
    legacy = measure(lambda: _run_zip(folder / MOLO, "exact"))
    base = emit("csv_python_tokenizer", legacy)
    rate = base["rows_per_s"]
    emit("csv_zip_typed_arrow_reader", arrow, baseline="csv_python_tokenizer", baseline_rate=rate)
    emit("csv_zip_typed", ours, baseline="csv_python_tokenizer", baseline_rate=base["rows_per_s"])
    members = measure(lambda: _run_members(folder / MOLO))
    emit("csv_members_typed", members, baseline="csv_python_tokenizer", baseline_rate=base["rows_per_s"])
    emit("csv_arrow_read_csv_floor", measure(lambda: _run_arrow_floor(folder / MOLO)))

    if dump and not args.skip_big:
        target = int(args.big_gb * 1e9)
        big = folder / BIG
        if not big.exists() or abs(_uncompressed(big) - target) > target * 0.1:
            measure(lambda: _make_big(folder, target))
        emit("mysqldump_1gb_peak_rss", measure(lambda: _run_dump(big, fast=True)))


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    main()
