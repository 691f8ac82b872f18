"""The exact tokenizer for MySQL literal values: one `(…),(…)` VALUES list into raw tuples.

Raw values are untyped, as they appear in the dump:

- `None` for SQL NULL; `int` for an integer literal; `Numeric` (a str) for any other numeric
  literal, keeping its text (`10.50`, `1e20`);
- `bytes` for a quoted string, unescaped with MySQL's rules (`\\0 \\' \\" \\\\ \\n \\r \\Z \\t \\b`,
  `''`; `\\%` and `\\_` keep their backslash; any other `\\x` is `x`), raw bytes kept as they are;
- `Binary` (bytes) for `_binary '…'`, `0x…` and `X'…'` literals; `Bits` (int) for `b'…'`/`0b…`.

The staging path converts them to text cells (`as_text`); the inspect command writes them as
JSON. Both go through this tokenizer, so there is one definition of what a value is.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass


class Numeric(str):
    """A non-integer numeric literal, as written."""


class Binary(bytes):
    """Bytes from a `_binary` string or a hex literal: binary data, not text."""


class Bits(int):
    """A bit-value literal."""


RawValue = None | int | Numeric | bytes | Binary | Bits

_VALUE = re.compile(
    rb"""[ \t\r\n]*(?:
        (?:_(?P<charset>[A-Za-z0-9]+)[ \t]*)?
        (?:'(?P<sq>(?:[^'\\]+|\\.|'')*)'|"(?P<dq>(?:[^"\\]+|\\.|"")*)"|[xX]'(?P<xq>[0-9A-Fa-f]*)')
      | 0x(?P<hex>[0-9A-Fa-f]+)
      | [bB]'(?P<bq>[01]*)' | 0b(?P<bits>[01]+)
      | (?P<null>NULL)\b
      | (?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
    )[ \t\r\n]*""",
    re.X | re.S | re.I,
)
_INT = re.compile(rb"[-+]?\d+")
_ESCAPES = {
    b"0": b"\0",
    b"n": b"\n",
    b"r": b"\r",
    b"Z": b"\x1a",
    b"t": b"\t",
    b"b": b"\b",
    b"%": b"\\%",
    b"_": b"\\_",
}
_SQ_ESCAPE = re.compile(rb"\\(.)|''", re.S)
_DQ_ESCAPE = re.compile(rb'\\(.)|""', re.S)


def unescape(body: bytes, quote: bytes = b"'") -> bytes:
    if b"\\" not in body and quote * 2 not in body:
        return body
    pattern = _SQ_ESCAPE if quote == b"'" else _DQ_ESCAPE
    return pattern.sub(lambda m: quote if m.group(1) is None else _ESCAPES.get(m.group(1), m.group(1)), body)


def _value(m: re.Match[bytes]) -> RawValue:
    if m.group("null") is not None:
        return None
    num = m.group("num")
    if num is not None:
        return int(num) if _INT.fullmatch(num) else Numeric(num.decode("ascii"))
    for group, quote in (("sq", b"'"), ("dq", b'"')):
        body = m.group(group)
        if body is not None:
            raw = unescape(body, quote)
            charset = m.group("charset")
            return Binary(raw) if charset is not None and charset.lower() == b"binary" else raw
    for group in ("xq", "hex"):
        digits = m.group(group)
        if digits is not None:
            return Binary(bytes.fromhex(("0" if len(digits) % 2 else "") + digits.decode()))
    digits = m.group("bq") if m.group("bq") is not None else m.group("bits")
    return Bits(int(digits or b"0", 2))


@dataclass(frozen=True)
class RawTuple:
    values: list[RawValue]
    raw: bytes  # the tuple's text, parentheses included
    error: str | None = None


def iter_tuples(text: bytes, pos: int) -> Iterator[RawTuple]:
    """Tuples of the VALUES list starting at `pos`; an unreadable tuple has `error` set.

    After an unreadable value the tokenizer resynchronises on the next `),(` or `),\\n(` —
    a tuple is never silently skipped: it is yielded with its error and raw text.
    """
    n = len(text)
    while pos < n and text[pos] in b" \t\r\n":
        pos += 1
    while pos < n:
        start = pos
        if text[pos : pos + 1] != b"(":
            yield RawTuple([], text[pos : pos + 200], "expected '(' to start a tuple")
            return
        pos += 1
        values: list[RawValue] = []
        error: str | None = None
        if text[pos : pos + 1] == b")":  # `()`: an empty tuple
            pos += 1
        else:
            while True:
                m = _VALUE.match(text, pos)
                if m is None or m.end() == pos:
                    error = f"unreadable value at byte {pos - start} of the tuple"
                    nxt = re.compile(rb"\),[ \t\r\n]*\(").search(text, pos)
                    pos = nxt.start() + 1 if nxt else n
                    break
                pos = m.end()
                values.append(_value(m))
                sep = text[pos : pos + 1]
                if sep == b",":
                    pos += 1
                    continue
                if sep == b")":
                    pos += 1
                    break
                error = "tuple is not closed"
                pos = n
                break
        yield RawTuple(values, text[start:pos], error)
        while pos < n and text[pos] in b" \t\r\n":
            pos += 1
        if pos < n:
            if text[pos : pos + 1] != b",":
                yield RawTuple([], text[pos : pos + 200], "expected ',' between tuples")
                return
            pos += 1
            while pos < n and text[pos] in b" \t\r\n":
                pos += 1


def as_text(v: RawValue) -> str | None:
    """A raw value as the text cell the typing layer converts; UnicodeDecodeError if not UTF-8."""
    if v is None:
        return None
    if isinstance(v, bytes):
        return v.decode("utf-8")
    return str(int(v)) if isinstance(v, int) else str(v)
