"""The catalog is the single source of truth: these tests pin what it must contain and allow."""

from __future__ import annotations

import duckdb
import pytest

from marina_assets.catalog import SYSTEMS, CatalogError, all_tables, system, validate
from marina_assets.catalog.identifiers import DUCKDB_RESERVED, identifier_problem
from marina_assets.catalog.model import SourceSystem, col, table, warehouse_name

MOLO_REQUIRED = [
    "MarinaLocations",
    "Piers",
    "SlipTypes",
    "Slips",
    "Reservations",
    "Companies",
    "Contacts",
    "Boats",
    "Accounts",
    "InvoiceSet",
    "InvoiceItemSet",
    "Transactions",
    "ItemMasters",
    "SeasonalPrices",
    "TransientPrices",
    "BoatTypes",
    "PowerNeeds",
    "ReservationStatus",
    "ContactTypes",
    "InvoiceStatusSet",
    "InvoiceTypeSet",
    "TransactionTypeSet",
]

STELLAR_TABLES = [
    "customers",
    "locations",
    "seasons",
    "accessories",
    "amenities",
    "categories",
    "club_tiers",
    "coupons",
    "holidays",
    "bookings",
    "booking_boats",
    "booking_payments",
    "booking_accessories",
    "styles",
    "style_boats",
    "style_groups",
    "style_times",
    "style_prices",
    "style_hourly_prices",
    "style_photos",
    "customer_boats",
    "waitlists",
    "season_dates",
    "accessory_tiers",
    "accessory_options",
    "pos_items",
    "pos_sales",
    "fuel_sales",
    "closed_dates",
    "blacklists",
]

NS_TRANSACTION_TYPES = {
    "CashSale",
    "Check",
    "CustInvc",
    "CustPymt",
    "Journal",
    "Deposit",
    "CardChrg",
    "VendBill",
    "VendPymt",
    "VendCred",
    "CustCred",
    "CustRfnd",
    "CardRfnd",
}


def test_molo_has_the_legacy_tables() -> None:
    molo = system("MOLO")
    assert len(molo.tables) >= 48
    assert set(MOLO_REQUIRED) <= {t.source for t in molo.tables}


def test_stellar_has_exactly_the_30_dump_tables() -> None:
    stellar = system("STELLAR")
    assert sorted(t.source for t in stellar.tables) == sorted(STELLAR_TABLES)
    assert stellar.table("booking_accessories").primary_key == ("BOOKING_ID", "ACCESSORY_ID")


def test_netsuite_covers_the_gl_and_every_transaction_type() -> None:
    ns = system("NS")
    stems = {t.stem for t in ns.tables}
    assert {
        "TRANSACTIONS",
        "TRANSACTION_LINES",
        "TRANSACTION_ACCT_LINES",
        "ACCOUNTS",
        "ENTITIES",
        "ACCOUNTING_PERIODS",
        "SUBSIDIARIES",
    } <= stems
    tran_type = next(c for c in ns.table("Transaction").columns if c.source == "type")
    assert set(tran_type.choices or ()) == NS_TRANSACTION_TYPES


def test_every_warehouse_name_is_portable() -> None:
    for t in all_tables():
        for name in (t.stg_name, t.dw_name, *t.column_names):
            assert identifier_problem(name) is None, f"{t.source}: {name}: {identifier_problem(name)}"
            assert len(name) <= 30


def test_lookup_tables_are_flagged_and_keys_declared() -> None:
    for s in SYSTEMS:
        assert any(t.lookup for t in s.tables), s.code
        for t in s.tables:
            assert t.primary_key and all(not c.nullable for c in t.key_columns)


def test_duckdb_reserved_list_matches_installed_duckdb() -> None:
    live = {
        r[0].upper()
        for r in duckdb.sql(
            "SELECT keyword_name FROM duckdb_keywords() WHERE keyword_category = 'reserved'"
        ).fetchall()
    }
    assert live - DUCKDB_RESERVED == set(), "DuckDB reserves words our list lacks"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("BoatTypeId", "BOAT_TYPE_ID"),
        ("boat_type_id", "BOAT_TYPE_ID"),
        ("GLAccounts", "GL_ACCOUNTS"),
        ("Is1099", "IS1099"),
        ("acctnumber", "ACCTNUMBER"),
    ],
)
def test_warehouse_name_derivation(source: str, expected: str) -> None:
    assert warehouse_name(source) == expected


def test_validation_lists_every_problem() -> None:
    bad = SourceSystem(
        code="MOLO",
        label="x",
        backup_format="csv_zip",
        object_pattern="x",
        object_name_format="x",
        tables=(
            table(
                "MOLO",
                "Things",
                [
                    col("Id", "int"),
                    col("Size", "int"),
                    col("Comment", "text"),
                    col("IsDeleted", "bool"),
                    col("ParentId", "int", ref="Nowhere"),
                ],
                pk="Id",
            ),
            table("MOLO", "AVeryLongTableNameThatIsWayTooLong", [col("Id", "int")], pk="Id"),
        ),
    )
    with pytest.raises(CatalogError) as e:
        validate([bad])
    msg = str(e.value)
    assert "SIZE is a reserved word in Oracle" in msg
    assert "COMMENT is a reserved word in Oracle" in msg
    assert "IS_DELETED collides with a pipeline audit column" in msg
    assert "references unknown table Nowhere" in msg
    assert "the limit is 30" in msg


def test_single_integer_key_is_one_integer_column_only() -> None:
    one = table("MOLO", "A", [col("Id", "int"), col("Name", "str(9)")], pk="Id")
    text = table("MOLO", "B", [col("Code", "str(9)"), col("Name", "str(9)")], pk="Code")
    two = table("MOLO", "C", [col("Id", "int"), col("Line", "int")], pk=("Id", "Line"))
    assert (one.single_integer_key, text.single_integer_key, two.single_integer_key) == (True, False, False)
    # the catalog's own: NetSuite has exactly one table whose key is not one integer column
    assert sum(not t.single_integer_key for t in system("NS").tables) == 1
