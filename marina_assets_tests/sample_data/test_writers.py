"""Backup writers: exact bytes of the MOLO / NetSuite CSV ZIPs and the Stellar mysqldump."""

from __future__ import annotations

import csv
import gzip
import io
import re
import zipfile
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from marina_assets.catalog import SYSTEMS, system
from marina_assets.catalog.model import SourceSystem, Table, col, table
from marina_assets.sample_data import Snapshot, backup_object_name, generate, write_backup, write_snapshots
from marina_assets.sample_data.writers import CSV_DIALECTS, create_table, csv_lines, dump_lines, mysql_string

DAY = date(2025, 11, 17)


def things(code: str, **names: str) -> Table:
    """A tiny table with one column of every type; `names` renames source columns."""
    n = {
        "id": "Id",
        "name": "Name",
        "note": "Note",
        "amount": "Amount",
        "day": "Day",
        "at": "At",
        "flag": "Flag",
    }
    n.update(names)
    return table(
        code,
        "Things" if code != "STELLAR" else "things",
        [
            col(n["id"], "int"),
            col(n["name"], "str(40)"),
            col(n["note"], "text"),
            col(n["amount"], "dec(8,2)"),
            col(n["day"], "date"),
            col(n["at"], "ts"),
            col(n["flag"], "bool"),
        ],
        pk=n["id"],
    )


def empty(code: str) -> Table:
    return table(code, "Nothing", [col("Id", "int"), col("Label", "str(5)")], pk="Id")


def like(code: str, *tables: Table) -> SourceSystem:
    real = system(code)
    return SourceSystem(
        code, real.label, real.backup_format, real.object_pattern, real.object_name_format, tables
    )


ROWS = {  # deliberately not in key order
    (3,): (3, None, "two\nlines", Decimal("1E+2"), None, None, None),
    (1,): (1, "plain", "a,b", Decimal("1.50"), date(2025, 1, 2), datetime(2025, 1, 2, 3, 4, 5), True),
    (2,): (2, "", 'say "hi"', Decimal("-0.05"), None, None, False),
    (4,): (4, " pad", "tab\there", None, None, None, None),
    (5,): (5, "NULL", "cr\r\nlf", None, None, None, None),
    (6,): (6, "é 中 ü", "trailing ", None, None, None, None),
}
CSV_BODY = (
    '1,plain,"a,b",1.50,2025-01-02,2025-01-02 03:04:05,{true}{eol}'
    '2,"","say ""hi""",-0.05,,,{false}{eol}'
    '3,,"two\nlines",100,,,{eol}'
    '4," pad",tab\there,,,,{eol}'
    '5,NULL,"cr\r\nlf",,,,{eol}'
    '6,é 中 ü,"trailing ",,,,{eol}'
)


def test_object_names_are_the_legacy_ones_and_match_the_catalog_patterns() -> None:
    names = {s.code: backup_object_name(s, DAY) for s in SYSTEMS}
    assert names == {
        "MOLO": "molo_backup_2025-11-17_06-15-00.zip",
        "STELLAR": "prod_resilient_2025-11-17_05_00-DATA.sql.gz",
        "NS": "netsuite_export_2025-11-17_06-30-00.zip",
    }
    for s in SYSTEMS:
        match = re.fullmatch(s.object_pattern, names[s.code])
        assert match and match.group("date") == "2025-11-17"


def test_molo_csv_quotes_nulls_empty_strings_bom_and_crlf_exactly() -> None:
    t, nothing = things("MOLO"), empty("MOLO")
    snap = Snapshot(DAY, {t.dw_name: ROWS, nothing.dw_name: {}})
    name, data = write_backup(like("MOLO", t, nothing), snap)
    assert name == "molo_backup_2025-11-17_06-15-00.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        infos = archive.infolist()
        assert [i.filename for i in infos] == ["Things.csv", "Nothing.csv"]
        assert all(i.compress_type == zipfile.ZIP_DEFLATED for i in infos)
        assert all(i.date_time == (2025, 11, 17, 6, 15, 0) for i in infos)
        things_csv, nothing_csv = archive.read("Things.csv"), archive.read("Nothing.csv")
    header = "\ufeffId,Name,Note,Amount,Day,At,Flag\r\n"
    assert things_csv == (header + CSV_BODY.format(true="True", false="False", eol="\r\n")).encode()
    assert nothing_csv == "\ufeffId,Label\r\n".encode()


