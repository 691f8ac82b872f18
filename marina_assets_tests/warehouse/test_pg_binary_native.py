"""The C encoder (`_pgcopy`) judged against pg_binary's numpy code: the same payload, byte for byte,
for every batch `encodable` accepts; and PostgreSQL reads it back to the batch's values."""

from __future__ import annotations

import os
import shutil
from datetime import date, datetime
from decimal import Decimal
from unittest.mock import patch

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from marina_assets.warehouse import pg_binary
from marina_assets.warehouse.pg_binary import PgColumn

native_only = pytest.mark.skipif(pg_binary._pgcopy is None, reason="the _pgcopy extension is not built")

INT_RANGES = {
    pa.int8(): (-(2**7), 2**7 - 1),
    pa.int16(): (-(2**15), 2**15 - 1),
    pa.int32(): (-(2**31), 2**31 - 1),
    pa.int64(): (-(2**63), 2**63 - 1),
    pa.uint8(): (0, 2**8 - 1),
    pa.uint16(): (0, 2**16 - 1),
    pa.uint32(): (0, 2**32 - 1),
}
TEXT_KINDS = ("character varying", "text")


def encode(
    mode: str, arrays: list[pa.Array], columns: list[PgColumn], tail: bytes, tail_fields: int
) -> bytes:
    with patch.dict(os.environ, {"MARINA_PG_NATIVE": mode}):
        payload = pg_binary.encode_rows(arrays, columns, tail, tail_fields)
    assert payload is not None
    return bytes(payload)


def same_payload(
    arrays: list[pa.Array], columns: list[PgColumn], tail: bytes = b"", tail_fields: int = 0
) -> None:
    """The numpy payload, and the C one: which must really come from C, and be identical."""
    assert all(pg_binary.encodable(a, c) for a, c in zip(arrays, columns, strict=True))
    assert pg_binary._encode_native(arrays, columns, tail, tail_fields) is not None
    assert encode("1", arrays, columns, tail, tail_fields) == encode("0", arrays, columns, tail, tail_fields)


@st.composite
def columns(draw: st.DrawFn, n: int) -> tuple[pa.Array, PgColumn]:
    """One array of n values (some NULL) of a type `encodable` accepts, and a target column for it."""
    nulls = st.none()
    which = draw(st.sampled_from(["null", "int", "decimal", "string", "date", "timestamp", "bool"]))
    if which == "null":
        kind = draw(st.sampled_from(["bigint", "numeric", "text", "date", "boolean", "integer"]))
        return pa.nulls(n), PgColumn(kind, 18, 2)
    if which == "int":
        t = draw(st.sampled_from(list(INT_RANGES)))
        lo, hi = INT_RANGES[t]
        values = st.integers(lo, hi) | st.sampled_from([lo, hi, 0, -1 if lo else 1])
        return pa.array(draw(st.lists(values | nulls, min_size=n, max_size=n)), t), PgColumn("bigint")
    if which == "decimal":
        precision = draw(st.integers(1, 18))
        scale = draw(st.integers(0, min(precision, 15)))
        top = 10**precision - 1
        unscaled = st.integers(-top, top) | st.sampled_from([top, -top, 0, 1, -1])
        values = draw(
            st.lists(unscaled.map(lambda u: Decimal(u).scaleb(-scale)) | nulls, min_size=n, max_size=n)
        )
        col = PgColumn("numeric", draw(st.integers(precision, 38)), scale)
        return pa.array(values, pa.decimal128(precision, scale)), col
    if which == "string":
        t = draw(st.sampled_from([pa.string(), pa.large_string()]))
        text = st.text(max_size=12) | st.sampled_from(["", " ", "é ünïcode ✓", "\x00", "😀" * 5])
        values = draw(st.lists(text | nulls, min_size=n, max_size=n))
        return pa.array(values, t), PgColumn(draw(st.sampled_from(TEXT_KINDS)))
    if which == "date":
        # the whole int32 range: days far before 2000 and after 2100, and the wrap at its ends
        days = st.integers(-(2**31), 2**31 - 1) | st.sampled_from([0, 10_957, -(2**31), 2**31 - 1, 47_482])
        return pa.array(draw(st.lists(days | nulls, min_size=n, max_size=n)), pa.date32()), PgColumn("date")
    if which == "timestamp":
        us = st.integers(-(2**63), 2**63 - 1) | st.sampled_from([0, -1, -(2**63), 2**63 - 1, -86_400_000_000])
        values = draw(st.lists(us | nulls, min_size=n, max_size=n))
        return pa.array(values, pa.timestamp("us")), PgColumn("timestamp without time zone")
    values = draw(st.lists(st.booleans() | nulls, min_size=n, max_size=n))
    return pa.array(values, pa.bool_()), PgColumn("boolean")


