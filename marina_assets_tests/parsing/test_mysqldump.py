"""mysqldump parsing on hand-written dumps in the exact shapes mysqldump writes."""

from __future__ import annotations

import gzip
import io
from datetime import date

import pytest

from marina_assets.catalog.model import col, table
from marina_assets.parsing.events import BackupError
from marina_assets.parsing.mysqldump import parse_mysqldump
from marina_assets_tests.parsing.helpers import collect

# every test on both fast paths: the C scanner's VALUES rewrite and the numpy proof (conftest.py)
pytestmark = pytest.mark.usefixtures("csv_reader")

T = table(
    "STELLAR",
    "customers",
    [
        col("id", "int"),
        col("name", "str(40)"),
        col("balance", "dec(10,2)"),
        col("born", "date"),
        col("vip", "bool"),
    ],
    pk="id",
)
OTHER = table("STELLAR", "locations", [col("id", "int"), col("name", "str(20)")], pk="id")

# mysqldump writes one long line per INSERT
DUMP = rb"""/*M!999999\- enable the sandbox mode */
-- MariaDB dump 10.19  Distrib 10.11.6-MariaDB, for debian-linux-gnu (x86_64)
/*!40101 SET @OLD_CHARACTER_SET_CLIENT=@@CHARACTER_SET_CLIENT */;
DROP TABLE IF EXISTS `customers`;
CREATE TABLE `customers` (
  `id` int(11) NOT NULL,
  `name` varchar(40) DEFAULT NULL,
  `balance` decimal(10,2) DEFAULT NULL,
  `born` date DEFAULT NULL,
  `vip` tinyint(1) NOT NULL DEFAULT 0,
  PRIMARY KEY (`id`),
  KEY `idx_name` (`name`)
) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4;
LOCK TABLES `customers` WRITE;
/*!40000 ALTER TABLE `customers` DISABLE KEYS */;
INSERT INTO `customers` VALUES (1,'O\'Brien; \"Pat\"',10.50,'1980-01-02',1),(2,'NULL',NULL,'0000-00-00',0),(3,NULL,-3,NULL,0),(4,'a),(b\\c\nd\0e\Zf\tg',0.00,'2001-02-03',1);
INSERT INTO `customers` VALUES (5,'',1e2,'2001-02-03',0);
/*!40000 ALTER TABLE `customers` ENABLE KEYS */;
UNLOCK TABLES;
DROP TABLE IF EXISTS `locations`;
CREATE TABLE `locations` (`id` int NOT NULL, `name` varchar(20), PRIMARY KEY (`id`));
-- Dump completed on 2025-11-17  5:00:01
"""  # noqa: E501


def _parse(data: bytes, tables=(T, OTHER), name: str = "prod_resilient_2025-11-17_05_00-DATA.sql.gz"):
    return collect(parse_mysqldump(io.BytesIO(gzip.compress(data)), name, list(tables)))


def test_values_escapes_and_null_versus_string_null() -> None:
    got = _parse(DUMP)
    rows = {r["ID"]: r for r in got.rows["customers"]}
    assert rows[1]["NAME"] == 'O\'Brien; "Pat"' and str(rows[1]["BALANCE"]) == "10.50"
    assert rows[2]["NAME"] == "NULL" and rows[2]["BORN"] is None  # zero date -> NULL
    assert rows[3]["NAME"] is None
    assert rows[4]["NAME"] == "a),(b\\c\nd\0e\x1af\tg"
    assert rows[5]["NAME"] == "" and str(rows[5]["BALANCE"]) == "100.00"
    assert rows[1]["BORN"] == date(1980, 1, 2) and rows[1]["VIP"] is True
    assert [r["SOURCE_LINE"] for r in got.rows["customers"]] == [16, 16, 16, 16, 17]
    assert got.reports["locations"].rows_read == 0 and "locations" not in got.failures


def test_complete_insert_column_list_maps_by_name() -> None:
    dump = (
        b"CREATE TABLE `locations` (`id` int, `name` varchar(20));\n"
        b"INSERT INTO `locations` (`name`, `id`) VALUES ('Dock A',1),('Dock B',2);\n"
    )
    got = _parse(dump, tables=(OTHER,))
    assert [(r["ID"], r["NAME"]) for r in got.rows["locations"]] == [(1, "Dock A"), (2, "Dock B")]


def test_no_create_info_uses_catalog_order() -> None:
    got = _parse(b"INSERT INTO `locations` VALUES (1,'x');\n", tables=(OTHER,))
    assert got.rows["locations"][0]["NAME"] == "x"


def test_table_absent_from_dump_fails_that_table() -> None:
    got = _parse(b"INSERT INTO `locations` VALUES (1,'x');\n")
    assert "table customers is not in the dump" in got.failures["customers"]


def test_wrong_arity_tuple_is_quarantined_with_its_line() -> None:
    got = _parse(b"INSERT INTO `locations` VALUES (1,'x'),(2),(3,'z');\n", tables=(OTHER,))
    assert [r["ID"] for r in got.rows["locations"]] == [1, 3]
    (rej,) = got.rejects["locations"]
    assert (rej.line, rej.raw) == (1, "(2)")


def test_truncated_gzip_is_an_error_for_the_backup() -> None:
    data = gzip.compress(DUMP * 50)
    with pytest.raises(BackupError, match="corrupt or truncated"):
        collect(parse_mysqldump(io.BytesIO(data[: len(data) // 2]), "x.sql.gz", [T, OTHER]))


def test_statement_cut_off_is_an_error_for_the_backup() -> None:
    cut = DUMP[: DUMP.index(b"(5,'',")]
    with pytest.raises(BackupError, match="middle of a statement"):
        _parse(cut)
