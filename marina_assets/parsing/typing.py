"""Turn raw text cells into catalog-typed Arrow columns, quarantining what does not convert.

Parsers produce string columns (NULL where the file said NULL). This module converts a whole
batch at once with Arrow compute kernels and drops to per-value Python conversion only for a
column whose vectorized cast failed, so one bad value costs one slow column of one batch and
is reported with its row, never shifted or silently nulled.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from marina_assets.catalog.audit import SOURCE_LINE
from marina_assets.catalog.model import Column, ColumnType, Kind, Table


@functools.cache
def arrow_type(t: ColumnType) -> pa.DataType:
    return {
        Kind.INTEGER: pa.int64(),
        Kind.DECIMAL: pa.decimal128(t.precision or 38, t.scale or 0),
        Kind.VARCHAR: pa.string(),
        Kind.TEXT: pa.string(),
        Kind.DATE: pa.date32(),
        Kind.TIMESTAMP: pa.timestamp("us"),
        Kind.BOOLEAN: pa.bool_(),
    }[t.kind]


@functools.cache
def arrow_schema(table: Table) -> pa.Schema:
    # nullability is enforced by quarantine and by the DW's constraints, not by Arrow
    fields = [pa.field(c.name, arrow_type(c.type)) for c in table.columns]
    return pa.schema([*fields, pa.field(SOURCE_LINE, pa.int64())])


_TRUE = {"true", "t", "1", "yes", "y"}
_FALSE = {"false", "f", "0", "no", "n"}
# the spellings Arrow's CSV reader may convert itself (it matches exactly); any other casing
# of these words still converts, through the text path
BOOLEAN_TRUE = sorted({f(w) for w in _TRUE for f in (str.lower, str.upper, str.capitalize)})
BOOLEAN_FALSE = sorted({f(w) for w in _FALSE for f in (str.lower, str.upper, str.capitalize)})
_ZERO_DATES = {"0000-00-00", "0000-00-00 00:00:00"}
# value sets built once (building them per batch also pays pyarrow's lazy pandas import there)
_TRUE_SET = pa.array(sorted(_TRUE))
_FALSE_SET = pa.array(sorted(_FALSE))
_ZERO_DATE_SET = pa.array(sorted(_ZERO_DATES))
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%m/%d/%Y %H:%M:%S")
_TS_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S.%f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)
_INT = re.compile(r"[-+]?\d+")


class ConversionError(ValueError):
    pass


def _to_int(s: str) -> int:
    if not _INT.fullmatch(s):
        raise ConversionError(f"{s!r} is not an integer")
    v = int(s)
    if not -(2**63) <= v < 2**63:
        raise ConversionError(f"{s!r} is out of the 64-bit integer range")
    return v


def _to_decimal(t: ColumnType) -> Callable[[str], Decimal]:
    quantum = Decimal(1).scaleb(-(t.scale or 0))
    limit = Decimal(10) ** ((t.precision or 38) - (t.scale or 0))

    def convert(s: str) -> Decimal:
        try:
            d = Decimal(s)
        except InvalidOperation as e:
            raise ConversionError(f"{s!r} is not a number") from e
        if not d.is_finite():
            raise ConversionError(f"{s!r} is not a finite number")
        d = d.quantize(quantum)
        if abs(d) >= limit:
            raise ConversionError(f"{s!r} does not fit decimal({t.precision},{t.scale})")
        return d

    return convert


def _parse_datetime(s: str, formats: tuple[str, ...], what: str) -> datetime:
    for fmt in formats:
        try:
            return datetime.strptime(s, fmt)
        except ValueError:
            continue
    try:
        return datetime.fromisoformat(s).replace(tzinfo=None)
    except ValueError as e:
        raise ConversionError(f"{s!r} is not a {what}") from e


def _to_date(s: str) -> date:
    v = _parse_datetime(s, _DATE_FORMATS, "date")
    if v.time() != datetime.min.time():
        raise ConversionError(f"{s!r} has a time of day but the column is a date")
    return v.date()


def _to_timestamp(s: str) -> datetime:
    return _parse_datetime(s, _TS_FORMATS, "timestamp")


def _to_bool(s: str) -> bool:
    low = s.lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConversionError(f"{s!r} is not a boolean")


def _scalar_converter(t: ColumnType) -> Callable[[str], object]:
    return {
        Kind.INTEGER: _to_int,
        Kind.DECIMAL: _to_decimal(t),
        Kind.DATE: _to_date,
        Kind.TIMESTAMP: _to_timestamp,
        Kind.BOOLEAN: _to_bool,
    }[t.kind]


def _fast_cast(values: pa.Array, t: ColumnType) -> pa.Array:
    """Vectorized conversion; raises pa.ArrowInvalid when any value needs the slow path."""
    if t.kind is Kind.BOOLEAN:
        low = pc.utf8_lower(values)
        is_true = pc.is_in(low, value_set=_TRUE_SET)
        is_false = pc.is_in(low, value_set=_FALSE_SET)
        if pc.all(pc.or_(pc.or_(is_true, is_false), pc.is_null(values))).as_py() not in (True, None):
            raise pa.ArrowInvalid("unrecognised boolean")
        return pc.if_else(pc.is_null(values), pa.scalar(None, pa.bool_()), is_true)
    if t.kind is Kind.DECIMAL:
        wide = pc.cast(values, pa.decimal128(38, max(t.scale or 0, 12)))
        rounded = pc.round(wide, ndigits=t.scale or 0, round_mode="half_to_even")
        return pc.cast(rounded, arrow_type(t))
    if t.kind is Kind.INTEGER:
        if pc.all(pc.match_substring_regex(values, r"^[-+]?\d+$")).as_py() not in (True, None):
            raise pa.ArrowInvalid("not an integer")
        return pc.cast(values, pa.int64())
    if t.kind is Kind.DATE:
        # `2025-01-02 00:00:00` from a datetime export must not slip through as a date
        if pc.all(pc.match_substring_regex(values, r"^\d{4}-\d{2}-\d{2}$")).as_py() not in (True, None):
            raise pa.ArrowInvalid("not an ISO date")
        return pc.cast(values, pa.date32())
    return pc.cast(values, arrow_type(t))


def convert_column(values: pa.Array, column: Column) -> tuple[pa.Array, dict[int, str]]:
    """Typed array for `values` plus {row: reason} for cells that do not convert.

    Rows with a bad cell hold NULL in the returned array; the caller rejects those rows.
    """
    t = column.type
    if values.type == arrow_type(t) and t.kind not in (Kind.VARCHAR, Kind.TEXT):
        return values, {}  # already converted by a reader that proved the conversion exact
    if t.kind in (Kind.VARCHAR, Kind.TEXT):
        bad: dict[int, str] = {}
        # a value's characters never outnumber its bytes: when no value has more bytes than the
        # limit (offsets only, no scan of the text), none can be too long
        if t.kind is Kind.VARCHAR and t.length and (pc.max(pc.binary_length(values)).as_py() or 0) > t.length:
            too_long = pc.fill_null(pc.greater(pc.utf8_length(values), t.length), False)
            for i in pc.indices_nonzero(too_long).to_pylist():
                n = len(values[i].as_py())
                bad[i] = f"column {column.source}: {n} characters exceeds varchar({t.length})"
        return values, bad
    trimmed = pc.utf8_trim_whitespace(values)
    # an empty cell of a non-text column is NULL whether or not it was quoted
    blank = pc.or_(pc.equal(trimmed, ""), pc.is_in(trimmed, value_set=_ZERO_DATE_SET))
    cleaned = pc.if_else(pc.fill_null(blank, False), pa.scalar(None, pa.string()), trimmed)
    try:
        return _fast_cast(cleaned, t), {}
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    convert = _scalar_converter(t)
    out: list[object] = []
    bad = {}
    for i, s in enumerate(cleaned.to_pylist()):
        if s is None:
            out.append(None)
            continue
        try:
            out.append(convert(s))
        except ConversionError as e:
            out.append(None)
            bad[i] = f"column {column.source}: {e}"
    return pa.array(out, type=arrow_type(t)), bad


def type_batch(
    table: Table,
    cells: dict[str, pa.Array],
    lines: pa.Array,
    render_raw: Callable[[int], str],
) -> tuple[pa.RecordBatch, list[tuple[int, str, str]]]:
    """Convert one batch of text cells into the table's typed batch.

    `cells` maps warehouse column name -> string array (a column absent from the source is
    simply missing and becomes NULL). Returns the typed batch of good rows and, for each bad
    row, (row index, reason, raw text).
    """
    n = len(lines)
    arrays: list[pa.Array] = []
    problems: dict[int, list[str]] = {}
    for c in table.columns:
        raw = cells.get(c.name)
        if raw is None:
            typed = pa.nulls(n, type=arrow_type(c.type))
        else:
            typed, bad = convert_column(raw, c)
            for i, why in bad.items():
                problems.setdefault(i, []).append(why)
        if not c.nullable and typed.null_count:
            for i in pc.indices_nonzero(pc.is_null(typed)).to_pylist():
                if i not in problems:
                    role = "primary key column" if c.name in table.primary_key else "NOT NULL column"
                    problems.setdefault(i, []).append(f"{role} {c.source} is empty")
        arrays.append(typed)
    arrays.append(lines.cast(pa.int64()))
    batch = pa.RecordBatch.from_arrays(arrays, schema=arrow_schema(table))
    if not problems:
        return batch, []
    keep = np.ones(n, dtype=bool)
    keep[list(problems)] = False
    rejects = [(i, "; ".join(problems[i]), render_raw(i)) for i in sorted(problems)]
    return batch.filter(pa.array(keep)), rejects
