"""Arrow columns -> PostgreSQL's binary COPY format, vectorised (numpy + Arrow kernels).

PostgreSQL parses binary COPY about twice as fast as CSV (no text scanning, no number parsing).
Each field is encoded for the *target column's* type (a 4-byte big-endian length, -1 for NULL,
then the value in the type's binary wire format); a row is the 2-byte field count followed by
its fields, and Arrow's `binary_join_element_wise` concatenates a row's fields in C++.

Only the conversions listed in `encodable` are done here, each exact (NULL stays NULL, '' stays
''); anything else returns None and the caller sends that batch as CSV instead.

When the C extension `_pgcopy` is built (setup.py, optional), `encode_rows` writes the same
bytes with it in one pass over the Arrow buffers, about ten times cheaper; this numpy code stays
the reference and the fallback. `MARINA_PG_NATIVE=0` switches the extension off.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

HEADER = b"PGCOPY\n\xff\r\n\x00" + b"\x00\x00\x00\x00" + b"\x00\x00\x00\x00"
TRAILER = b"\xff\xff"
_PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86_400 * 1_000_000
_SEP = pa.scalar(b"", pa.large_binary())
_NULL = np.frombuffer(b"\xff\xff\xff\xff", np.uint8)

try:
    from marina_assets.warehouse import _pgcopy  # type: ignore[attr-defined]
except ImportError:  # built without a C compiler: the numpy encoder below does all batches
    _pgcopy = None

# column kinds of _pgcopy.c, and (width, signed) of the integers a bigint takes
_K_NULL, _K_INT, _K_NUMERIC, _K_STRING, _K_DATE, _K_TIMESTAMP, _K_BOOL = range(7)
_INTS = {
    pa.int8(): (1, 1),
    pa.int16(): (2, 1),
    pa.int32(): (4, 1),
    pa.int64(): (8, 1),
    pa.uint8(): (1, 0),
    pa.uint16(): (2, 0),
    pa.uint32(): (4, 0),
}


@dataclass(frozen=True)
class PgColumn:
    """The target column: information_schema's data_type, numeric precision and scale."""

    data_type: str
    precision: int | None = None
    scale: int | None = None


def _binary(n: int, offsets: np.ndarray, data: np.ndarray | bytes) -> pa.Array:
    buffers = [None, pa.py_buffer(offsets.astype(np.int64)), pa.py_buffer(data)]
    return pa.LargeBinaryArray.from_buffers(pa.large_binary(), n, buffers)


