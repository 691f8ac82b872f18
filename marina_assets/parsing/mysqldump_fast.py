"""The fast path for INSERT statements: rewrite VALUES lists as CSV for Arrow's C reader.

`to_csv` only takes a VALUES list the splitter proved plain (`sql_splitter.plain_values`:
numbers, NULL and whole `'...'` strings, nothing else outside strings), where Arrow's lexer
(quote `'`, escape `\\`) finds the same strings as the exact tokenizer (`sql_values`). It strips
the outer parentheses, turns every tuple separator (`),(`, or MariaDB's `),\\n(`) into a line
break and rewrites MySQL escapes into what Arrow's escape handling yields. A separator inside
a string is rewritten too, but then Arrow reads fewer rows than `to_csv` counted separators,
and the caller takes the exact path (`read_columns`' callers compare the row counts).
Anything not plain — hex or bit literals, `_binary`, spaces, comments — takes the exact path.

`read_columns` parses the CSV text of one or more statements at once, converting straight to
the catalog's Arrow types in C; it returns None when Arrow refuses (a value that does not
convert, invalid UTF-8, a wrong field count), and the caller retries as text or exactly.
"""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.csv as pacsv

from marina_assets.parsing.sql_splitter import mariadb_rows

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


def to_csv(text: bytes, values_at: int) -> tuple[bytes, int]:
    """(CSV text, number of tuples counted by their separators) of a plain VALUES list."""
    csv = text[values_at + 1 : len(text) - 1]  # one copy; then one rewrite per separator style
    size = len(csv)
    rows = 1
    if mariadb_rows(csv):
        csv = csv.replace(b"),\n(", b"\n")
        rows += (size - len(csv)) // 3
        size = len(csv)
    csv = csv.replace(b"),(", b"\n")
    rows += (size - len(csv)) // 2
    if b"\\" in csv:
        csv = _rewrite_escapes(csv)
    return csv, rows


def _rewrite_escapes(csv: bytes) -> bytes:
    """MySQL escapes -> what Arrow (escape character `\\`) turns into the same bytes.

    `\\'` and `\\"` mean the same to both and stay; the others (`\\n`, `\\\\`, `\\0`, ...) are
    rewritten, scanning left to right so that `\\\\n` stays a backslash followed by `n`.
    """
    return _NEEDS_REWRITE.sub(lambda m: _REWRITE.get(m.group(1), m.group(1)), csv)


def read_columns(csv: bytes, width: int, types: dict[int, pa.DataType]) -> dict[int, pa.Array] | None:
    """{dump position: array} for the positions in `types`, or None when Arrow refuses."""
    names = [f"c{i}" for i in range(width)]
    wanted = sorted(types)
    try:
        table = pacsv.read_csv(
            pa.BufferReader(csv),
            # 1 MB blocks stay in cache (16 MB blocks parse 2.5x slower); one thread: the caller
            # already runs this off the main thread, and Arrow's pool would compete with it
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 20, use_threads=False),
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
