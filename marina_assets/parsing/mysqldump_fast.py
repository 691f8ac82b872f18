"""The fast path for INSERT statements: rewrite VALUES lists as CSV for Arrow's C reader.

`to_csv` only takes a statement it can prove Arrow reads exactly like the exact tokenizer
(`sql_values`): the statement skeleton (strings replaced by one `'` each, see
`sql_splitter.skeleton`) may hold only numbers, NULL, commas and the `),(` / `),\\n(` tuple
separators written by mysqldump and MariaDB; every string must be a whole field; and the
separators in the text must be exactly those of the skeleton (a `),(` inside a string would
otherwise be rewritten). MySQL escapes are rewritten to what Arrow's escape handling yields.
Anything else — hex or bit literals, `_binary`, spaces, comments — returns None and the caller
takes the exact path for that statement.

`read_columns` parses the CSV text of one or more statements at once, converting straight to
the catalog's Arrow types in C; it returns None when Arrow refuses (a value that does not
convert, invalid UTF-8, a wrong field count), and the caller retries as text or exactly.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.csv as pacsv

_SKELETON_CHARS = b"0123456789.-+eE(),'"
# what Arrow's CSV reader (quote ', escape \) must see to yield MySQL's unescaped value
_REWRITE = {
    b"0": b"\0",
    b"n": b"\n",
    b"r": b"\r",
    b"Z": b"\x1a",
    b"t": b"\t",
    b"b": b"\b",
    b"'": b"\\'",
    b"\\": b"\\\\",
    b"%": b"\\\\%",
    b"_": b"\\\\_",
}
_PARSE = pacsv.ParseOptions(quote_char="'", escape_char="\\", double_quote=True, newlines_in_values=True)
_TRUE = ["1", "t", "T", "true", "True", "TRUE", "y", "Y", "yes", "Yes", "YES"]
_FALSE = ["0", "f", "F", "false", "False", "FALSE", "n", "N", "no", "No", "NO"]


_NEEDS_REWRITE = re.compile(rb"\\([^'\"])", re.S)


def _rewrite_escapes(csv: bytes) -> bytes:
    """MySQL escapes -> what Arrow (escape character `\\`) turns into the same bytes.

    `\\'` and `\\"` mean the same to both and stay; the others (`\\n`, `\\\\`, `\\0`, ...) are
    rewritten, scanning left to right so that `\\\\n` stays a backslash followed by `n`.
    """
    return _NEEDS_REWRITE.sub(lambda m: _REWRITE.get(m.group(1), m.group(1)), csv)


def to_csv(text: bytes, values_at: int, skeleton: bytes) -> tuple[bytes, int] | None:
    """(CSV text, number of tuples) of the statement's VALUES list, or None for the exact path."""
    if text.find(b"'", 0, values_at) >= 0 or text.find(b"\\", 0, values_at) >= 0:
        return None  # the skeleton's offsets only match the text when the head has no string
    end = len(text)
    while end > values_at and text[end - 1] in b" \t\r\n":
        end -= 1
    s = skeleton[values_at:].rstrip()
    if not (s[:1] == b"(" and s[-1:] == b")" and text[values_at] == 0x28 and text[end - 1] == 0x29):
        return None
    mariadb = b"),\n(" in s  # MariaDB puts each tuple on its own line
    if mariadb:
        s = s.replace(b"),\n(", b"),(")
    if s.replace(b"NULL", b"").translate(None, _SKELETON_CHARS):
        return None
    quotes = s.count(b"'")
    if quotes and (quotes != s.count(b",'") + s.count(b"('") or quotes != s.count(b"',") + s.count(b"')")):
        return None
    rows = s.count(b"),(") + 1
    in_text = text.count(b"),(", values_at, end) + text.count(b"),\n(", values_at, end)
    if in_text != rows - 1:
        return None  # a string holds a separator: rewriting it would change the value
    csv = text[values_at + 1 : end - 1]  # one copy; then one rewrite per separator style
    if mariadb:
        csv = csv.replace(b"),\n(", b"\n")
    csv = csv.replace(b"),(", b"\n")
    if b"\\" in csv:
        csv = _rewrite_escapes(csv)
    return csv, rows


def read_columns(csv: bytes, width: int, types: dict[int, pa.DataType]) -> dict[int, pa.Array] | None:
    """{dump position: array} for the positions in `types`, or None when Arrow refuses."""
    names = [f"c{i}" for i in range(width)]
    wanted = sorted(types)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(csv),
            read_options=pacsv.ReadOptions(column_names=names, block_size=max(1 << 20, len(csv) // 2 + 1)),
            parse_options=_PARSE,
            convert_options=pacsv.ConvertOptions(
                column_types={names[i]: types[i] for i in wanted},
                include_columns=[names[i] for i in wanted],
                null_values=["NULL"],
                true_values=_TRUE,
                false_values=_FALSE,
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return {i: table.column(names[i]).combine_chunks() for i in wanted}