def test_netsuite_csv_uses_lf_t_f_and_no_bom() -> None:
    t = things("NS", id="id", name="name", note="note", amount="amount", day="day", at="at", flag="flag")
    name, data = write_backup(like("NS", t), Snapshot(DAY, {t.dw_name: ROWS}))
    assert name == "netsuite_export_2025-11-17_06-30-00.zip"
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.infolist()[0].date_time == (2025, 11, 17, 6, 30, 0)
        body = archive.read("Things.csv")
    assert (
        body
        == ("id,name,note,amount,day,at,flag\n" + CSV_BODY.format(true="T", false="F", eol="\n")).encode()
    )


def test_tables_missing_from_the_snapshot_are_left_out() -> None:
    t, nothing = things("MOLO"), empty("MOLO")
    _, data = write_backup(like("MOLO", t, nothing), Snapshot(DAY, {t.dw_name: ROWS}))
    assert zipfile.ZipFile(io.BytesIO(data)).namelist() == ["Things.csv"]


def test_generated_csv_reads_back_with_a_standard_reader() -> None:
    snap = next(generate(start=DAY, days=1, scale=0.05))
    for code in ("MOLO", "NS"):
        s = system(code)
        dialect = CSV_DIALECTS[code]
        for t in s.tables:
            text = "".join(csv_lines(t, snap.tables[t.dw_name], dialect))
            records = list(csv.reader(io.StringIO(text, newline="")))
            assert records[0] == [c.source for c in t.columns]
            rows = [snap.tables[t.dw_name][k] for k in sorted(snap.tables[t.dw_name])]
            assert len(records) == len(rows) + 1, t.dw_name
            for record, row in zip(records[1:], rows, strict=True):
                texts = [v if isinstance(v, str) else None for v in row]
                assert [f for f, v in zip(record, texts, strict=True) if v is not None] == [
                    v for v in texts if v is not None
                ]


def test_mysql_strings_are_escaped_like_mysql_real_escape_string() -> None:
    assert mysql_string("a\0b'c\"d\\e\nf\rg\x1ah\ti é中") == "'a\\0b\\'c\\\"d\\\\e\\nf\\rg\\Zh\ti é中'"
    assert mysql_string("") == "''"
    assert mysql_string("NULL") == "'NULL'"