def _fields(body: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """Fixed-width values (n, w) uint8 big-endian -> binary fields with length headers."""
    n, w = body.shape
    out = np.empty((n, 4 + w), np.uint8)
    out[:, :4] = np.frombuffer(np.int32(w).byteswap().tobytes(), np.uint8)
    out[:, 4:] = body
    if valid is None or valid.all():
        return _binary(n, np.arange(0, (n + 1) * (4 + w), 4 + w), out)
    out[~valid, :4] = _NULL
    keep = np.ones((n, 4 + w), bool)
    keep[~valid, 4:] = False
    sizes = np.where(valid, 4 + w, 4)
    return _binary(n, np.concatenate([[0], np.cumsum(sizes)]), out[keep])


def _big_endian(values: np.ndarray, dtype: str) -> np.ndarray:
    return values.astype(dtype).reshape(-1, 1).view(np.uint8)


def _valid(arr: pa.Array) -> np.ndarray | None:
    if arr.null_count == 0:
        return None
    return np.asarray(arr.is_valid().to_numpy(zero_copy_only=False), bool)


def _numeric(arr: pa.Array, precision: int, scale: int) -> pa.Array:
    """decimal128 (precision <= 18) -> NUMERIC: fixed digit groups; PostgreSQL strips the zeros."""
    raw = np.frombuffer(arr.buffers()[1], np.int64, count=2 * (arr.offset + len(arr)))
    unscaled = raw[2 * arr.offset :: 2][: len(arr)]  # low 64 bits: the whole value at p <= 18
    negative = unscaled < 0
    magnitude = np.abs(unscaled).astype(np.uint64)
    int_part, frac_part = np.divmod(magnitude, np.uint64(10**scale))
    frac_groups = -(-scale // 4)
    int_groups = -(-(precision - scale) // 4)
    frac_part = frac_part * np.uint64(10 ** (4 * frac_groups - scale))
    groups = []
    for i in range(int_groups):  # most significant first
        groups.append((int_part // np.uint64(10_000 ** (int_groups - 1 - i))) % np.uint64(10_000))
    for i in range(frac_groups):
        groups.append((frac_part // np.uint64(10_000 ** (frac_groups - 1 - i))) % np.uint64(10_000))
    ndigits = int_groups + frac_groups
    head = np.empty((len(arr), 4), ">i2")
    head[:, 0] = ndigits
    head[:, 1] = int_groups - 1  # weight of the first group
    head[:, 2] = np.where(negative, 0x4000, 0)
    head[:, 3] = scale
    digits = np.stack(groups, axis=1).astype(">i2") if groups else np.empty((len(arr), 0), ">i2")
    body = np.ascontiguousarray(np.concatenate([head, digits], axis=1), ">i2").view(np.uint8)
    return _fields(body, _valid(arr))


def _text(arr: pa.Array) -> pa.Array:
    values = pc.fill_null(arr.cast(pa.large_string()), "").cast(pa.large_binary())
    lengths = pc.binary_length(values).to_numpy(zero_copy_only=False).astype(">i4")
    valid = _valid(arr)
    if valid is not None:
        lengths[~valid] = -1
    heads = _binary(len(arr), np.arange(0, 4 * len(arr) + 1, 4), lengths.tobytes())
    return pc.binary_join_element_wise(heads, values, _SEP)


def encodable(arr: pa.Array, col: PgColumn) -> bool:
    t, kind = arr.type, col.data_type
    if pa.types.is_null(t):
        return True
    if kind == "bigint":
        return pa.types.is_integer(t) and not (pa.types.is_uint64(t))
    if kind == "numeric":
        return (
            pa.types.is_decimal128(t)
            and col.scale == t.scale
            and col.precision is not None
            and t.precision <= min(col.precision, 18)
            and t.scale <= 15
        )
    if kind in ("character varying", "text"):
        return pa.types.is_string(t) or pa.types.is_large_string(t)
    if kind == "date":
        return pa.types.is_date32(t)
    if kind == "timestamp without time zone":
        return pa.types.is_timestamp(t) and t.tz is None and t.unit == "us"
    if kind == "boolean":
        return pa.types.is_boolean(t)
    return False


def encode_field(arr: pa.Array, col: PgColumn) -> pa.Array:
    n, t = len(arr), arr.type
    if pa.types.is_null(t):
        return _fields(np.empty((n, 0), np.uint8), np.zeros(n, bool))
    if col.data_type == "numeric":
        return _numeric(arr, t.precision, t.scale)
    if col.data_type in ("character varying", "text"):
        return _text(arr)
    valid = _valid(arr)
    if col.data_type == "bigint":
        values = pc.fill_null(arr.cast(pa.int64()), 0).to_numpy()
        return _fields(_big_endian(values, ">i8"), valid)
    if col.data_type == "date":
        values = pc.fill_null(arr, 0).cast(pa.int32()).to_numpy() - _PG_EPOCH_DAYS
        return _fields(_big_endian(values, ">i4"), valid)
    if col.data_type == "boolean":
        values = pc.fill_null(arr, False).to_numpy(zero_copy_only=False)
        return _fields(values.astype(np.uint8).reshape(-1, 1), valid)
    values = pc.fill_null(arr, 0).cast(pa.int64()).to_numpy() - _PG_EPOCH_US  # timestamp[us]
    return _fields(_big_endian(values, ">i8"), valid)


def native_available() -> bool:
    return _pgcopy is not None and os.environ.get("MARINA_PG_NATIVE", "1") != "0"


def _native_spec(arr: pa.Array, col: PgColumn) -> tuple:
    """`arr` as _pgcopy.c reads it: kind, offset, validity, values, data and two parameters.

    The branches mirror `encode_field`'s (null type first, then the target column's kind), and
    each checks the Arrow layout it assumes: a pair `encodable` may accept one day without this
    code knowing it gets kind -1, which the C code declines (`_pgcopy.Unsupported`).
    """
    t, kind = arr.type, col.data_type
    if pa.types.is_null(t):
        return (_K_NULL, 0, None, None, None, 0, 0)
    buffers = arr.buffers()
    # like `_valid`: no NULLs counted means every value is taken, whatever the bitmap says
    valid = buffers[0] if arr.null_count else None
    if kind == "numeric" and pa.types.is_decimal128(t):
        return (_K_NUMERIC, arr.offset, valid, buffers[1], None, t.precision, t.scale)
    if kind in ("character varying", "text") and (pa.types.is_string(t) or pa.types.is_large_string(t)):
        width = 8 if pa.types.is_large_string(t) else 4
        return (_K_STRING, arr.offset, valid, buffers[1], buffers[2], width, 0)
    if kind == "bigint" and t in _INTS:
        return (_K_INT, arr.offset, valid, buffers[1], None, *_INTS[t])
    layouts = {
        "date": (_K_DATE, pa.types.is_date32(t)),
        "boolean": (_K_BOOL, pa.types.is_boolean(t)),
        "timestamp without time zone": (
            _K_TIMESTAMP,
            pa.types.is_timestamp(t) and t.tz is None and t.unit == "us",
        ),
    }
    code, fits = layouts.get(kind, (-1, False))
    return (code if fits else -1, arr.offset, valid, buffers[1] if len(buffers) > 1 else None, None, 0, 0)


def _encode_native(
    arrays: list[pa.Array], columns: list[PgColumn], tail: bytes, tail_fields: int
) -> bytes | None:
    """The C encoder's payload, or None where it declines (the numpy code then encodes)."""
    n = len(arrays[0])
    if not all(isinstance(a, pa.Array) and len(a) == n for a in arrays):
        return None  # numpy's path fails or copes with these exactly as before
    try:
        specs = [_native_spec(a, c) for a, c in zip(arrays, columns, strict=True)]
        return _pgcopy.encode_rows(n, specs, tail if tail_fields else b"", tail_fields)
    except _pgcopy.Unsupported:
        return None


def encode_constants(values: list[pa.Array], columns: list[PgColumn]) -> bytes | None:
    """One-element arrays -> their fields, concatenated: the same trailing bytes for every row."""
    if not all(encodable(a, c) for a, c in zip(values, columns, strict=True)):
        return None
    return b"".join(encode_field(a, c)[0].as_py() for a, c in zip(values, columns, strict=True))


def encode_rows(
    arrays: list[pa.Array], columns: list[PgColumn], tail: bytes = b"", tail_fields: int = 0
) -> memoryview | None:
    """The rows of a batch in binary COPY format (no header/trailer), or None if not encodable.

    `tail` (from `encode_constants`) holds `tail_fields` fields appended to every row as one
    scalar: the join of the row's pieces costs per argument, so constants are not repeated
    into arrays first.
    """
    if not all(encodable(a, c) for a, c in zip(arrays, columns, strict=True)):
        return None
    if arrays and native_available():
        payload = _encode_native(arrays, columns, tail, tail_fields)
        if payload is not None:
            return memoryview(payload)
    n = len(arrays[0])
    count = np.int16(len(arrays) + tail_fields).byteswap().tobytes()
    heads = _binary(n, np.arange(0, 2 * n + 1, 2), count * n)
    fields = [encode_field(a, c) for a, c in zip(arrays, columns, strict=True)]
    if tail_fields:
        fields.append(pa.scalar(tail, pa.large_binary()))
    rows = pc.binary_join_element_wise(heads, *fields, _SEP)
    # the joined values are contiguous, row after row: the data buffer is the payload
    ends = np.frombuffer(rows.buffers()[1], np.int64, count=rows.offset + n + 1)
    start, end = int(ends[rows.offset]), int(ends[rows.offset + n])
    return memoryview(rows.buffers()[2].slice(start, end - start))
