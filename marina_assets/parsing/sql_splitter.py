"""Split a MySQL dump into statements, exactly as the `mysql` client would — without running them.

Works on bytes (string literals may hold any binary data). A statement ends at the current
delimiter outside quotes and comments; `DELIMITER ;;` lines (the client command mysqldump
writes around triggers and routines) change the delimiter, so a `;` or even an `INSERT` inside
a routine body is never mistaken for data. Comments and `/*!...*/` directives between
statements are skipped; a statement made only of them is not yielded.

Speed: mysqldump writes every INSERT on its own line(s) ending in `;\\n`. For such a statement
the splitter takes the text up to the next `;\\n` and proves with C-speed byte operations that
the `;` is outside any string; only when that proof fails does it scan the statement character
by character. The common proof (`plain_values`) also shows that the VALUES list holds nothing
but numbers, NULL and whole `'...'` strings, which lets the caller hand it to Arrow's CSV
reader; the fallback proof (`skeleton`: quote parity once escaped characters are removed)
covers the rest (`_binary`, hex literals, ...), whose values the exact tokenizer reads.

An incomplete dump is an error (`BackupError`): a statement cut off at the end, or a dump whose
header says it was written with comments (`-- MySQL dump`, `-- MariaDB dump`) but whose
`-- Dump completed` trailer is missing (the dump process died between two statements).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from marina_assets.parsing import csv_native
from marina_assets.parsing.events import BackupError

_CHUNK = 1 << 20
_MAX_STATEMENT = 1 << 30  # a single statement larger than this is not a dump we can trust
_NOISE = re.compile(rb"(?:\s+|--(?:[ \t\f\v][^\n]*)?(?=\n|$)|#[^\n]*|/\*.*?\*/)*", re.S)
_DELIMITER_CMD = re.compile(rb"delimiter[ \t]+(\S+)[^\n]*(?:\n|$)", re.I)
_FAST_HEAD = re.compile(rb"(?:INSERT|REPLACE)\b", re.I)
_ESCAPED = re.compile(rb"\\.", re.S)
_HEADER_MARKS = (b"-- MySQL dump", b"-- MariaDB dump")
_TRAILER = b"-- Dump completed"


@dataclass(frozen=True)
class Statement:
    line: int  # line where the statement starts, 1-based
    text: bytes  # without its delimiter and surrounding comments
    plain_at: int | None = None  # offset of a VALUES list proven by `plain_values` (fast path only)
    csv: tuple[bytes, int] | None = None  # that list as CSV and its tuple count, when the C scanner made it


def skeleton(text: bytes) -> bytes | None:
    """`text` with every single-quoted string replaced by a lone `'`, or None when unsure.

    Escaped characters (`\\x` pairs, left to right) are removed first, so the remaining quotes delimit
    strings; an odd number of them means a string is still open.
    """
    t = _ESCAPED.sub(b"", text) if b"\\" in text else text  # one pass; pairs left to right
    parts = t.split(b"'")
    if len(parts) % 2 == 0:
        return None
    skel = b"'".join(parts[::2])
    values = skel.find(b"VALUES")
    if b'"' in skel or b"`" in skel[values:] or b"--" in skel or b"/*" in skel or b"#" in skel:
        return None  # double-quoted strings, odd identifiers or comments: the exact scanner decides
    return skel


class _Reader:
    """A growing window over the stream; `pos` is where the current statement starts.

    `more()` appends a chunk and drops what lies before `pos`, so offsets that callers keep
    are relative to `pos` (they stay valid across `more()`).
    """

    def __init__(self, stream: BinaryIO, name: str) -> None:
        self.stream = stream
        self.name = name
        self.buf = b""
        self.pos = 0
        self.eof = False
        self.head = b""
        self.tail = b""

    @property
    def size(self) -> int:  # bytes available from pos
        return len(self.buf) - self.pos

    def more(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        if len(self.head) < 4096:
            self.head = (self.head + chunk)[:4096]
        self.tail = (self.tail + chunk)[-4096:]
        self.buf = self.buf[self.pos :] + chunk
        self.pos = 0
        if len(self.buf) > _MAX_STATEMENT:
            raise BackupError(f"{self.name}: a statement is larger than {_MAX_STATEMENT:,} bytes")
        return True

    def advance(self, n: int) -> int:
        """Move pos by n bytes; returns the number of newlines passed."""
        lines = self.buf.count(b"\n", self.pos, self.pos + n)
        self.pos += n
        return lines


def iter_statements(stream: BinaryIO, name: str) -> Iterator[Statement]:
    """Yield every statement of a dump with its starting line; raise BackupError if incomplete."""
    r = _Reader(stream, name)
    r.more()
    line = 1
    delimiter = b";"
    while True:
        # skip comments and blank space before the statement (reading more while they run on)
        while True:
            m = _NOISE.match(r.buf, r.pos)
            end = m.end() - r.pos if m else 0
            if end < r.size or not r.more():
                break
        line += r.advance(end)
        if not r.size:
            break
        if r.buf[r.pos : r.pos + 9].lower() == b"delimiter":
            while r.buf.find(b"\n", r.pos) < 0 and r.more():
                pass
            m = _DELIMITER_CMD.match(r.buf, r.pos)
            if m:
                delimiter = m.group(1)
                line += r.advance(m.end() - r.pos)
                continue
        stmt = _fast(r, delimiter, line) if _FAST_HEAD.match(r.buf, r.pos) else None
        if stmt is None:
            text, consumed = _exact(r, delimiter, line)
            stmt = Statement(line, text)
        else:
            consumed = len(stmt.text) + len(delimiter)
        line += r.advance(consumed)
        if stmt.text.strip():
            yield stmt
    if not r.head:
        raise BackupError(f"{name}: the dump is empty")
    if any(mark in r.head for mark in _HEADER_MARKS) and _TRAILER not in r.tail:
        raise BackupError(f"{name}: dump is incomplete: no '-- Dump completed' trailer at its end")


_FAST_END = re.compile(rb";\r?\n")
_FAST_LIMIT = 256 << 20  # beyond this without a `;` line end, let the exact scanner read on


def _fast(r: _Reader, delimiter: bytes, line: int) -> Statement | None:
    if delimiter != b";":
        return None
    off = 0
    while True:
        m = _FAST_END.search(r.buf, r.pos + off)
        if m is not None:
            break
        off = max(0, r.size - 2)
        if off > _FAST_LIMIT or not r.more():
            return None
    text = r.buf[r.pos : m.start()]
    start = _plain_start(text)
    if start is not None and csv_native.available():
        # one C pass proves the list plain and writes its CSV (and, unlike `plain_values`, also
        # refuses malformed numbers such as `1-2` outside strings)
        converted = csv_native.values_csv(text, start)
        if converted is not None:
            return Statement(line, text, start, converted)
    elif start is not None and plain_values(text, start):
        return Statement(line, text, start)
    if skeleton(text) is None:
        return None
    return Statement(line, text)


_VALUES_AT = b" VALUES ("


def _plain_start(text: bytes) -> int | None:
    """Offset of the `(` after the first ` VALUES ` when the head before it cannot open a string
    or a comment (no quote, backslash or comment marker, balanced backticks), else None."""
    i = text.find(_VALUES_AT)
    if i < 0:
        return None
    head = text[:i]
    if head.count(b"`") % 2 or any(c in head for c in (b"'", b'"', b"\\", b"#", b"--", b"/*")):
        return None
    return i + len(_VALUES_AT) - 1


# bytes that may stand outside strings in a plain VALUES list (N, U, L only as `NULL`)
_PLAIN_OUTSIDE = b"0123456789.-+eE,()"
_OPEN_OK = np.zeros(256, dtype=bool)  # what may precede a string's opening quote
_OPEN_OK[list(b"(,")] = True
_CLOSE_OK = np.zeros(256, dtype=bool)  # what may follow its closing quote
_CLOSE_OK[list(b",)")] = True


def mariadb_rows(values: bytes) -> bool:
    """True when the tuples are separated by `),\\n(` (MariaDB) rather than `),(` (mysqldump),
    judged by the first separator. A wrong guess only costs the fast path, never exactness."""
    i = values.find(b"),")
    return i >= 0 and values[i + 2 : i + 3] == b"\n"


def plain_values(text: bytes, start: int) -> bool:
    """True when `text[start:]` is `(...)` tuples, separated by `,` (`,\\n` for MariaDB), of
    numbers, `NULL` and whole single-quoted strings only, with nothing else outside strings.

    Then MySQL's and Arrow's CSV lexers (quote `'`, escape `\\`, doubled quote) agree on every
    string boundary, and the statement ends outside any string. Proven with C-speed passes:
    the real quotes are those not escaped (a backslash run of odd length before them); each
    opening quote must follow `(` or `,` and each closing one precede `,` or `)`; deleting
    every byte allowed outside strings (and `NULL`) must leave the strings side by side.
    A `),(` inside a string is not excluded here: the caller counts tuples and lets Arrow's row
    count, which such a string would lower, decide.
    """
    values = text[start:]
    if values[:1] != b"(" or values[-1:] != b")":
        return False
    if mariadb_rows(values):
        values = values.replace(b"),\n(", b"),(")
    a = np.frombuffer(values, dtype=np.uint8)
    quotes = np.flatnonzero(a == 0x27)
    real: np.ndarray | slice = slice(None)
    if len(quotes) and (a[quotes - 1] == 0x5C).any():
        real = _unescaped(a, quotes)
        quotes = quotes[real]
    if len(quotes) % 2:
        return False
    if len(quotes) and not (_OPEN_OK[a[quotes[0::2] - 1]].all() and _CLOSE_OK[a[quotes[1::2] + 1]].all()):
        return False
    # `NULL` first: removing it after the translate could join `NU1LL` into a `NULL`
    rest = values.replace(b"NULL", b"").translate(None, _PLAIN_OUTSIDE)
    left = np.flatnonzero(np.frombuffer(rest, dtype=np.uint8) == 0x27)[real]
    if len(left) != len(quotes):
        return False  # cannot happen (deleting never touches a quote); cheap to be sure
    if not len(left):
        return not rest
    return bool(left[0] == 0 and left[-1] == len(rest) - 1 and (left[2::2] == left[1:-1:2] + 1).all())


def _unescaped(a: np.ndarray, quotes: np.ndarray) -> np.ndarray:
    """Mask of `quotes` (offsets in `a`, none at 0) that are not escaped: those preceded by an
    even run of backslashes (MySQL reads a run left to right, pairs first)."""
    escaped = np.zeros(len(quotes), dtype=bool)
    at = quotes - 1  # for the quotes still in a run: the byte this far before them
    live = np.flatnonzero(a[at] == 0x5C)
    while len(live):
        escaped[live] ^= True  # one more backslash before them
        at[live] -= 1
        ok = at[live] >= 0
        live = live[ok]
        live = live[a[at[live]] == 0x5C]
    return ~escaped


_STRING_STOP = {
    q: re.compile(b"[" + re.escape(q) + (b"" if q == b"`" else rb"\\") + b"]") for q in (b"'", b'"', b"`")
}


def _string_end(r: _Reader, off: int, quote: bytes) -> int | None:
    """Offset just past the string that opened before `off` (None at end of input).

    Resumable: reading more data continues where the scan stopped, so a huge string costs
    linear time. Backslash escapes (not in backtick identifiers) and doubled quotes count.
    """
    stop = _STRING_STOP[quote]
    j = off
    while True:
        m = stop.search(r.buf, r.pos + j)
        if m is None or m.end() >= len(r.buf):  # need the byte after it to decide
            if m is None:
                j = r.size
            if r.more():
                continue
            if m is None:
                return None
        k = m.start() - r.pos
        if m.group() == b"\\":
            j = k + 2
        elif r.buf[m.end() : m.end() + 1] == quote:
            j = k + 2  # a doubled quote inside the string
        else:
            return k + 1


def _find(r: _Reader, needle: bytes, off: int) -> int | None:
    """Offset of `needle` at or after `off`, reading more as needed (linear: resumes)."""
    j = off
    while True:
        i = r.buf.find(needle, r.pos + j)
        if i >= 0:
            return i - r.pos
        j = max(off, r.size - len(needle) + 1)
        if not r.more():
            return None


def _exact(r: _Reader, delimiter: bytes, line: int) -> tuple[bytes, int]:
    """(statement text, bytes consumed including the delimiter), scanning quotes and comments."""
    special = re.compile(rb"['\"`#]|--(?=[ \t\f\v\r\n])|/\*|" + re.escape(delimiter))
    i = 0  # offset from r.pos
    while True:
        m = special.search(r.buf, r.pos + i)
        if m is None or m.end() + 2 > len(r.buf):
            # a token near the end of the buffer may continue in the next chunk
            if m is None:
                i = max(i, r.size - len(delimiter) - 2)
            if r.more():
                continue
            if m is None:
                raise BackupError(
                    f"{r.name}: dump is incomplete: it ends in the middle of a statement at line {line}"
                )
        tok = m.group()
        start, after = m.start() - r.pos, m.end() - r.pos
        if tok in _STRING_STOP:
            end = _string_end(r, after, tok)
            if end is None:
                raise BackupError(
                    f"{r.name}: dump is incomplete: it ends inside a quoted string (statement at line {line})"
                )
            i = end
        elif tok in (b"#", b"--"):
            nl = _find(r, b"\n", after)
            i = nl if nl is not None else r.size
        elif tok == b"/*":
            close = _find(r, b"*/", after)
            if close is None:
                raise BackupError(
                    f"{r.name}: dump is incomplete: it ends inside a comment (statement at line {line})"
                )
            i = close + 2
        else:
            return r.buf[r.pos : r.pos + start], after
