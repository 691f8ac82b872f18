"""The binary COPY encoder stores exactly what the CSV path stores, value for value."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from marina_assets.warehouse import pg_binary
from marina_assets.warehouse.postgres_backend import PostgresWarehouse

COLUMNS = (
    "I BIGINT, D NUMERIC(12,2), D5 NUMERIC(5,2), D4 NUMERIC(10,4), D0 NUMERIC(9,0), S VARCHAR(50), "
    "T TEXT, DT DATE, TS TIMESTAMP, B BOOLEAN"
)
ROWS = [
    (
        1,
        Decimal("1234.56"),
        Decimal("999.99"),
        Decimal("0.0001"),
        Decimal("-7"),
        "a",
        "",
        date(2025, 11, 2),
        datetime(2025, 11, 2, 6, 15, 0, 123456),
        True,
    ),
    (
        -999999,
        Decimal("-999999.00"),
        Decimal("-0.07"),
        Decimal("-123456.7890"),
        Decimal("0"),
        "@#NULL#@",
        "é ünïcode ✓",
        date(1900, 1, 1),
        datetime(1900, 1, 1),
        False,
    ),
    (None, None, None, None, None, None, None, None, None, None),
    (
        0,
        Decimal("0.00"),
        Decimal("0.10"),
        Decimal("100000.0000"),
        Decimal("123456789"),
        "",
        'x,"y"\n',
        date(1999, 12, 31),
        datetime(1970, 1, 1, 0, 0, 0, 1),
        None,
    ),
    (
        2**62,
        Decimal("9999999999.99"),
        None,
        Decimal("1.5"),
        Decimal("-999999999"),
        " ",
        None,
        date(2000, 1, 1),
        datetime(1999, 12, 31, 23, 59, 59, 999999),
        True,
    ),
]
TYPES = [
    pa.int64(),
    pa.decimal128(12, 2),
    pa.decimal128(5, 2),
    pa.decimal128(10, 4),
    pa.decimal128(9, 0),
    pa.string(),
    pa.string(),
    pa.date32(),
    pa.timestamp("us"),
    pa.bool_(),
]
NAMES = ["I", "D", "D5", "D4", "D0", "S", "T", "DT", "TS", "B"]


@pytest.fixture()
def pg(pg_dsn: str) -> PostgresWarehouse:
    wh = PostgresWarehouse(pg_dsn)
    for name in ("VIA_BINARY", "VIA_CSV"):
        wh.execute(f"DROP TABLE IF EXISTS {name}")
        wh.execute(f"CREATE TABLE {name} ({COLUMNS}, SRC VARCHAR(10))")
    yield wh
    wh.close()


def _batch() -> pa.RecordBatch:
    cols = [pa.array([r[i] for r in ROWS], t) for i, t in enumerate(TYPES)]
    return pa.RecordBatch.from_arrays(cols, names=NAMES)


def test_binary_and_csv_copies_store_identical_values(pg: PostgresWarehouse, monkeypatch) -> None:
    with pg.transaction():
        assert pg.insert_arrow("VIA_BINARY", _batch(), {"SRC": "b"}) == len(ROWS)
        assert pg.insert_arrow("VIA_BINARY", _batch().slice(1, 3), {"SRC": "b"}) == 3  # same open COPY
    monkeypatch.setattr(pg_binary, "encode_rows", lambda *a: None)  # force the CSV path
    with pg.transaction():
        pg.insert_arrow("VIA_CSV", _batch(), {"SRC": "b"})
        pg.insert_arrow("VIA_CSV", _batch().slice(1, 3), {"SRC": "b"})
    cols = ", ".join([*NAMES, "SRC"])
    binary = pg.fetchall(f"SELECT {cols} FROM VIA_BINARY ORDER BY I NULLS FIRST, S NULLS FIRST")
    csv = pg.fetchall(f"SELECT {cols} FROM VIA_CSV ORDER BY I NULLS FIRST, S NULLS FIRST")
    assert binary == csv and len(binary) == 8
    # NULL, '' and the legacy sentinels stay apart
    assert pg.fetchall("SELECT COUNT(*) FROM VIA_BINARY WHERE S = ''") == [(2,)]
    assert pg.fetchall("SELECT COUNT(*) FROM VIA_BINARY WHERE S IS NULL") == [(2,)]
    assert pg.fetchall("SELECT COUNT(*) FROM VIA_BINARY WHERE T = '' AND T IS NOT NULL") == [(1,)]
    # numerics are stored normalised, exactly as text input stores them
    same_text = (
        "SELECT COUNT(*) FROM VIA_BINARY b JOIN VIA_CSV c ON b.I IS NOT DISTINCT FROM c.I "
        "AND b.S IS NOT DISTINCT FROM c.S WHERE b.D::text IS DISTINCT FROM c.D::text "
        "OR b.D4::text IS DISTINCT FROM c.D4::text OR b.D0::text IS DISTINCT FROM c.D0::text"
    )
    assert pg.fetchall(same_text) == [(0,)]


def test_a_failed_transaction_leaves_no_copied_rows(pg: PostgresWarehouse) -> None:
    with pytest.raises(RuntimeError), pg.transaction():
        pg.insert_arrow("VIA_BINARY", _batch(), {"SRC": "b"})
        raise RuntimeError("parser died")
    assert pg.fetchall("SELECT COUNT(*) FROM VIA_BINARY") == [(0,)]


def test_a_value_the_server_refuses_fails_the_transaction(pg: PostgresWarehouse) -> None:
    too_long = pa.RecordBatch.from_arrays([pa.array(["x" * 51])], names=["S"])
    with pytest.raises(Exception, match="too long"), pg.transaction():
        pg.insert_arrow("VIA_BINARY", too_long, {"SRC": "b"})
    assert pg.fetchall("SELECT COUNT(*) FROM VIA_BINARY") == [(0,)]


def test_types_outside_the_encoder_fall_back() -> None:
    col = pg_binary.PgColumn("numeric", 38, 2)
    assert not pg_binary.encodable(pa.array([Decimal("1.00")], pa.decimal128(30, 2)), col)
    assert not pg_binary.encodable(
        pa.array([Decimal("1.000")], pa.decimal128(12, 3)), pg_binary.PgColumn("numeric", 12, 2)
    )
    assert not pg_binary.encodable(pa.array([1], pa.int64()), pg_binary.PgColumn("integer"))
