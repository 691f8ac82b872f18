"""Split a MySQL dump into statements, exactly as the `mysql` client would — without running them.

Works on bytes (string literals may hold any binary data). A statement ends at the current
delimiter outside quotes and comments; `DELIMITER ;;` lines (the client command mysqldump
writes around triggers and routines) change the delimiter, so a `;` or even an `INSERT` inside
a routine body is never mistaken for data. Comments and `/*!...*/` directives between
statements are skipped; a statement made only of them is not yielded.

Speed: mysqldump writes every INSERT on its own line(s) ending in `;\\n`. For such a statement
the splitter takes the text up to the next `;\\n` and proves with C-speed byte operations that
the `;` is outside any string (quote parity once escaped characters are removed); only when
that proof fails does it scan the statement character by character.

An incomplete dump is an error (`BackupError`): a statement cut off at the end, or a dump whose
header says it was written with comments (`-- MySQL dump`, `-- MariaDB dump`) but whose
`-- Dump completed` trailer is missing (the dump process died between two statements).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

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
    skeleton: bytes | None = None  # text with each string replaced by one `'` (fast path only)


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
    skel = skeleton(text)
    if skel is None:
        return None
    return Statement(line, text, skel)


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