def test_mysqldump_of_a_tiny_table_is_exact_and_gzip_reads_it_back() -> None:
    t = things("STELLAR", id="id", name="name", note="note", amount="amount", day="day", at="at", flag="flag")
    rows = {
        (2,): (2, "", None, Decimal("-1.50"), date(2025, 1, 2), datetime(2025, 1, 2, 3, 4, 5), False),
        (1,): (1, "a\0b'c\"d\\e\nf\rg\x1ah\ti é中", "NULL", Decimal("1E+2"), None, None, True),
    }
    nothing = empty("STELLAR")
    name, data = write_backup(
        like("STELLAR", t, nothing), Snapshot(DAY, {t.dw_name: rows, nothing.dw_name: {}})
    )
    assert name == "prod_resilient_2025-11-17_05_00-DATA.sql.gz"
    assert data[4:8] == b"\0\0\0\0"  # gzip mtime
    text = gzip.decompress(data).decode("utf-8")
    assert text.startswith("-- MySQL dump 10.13  Distrib 8.0.36, for Linux (x86_64)\n--\n-- Host: ")
    assert "    Database: prod_resilient\n" in text
    assert text.endswith("\n-- Dump completed on 2025-11-17 05:00:00\n")
    assert create_table(t) == (
        "CREATE TABLE `things` (\n"
        "  `id` bigint NOT NULL,\n"
        "  `name` varchar(40) DEFAULT NULL,\n"
        "  `note` text,\n"
        "  `amount` decimal(8,2) DEFAULT NULL,\n"
        "  `day` date DEFAULT NULL,\n"
        "  `at` datetime DEFAULT NULL,\n"
        "  `flag` tinyint(1) DEFAULT NULL,\n"
        "  PRIMARY KEY (`id`)\n"
        ") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_0900_ai_ci;\n"
    )
    assert (
        "LOCK TABLES `things` WRITE;\n/*!40000 ALTER TABLE `things` DISABLE KEYS */;\n"
        "INSERT INTO `things` VALUES "
        "(1,'a\\0b\\'c\\\"d\\\\e\\nf\\rg\\Zh\ti é中','NULL',100,NULL,NULL,1),"
        "(2,'',NULL,-1.50,'2025-01-02','2025-01-02 03:04:05',0);\n"
        "/*!40000 ALTER TABLE `things` ENABLE KEYS */;\nUNLOCK TABLES;\n"
    ) in text
    assert "LOCK TABLES `Nothing` WRITE;\n/*!40000 ALTER TABLE `Nothing` DISABLE KEYS */;\n/*!40000" in text
    assert "INSERT INTO `Nothing`" not in text
    assert text.index("`Nothing`") < text.index("`things`")  # mysqldump's alphabetical order
    assert "\n/*!50503 SET NAMES utf8mb4 */;\n" in text
    assert "\n/*!40101 SET SQL_MODE=@OLD_SQL_MODE */;\n" in text


def test_extended_inserts_stay_under_1000_rows_and_about_a_megabyte() -> None:
    t = things("STELLAR")
    many = {(i,): (i, "x", None, None, None, None, None) for i in range(1, 2501)}
    lines = [
        line for line in dump_lines([t], {t.dw_name: many}, datetime(2025, 11, 17, 5)) if "INSERT" in line
    ]
    assert [line.count("),(") + 1 for line in lines] == [1000, 1000, 500]
    big = {(i,): (i, None, "é" * 2000, None, None, None, None) for i in range(1, 1201)}
    lines = [
        line for line in dump_lines([t], {t.dw_name: big}, datetime(2025, 11, 17, 5)) if "INSERT" in line
    ]
    assert sum(line.count("),(") + 1 for line in lines) == 1200
    assert all(len(line.encode()) <= 1_000_000 for line in lines) and len(lines) >= 5


@pytest.fixture(scope="module")
def written(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    out = tmp_path_factory.mktemp("backups") / "nested"
    return out, write_snapshots(generate(start=DAY, days=2, scale=0.05), str(out))


def test_write_snapshots_gives_three_legacy_files_per_day(written: tuple[Path, list[str]]) -> None:
    out, paths = written
    names = [Path(p).name for p in paths]
    assert names == [
        "molo_backup_2025-11-17_06-15-00.zip",
        "prod_resilient_2025-11-17_05_00-DATA.sql.gz",
        "netsuite_export_2025-11-17_06-30-00.zip",
        "molo_backup_2025-11-18_06-15-00.zip",
        "prod_resilient_2025-11-18_05_00-DATA.sql.gz",
        "netsuite_export_2025-11-18_06-30-00.zip",
    ]
    assert sorted(p.name for p in out.iterdir()) == sorted(names)  # no partial files left behind
    molo = zipfile.ZipFile(out / names[0])
    assert molo.namelist() == [f"{t.source}.csv" for t in system("MOLO").tables]
    dump = gzip.decompress((out / names[1]).read_bytes()).decode()
    assert dump.count("CREATE TABLE") == len(system("STELLAR").tables)


def test_written_backups_are_byte_for_byte_reproducible(
    written: tuple[Path, list[str]], tmp_path: Path
) -> None:
    _, first = written
    again = write_snapshots(generate(start=DAY, days=2, scale=0.05), str(tmp_path))
    assert [Path(p).read_bytes() for p in again] == [Path(p).read_bytes() for p in first]