@st.composite
def batches(draw: st.DrawFn) -> tuple[list[pa.Array], list[PgColumn], bytes, int]:
    """A batch, often sliced (any offset: bitmaps then start mid-byte), and a tail of constants."""
    total = draw(st.integers(0, 40))
    start = draw(st.integers(0, total))
    length = draw(st.integers(0, total - start))
    pairs = draw(st.lists(columns(total), min_size=1, max_size=8))
    arrays = [
        a.slice(start, length)
        if draw(st.booleans())
        else a.slice(start, length).take(pa.array(range(length), pa.int64()))
        for a, _ in pairs
    ]
    consts = draw(st.lists(columns(1), max_size=4))
    tail = pg_binary.encode_constants([a for a, _ in consts], [c for _, c in consts])
    assert tail is not None
    return arrays, [c for _, c in pairs], tail, len(consts)


@native_only
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_the_c_payload_is_the_numpy_payload(batch: tuple[list[pa.Array], list[PgColumn], bytes, int]) -> None:
    same_payload(*batch)


@native_only
def test_offsets_that_split_a_bitmap_byte() -> None:
    ints = pa.array([None if i % 3 == 0 else i - 10 for i in range(37)], pa.int32())
    bools = pa.array([None if i % 5 == 0 else i % 2 == 0 for i in range(37)])
    text = pa.array([None if i % 4 == 0 else "x" * (i % 3) for i in range(37)])
    cols = [PgColumn("bigint"), PgColumn("boolean"), PgColumn("text")]
    for start in range(0, 17):
        for length in (0, 1, 7, 8, 9, 37 - start - 3):
            same_payload([a.slice(start, length) for a in (ints, bools, text)], cols)


@native_only
def test_extreme_values_and_zero_rows() -> None:
    arrays = [
        pa.array([-(2**63), 2**63 - 1, None], pa.int64()),
        pa.array([Decimal("-999999999999999999"), Decimal("999999999999999999"), None], pa.decimal128(18, 0)),
        pa.array(
            [Decimal("-999.999999999999999"), Decimal("0.000000000000001"), None], pa.decimal128(18, 15)
        ),
        pa.array([date(1, 1, 1), date(9999, 12, 31), date(1899, 12, 31)]),
        pa.array([datetime(1, 1, 1), datetime(1969, 12, 31, 23, 59, 59, 999999), datetime(2150, 1, 1)]),
        pa.array(["", None, "é ünïcode ✓"], pa.large_string()),
    ]
    cols = [
        PgColumn("bigint"),
        PgColumn("numeric", 18, 0),
        PgColumn("numeric", 18, 15),
        PgColumn("date"),
        PgColumn("timestamp without time zone"),
        PgColumn("text"),
    ]
    same_payload(arrays, cols)
    same_payload([a.slice(3) for a in arrays], cols, b"\x00\x00\x00\x01x", 1)
    assert encode("1", [a.slice(3) for a in arrays], cols, b"", 0) == b""


@native_only
def test_values_arrow_keeps_under_a_null_are_not_read() -> None:
    # a NULL slot may hold any bytes in Arrow: here a string and a decimal behind cleared bits
    strings = pa.array(["abc", "defg", "h"])
    hidden = pa.StringArray.from_buffers(
        3, strings.buffers()[1], strings.buffers()[2], pa.py_buffer(b"\x05"), 1
    )
    decimals = pa.array([Decimal("1.5"), Decimal("-2.5"), Decimal("3.5")], pa.decimal128(5, 1))
    hidden_dec = pa.Array.from_buffers(decimals.type, 3, [pa.py_buffer(b"\x02"), decimals.buffers()[1]], 2)
    same_payload([hidden, hidden_dec], [PgColumn("text"), PgColumn("numeric", 5, 1)])


@native_only
@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.tuples(st.integers(-(2**63), 2**63 - 1), st.integers(-(2**63), 2**63 - 1)), max_size=20),
    st.integers(1, 18).flatmap(lambda p: st.tuples(st.just(p), st.integers(0, min(p, 15)))),
)
def test_decimals_outside_their_precision_encode_as_numpy_does(words: list[tuple[int, int]], shape) -> None:
    # Arrow does not check a decimal's digits against its precision: both encoders read the low
    # 64 bits and keep each digit group modulo 10000, so even such values come out the same
    raw = b"".join(
        lo.to_bytes(8, "little", signed=True) + hi.to_bytes(8, "little", signed=True) for lo, hi in words
    )
    arr = pa.Array.from_buffers(pa.decimal128(*shape), len(words), [None, pa.py_buffer(raw)])
    same_payload([arr], [PgColumn("numeric", 18, shape[1])])


