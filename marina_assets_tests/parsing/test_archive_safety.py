"""Hostile and broken archives: bombs, traversal names, corruption — refused, naming the object."""

from __future__ import annotations

import gzip
import io
import os
import random
import zipfile
import zlib
from pathlib import Path

import pytest

from marina_assets.catalog.model import col, table
from marina_assets.parsing import PARSERS
from marina_assets.parsing.archive import member_opener, open_zip
from marina_assets.parsing.events import BackupError
from marina_assets.parsing.limits import ArchiveLimits, Budget
from marina_assets_tests.parsing.helpers import collect
from marina_assets_tests.parsing.inspect_helpers import run_parse

BOATS = table("MOLO", "Boats", [col("Id", "int"), col("Name", "text")], pk="Id")
BOMB_BYTES = 24 << 20  # 24 MB of one repeated long line: ratio ~1000, past the 4 MB floor
LINE = b"1," + b"a" * 4000 + b"\n"


def _zip(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", method) as z:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0))
            info.compress_type = method
            z.writestr(info, data)
    return buf.getvalue()


@pytest.fixture(scope="module")
def bomb_csv() -> bytes:
    return b"Id,Name\n" + LINE * (BOMB_BYTES // len(LINE))


def test_zip_bomb_refused_by_ratio_while_streaming(bomb_csv: bytes, tmp_path: Path, capsys) -> None:
    data = _zip({"Boats.csv": bomb_csv})
    assert len(data) < BOMB_BYTES / 200
    with pytest.raises(
        BackupError, match=r"molo_backup_x\.zip:Boats\.csv: compression ratio above the limit"
    ):
        collect(PARSERS["csv_zip"](io.BytesIO(data), "molo_backup_x.zip", [BOATS]))
    path = tmp_path / "bomb.zip"
    path.write_bytes(data)
    got = run_parse(capsys, path, tmp_path / "o")
    assert got.code == 1 and got.stderr.count("\n") == 1 and "bomb.zip:Boats.csv" in got.stderr
    assert sorted(os.listdir(tmp_path / "o")) == []  # nothing that looks like output


def test_gzip_bomb_refused_and_total_size_limit(bomb_csv: bytes, tmp_path: Path, capsys) -> None:
    path = tmp_path / "bookings.csv.gz"
    path.write_bytes(gzip.compress(bomb_csv, 9))
    got = run_parse(capsys, path, tmp_path / "o")
    assert got.code == 1 and "compression ratio" in got.stderr
    small = tmp_path / "dump.sql.gz"
    small.write_bytes(gzip.compress(b"INSERT INTO t VALUES (1);\n" * 1000))
    got = run_parse(capsys, small, tmp_path / "o2", "--max-bytes", "5000")
    assert got.code == 1 and "exceeds the limit of 5,000 bytes" in got.stderr and "dump.sql.gz" in got.stderr
    stellar = table("STELLAR", "t", [col("id", "int")], pk="id")
    with pytest.raises(BackupError, match="exceeds the limit"):
        collect(
            PARSERS["mysqldump"](
                io.BytesIO(small.read_bytes()), "d.sql.gz", [stellar], limits=ArchiveLimits(max_bytes=5000)
            )
        )


def test_zip_total_limit_counts_every_member_and_lying_headers_do_not_help(tmp_path: Path) -> None:
    data = _zip({"Boats.csv": b"Id,Name\n" + b"1,x\n" * 5000}, zipfile.ZIP_STORED)
    with pytest.raises(BackupError, match="exceeds the limit"):
        collect(
            PARSERS["csv_zip"](io.BytesIO(data), "m.zip", [BOATS], limits=ArchiveLimits(max_bytes=10_000))
        )
    # shrink the declared uncompressed size in both headers: the data is still counted as read
    # and zipfile's own check (CRC / size) fails loudly; never a silent short table
    real = len(b"Id,Name\n" + b"1,x\n" * 5000).to_bytes(4, "little")
    lying = data.replace(real, (100).to_bytes(4, "little"))
    assert lying != data
    with pytest.raises(BackupError, match=r"m\.zip:Boats\.csv"):
        collect(PARSERS["csv_zip"](io.BytesIO(lying), "m.zip", [BOATS]))


def test_member_names_with_dotdot_or_absolute_paths_write_nowhere(tmp_path: Path, capsys) -> None:
    rows = b"Id,Name\n1,x\n"
    data = _zip(
        {
            "../../evil.csv": rows,
            "/etc/Boats.csv": rows,
            "a/../../../x.csv": rows,
            "..\\win.csv": rows,
            "../_rejects.csv": rows,
        }
    )
    work = tmp_path / "work"
    (work / "in").mkdir(parents=True)
    path = work / "in" / "hostile.zip"
    path.write_bytes(data)
    before = {p for p in tmp_path.rglob("*")}
    got = run_parse(capsys, path, work / "in" / "out")
    assert got.code == 0, got.stderr
    created = {p for p in tmp_path.rglob("*")} - before
    assert all((work / "in" / "out") in p.parents or p == work / "in" / "out" for p in created)
    assert got.files == {
        "evil.jsonl",
        "Boats.jsonl",
        "x.jsonl",
        "win.jsonl",
        "_rejects~2.jsonl",
        "_rejects.jsonl",
    }
    assert got.table("Boats") == [{"Id": "1", "Name": "x"}]
    # the staging parser matches by base name only and reads the member in place
    ev = collect(PARSERS["csv_zip"](io.BytesIO(data), "hostile.zip", [BOATS]))
    assert ev.rows["Boats"][0]["ID"] == 1 and not Path("/etc/Boats.jsonl").exists()


def test_corrupt_and_truncated_archives_name_the_object(tmp_path: Path, capsys) -> None:
    good = _zip({"Boats.csv": b"Id,Name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(3000))})
    cases = {
        "garbage.zip": os.urandom(2000),
        "truncated.zip": good[: len(good) // 2],
        "empty.zip": b"",
    }
    # flip bytes inside the deflated data: inflate error or CRC mismatch
    start = good.index(b"Boats.csv") + len("Boats.csv") + 50
    cases["flipped.zip"] = (
        good[:start] + bytes(b ^ 0x5A for b in good[start : start + 64]) + good[start + 64 :]
    )
    for name, data in cases.items():
        path = tmp_path / name
        path.write_bytes(data)
        got = run_parse(capsys, path, tmp_path / "o")
        assert got.code == 1, name
        assert got.stderr.count("\n") == 1 and name in got.stderr, got.stderr
        with pytest.raises(BackupError, match=name.replace(".", r"\.")):
            collect(PARSERS["csv_zip"](io.BytesIO(data), name, [BOATS]))
    assert "flipped.zip:Boats.csv" in run_parse(capsys, tmp_path / "flipped.zip", tmp_path / "o").stderr


def test_duplicate_members_fail_the_table_not_pick_one() -> None:
    data = _zip({"a/Boats.csv": b"Id\n1\n", "b/boats.csv": b"Id\n2\n"})
    got = collect(PARSERS["csv_zip"](io.BytesIO(data), "d.zip", [BOATS]))
    assert "several members" in got.failures["Boats"] and "Boats" not in got.rows


def test_gzip_member_corruption_is_reported(tmp_path: Path, capsys) -> None:
    data = bytearray(gzip.compress(b"Id,Name\n" + b"1,x\n" * 10000))
    data[len(data) // 2] ^= 0xFF
    path = tmp_path / "Boats.csv.gz"
    path.write_bytes(bytes(data))
    got = run_parse(capsys, path, tmp_path / "o")
    assert got.code == 1 and "Boats.csv.gz" in got.stderr
    assert isinstance(zlib.error, type)


def test_gz_name_without_gzip_data_is_an_error(tmp_path: Path, capsys) -> None:
    path = tmp_path / "prod_resilient_2025-11-17_05_00-DATA.sql.gz"
    path.write_bytes(b"INSERT INTO t VALUES (1);\n")
    got = run_parse(capsys, path, tmp_path / "o")
    assert got.code == 1 and "not gzip data" in got.stderr and path.name in got.stderr


def test_stored_members_and_a_crc_mismatch_are_read_and_caught_like_zipfile_would() -> None:
    body = b"Id,Name\n" + b"".join(b"%d,name %d\n" % (i, i) for i in range(2000))
    stored = _zip({"Boats.csv": body}, zipfile.ZIP_STORED)
    got = collect(PARSERS["csv_zip"](io.BytesIO(stored), "s.zip", [BOATS]))
    assert [r["NAME"] for r in got.rows["Boats"]][-1] == "name 1999"
    # a stored member's bytes changed in place: only the CRC-32 can tell
    at = stored.index(b"name 1000")
    bad = stored[:at] + b"NAME" + stored[at + 4 :]
    with pytest.raises(BackupError, match=r"s\.zip:Boats\.csv: corrupt member \(size or CRC-32"):
        collect(PARSERS["csv_zip"](io.BytesIO(bad), "s.zip", [BOATS]))


def test_local_header_naming_another_member_is_refused() -> None:
    data = _zip({"Boats.csv": b"Id,Name\n1,x\n"})
    local = data.index(b"Boats.csv")  # the local header's copy comes first
    forged = data[:local] + b"Evil!.csv" + data[local + 9 :]
    with pytest.raises(BackupError, match=r"local header names 'Evil!\.csv'"):
        collect(PARSERS["csv_zip"](io.BytesIO(forged), "f.zip", [BOATS]))


@pytest.mark.parametrize("read_size", [1, 997, 65_536, 1 << 20])
def test_members_read_back_byte_exact_whatever_the_read_size(read_size: int) -> None:
    """Small reads leave output inside the inflater after the input is used up; it must still
    come out (and not be taken for a truncated member)."""
    rng = random.Random(7)
    body = b"".join(
        (b"x" * rng.randrange(1, 3000)) + bytes(rng.randrange(256) for _ in range(rng.randrange(0, 40)))
        for _ in range(300)
    )
    data = _zip({"Boats.csv": body})
    archive = open_zip(io.BytesIO(data), "r.zip")
    (info,) = archive.infolist()
    got = bytearray()
    with member_opener(archive, info, "r.zip", Budget(ArchiveLimits(), "r.zip"))() as member:
        while chunk := member.read(read_size):
            got += chunk
    assert bytes(got) == body