def test_shapes_the_c_code_leaves_to_numpy() -> None:
    # a scale above the precision is encodable; the C encoder declines it and numpy encodes it
    raw = pa.py_buffer((12).to_bytes(16, "little") * 2)  # 0.00012; pa.array refuses this type
    arr = pa.Array.from_buffers(pa.decimal128(2, 5), 2, [pa.py_buffer(b"\x01"), raw], 1)
    col = PgColumn("numeric", 5, 5)
    assert pg_binary.encodable(arr, col)
    if pg_binary._pgcopy is not None:
        assert pg_binary._encode_native([arr], [col], b"", 0) is None
        # a pair the C code has no layout for (should `encodable` ever accept one) is declined too
        assert pg_binary._encode_native([pa.array([1])], [PgColumn("integer")], b"", 0) is None
        assert pg_binary._encode_native([pa.array([1], pa.uint64())], [PgColumn("bigint")], b"", 0) is None
    assert encode("1", [arr], [col], b"", 0) == encode("0", [arr], [col], b"", 0)


@native_only
def test_marina_pg_native_0_switches_the_extension_off(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object) -> bytes:
        raise AssertionError("the C encoder ran")

    monkeypatch.setattr(pg_binary._pgcopy, "encode_rows", refuse)
    assert encode("0", [pa.array([1, None])], [PgColumn("bigint")], b"", 0)
    with pytest.raises(AssertionError, match="the C encoder ran"):
        encode("1", [pa.array([1, None])], [PgColumn("bigint")], b"", 0)


def test_the_extension_is_built_where_a_compiler_exists() -> None:
    # without it batches still load (through the numpy encoder), only slower: CI must notice
    if not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler on this machine")
    assert pg_binary._pgcopy is not None


ROUND_TRIP = {
    "I8": (pa.int8(), [-128, 127, None, 0]),
    "U32": (pa.uint32(), [0, 2**32 - 1, 7, None]),
    "I64": (pa.int64(), [-(2**63), 2**63 - 1, None, 42]),
    "D": (pa.decimal128(18, 4), [Decimal("-99999999999999.9999"), Decimal("0.0001"), Decimal("0"), None]),
    "D0": (pa.decimal128(9, 0), [Decimal("-7"), None, Decimal("123456789"), Decimal("10000")]),
    "S": (pa.string(), ["", None, "é ünïcode ✓", 'x,"y"\n']),
    "T": (pa.large_string(), [None, "", "😀", "@#NULL#@"]),
    "DT": (pa.date32(), [date(1899, 12, 31), date(2150, 6, 1), None, date(2000, 1, 1)]),
    "TS": (
        pa.timestamp("us"),
        [datetime(1969, 7, 20, 20, 17, 40, 1), None, datetime(2100, 1, 1), datetime(2000, 1, 1)],
    ),
    "B": (pa.bool_(), [True, False, None, True]),
    "N": (pa.null(), [None, None, None, None]),
}
ROUND_TRIP_DDL = (
    "I8 BIGINT, U32 BIGINT, I64 BIGINT, D NUMERIC(18,4), D0 NUMERIC(9,0), S VARCHAR(20), T TEXT, DT DATE, "
    "TS TIMESTAMP, B BOOLEAN, N INTEGER, SRC VARCHAR(10)"
)


@native_only
def test_postgresql_reads_the_c_payload_back(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from marina_assets.warehouse.postgres_backend import PostgresWarehouse

    names = list(ROUND_TRIP)
    batch = pa.RecordBatch.from_arrays([pa.array(v, t) for t, v in ROUND_TRIP.values()], names=names)
    calls = []
    real = pg_binary._pgcopy.encode_rows
    monkeypatch.setattr(pg_binary._pgcopy, "encode_rows", lambda *a: calls.append(1) or real(*a))
    monkeypatch.setenv("MARINA_PG_NATIVE", "1")
    wh = PostgresWarehouse(pg_dsn)
    try:
        wh.execute(f"CREATE TABLE VIA_C ({ROUND_TRIP_DDL})")
        with wh.transaction():
            assert wh.insert_arrow("VIA_C", batch, {"SRC": "c"}) == 4
            assert wh.insert_arrow("VIA_C", batch.slice(1, 3), {"SRC": "sliced"}) == 3  # offset 1
        assert len(calls) == 2
        got = wh.fetchall(f"SELECT {', '.join(names)}, SRC FROM VIA_C")
    finally:
        wh.close()
    want = [(*row.values(), "c") for row in batch.to_pylist()]
    want += [(*row.values(), "sliced") for row in batch.slice(1, 3).to_pylist()]
    # I64 tells a source's rows apart; numerics compare by value (0 == 0.0000)
    key = lambda row: (row[-1], repr(row[2]))  # noqa: E731
    assert sorted(got, key=key) == sorted(want, key=key)
