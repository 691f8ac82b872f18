"""A byte-level CSV tokenizer that knows exactly where each record starts.

This is the slow, exact path: it is used for the header, for a member whose fast read
(Arrow's C reader) met a record it had to skip, and by the inspect command, so that every
record — good or bad — gets its physical line number. It follows PostgreSQL `COPY ... CSV`
conventions: an unquoted empty field is NULL, a quoted empty field is the empty string; CRLF,
LF and CR all end a record outside quotes. It reads the stream in chunks and holds at most
one record plus one chunk; offsets are kept relative to the record start so that reading
more never re-copies what was already parsed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

_UNQUOTED = re.compile(rb'[^,"\r\n]*')
_LINE_END = re.compile(rb"[\r\n]")
_CHUNK = 1 << 20
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class CsvRecord:
    line: int  # physical line where the record starts, 1-based
    fields: list[bytes | None]  # None = unquoted empty field (NULL)
    raw: bytes  # the record's bytes, without its line terminator
    error: str | None = None  # malformed quoting: the record cannot be trusted


def _newlines(data: bytes, start: int = 0, end: int | None = None) -> int:
    # CRLF counts once, lone CR and lone LF count once each
    end = len(data) if end is None else end
    return data.count(b"\n", start, end) + data.count(b"\r", start, end) - data.count(b"\r\n", start, end)


class _Buffer:
    """`data[base:]` is unread; `fill()` drops what lies before `base` and appends a chunk."""

    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.data = b""
        self.base = 0
        self.eof = False

    @property
    def size(self) -> int:
        return len(self.data) - self.base

    def at(self, off: int, n: int = 1) -> bytes:
        return self.data[self.base + off : self.base + off + n]

    def fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.data = self.data[self.base :] + chunk
        self.base = 0
        return True


def iter_records(stream: BinaryIO) -> Iterator[CsvRecord]:
    """Yield every record of a CSV byte stream, including the header, with line numbers."""
    buf = _Buffer(stream)
    while len(buf.data) < 3 and buf.fill():
        pass
    if buf.data.startswith(BOM):
        buf.base = len(BOM)
    line = 1
    while True:
        if not buf.size and not buf.fill():
            return
        record, consumed = _next_record(buf, line)
        line += _newlines(buf.data, buf.base, buf.base + consumed)
        buf.base += consumed
        yield record


def _next_record(buf: _Buffer, line: int) -> tuple[CsvRecord, int]:
    """Parse one record at buf.base; returns it and the bytes consumed (offsets from base)."""
    fields: list[bytes | None] = []
    pos = 0
    error: str | None = None
    while True:
        while pos >= buf.size and buf.fill():
            pass  # the field's first byte decides quoted or not: have it
        if buf.at(pos) == b'"':
            close = _closing_quote(buf, pos + 1)
            if close is None:
                end = buf.size
                return CsvRecord(line, fields, buf.at(0, end), "unterminated quoted field"), end
            fields.append(buf.at(pos + 1, close - pos - 1).replace(b'""', b'"'))
            pos = close + 1
        else:
            start = pos
            m = _UNQUOTED.match(buf.data, buf.base + pos)
            assert m is not None  # the pattern matches the empty string
            end = m.end() - buf.base
            while buf.base + end == len(buf.data) and buf.fill():  # resume where it stopped: linear
                m = _UNQUOTED.match(buf.data, buf.base + end)
                assert m is not None
                end = m.end() - buf.base
            pos = end
            value = buf.at(start, pos - start)
            if buf.at(pos) == b'"':
                # a quote inside an unquoted field: keep reading to the line end, flag it
                error = "quote character inside an unquoted field"
                stop = _line_end(buf, pos)
                pos = stop if stop is not None else buf.size
                value = buf.at(start, pos - start)
            fields.append(value if value else None)
        if pos >= buf.size and not buf.fill():
            return CsvRecord(line, fields, buf.at(0, pos), error), pos
        ch = buf.at(pos)
        if ch == b",":
            pos += 1
            continue
        if ch in (b"\r", b"\n"):
            raw = buf.at(0, pos)
            if ch == b"\r":
                if pos + 1 >= buf.size:
                    buf.fill()
                if buf.at(pos + 1) == b"\n":
                    pos += 1
            return CsvRecord(line, fields, raw, error), pos + 1
        # text right after a closing quote, e.g. "ab"c
        error = error or "characters after a closing quote"
        stop = _line_end(buf, pos)
        stop = stop if stop is not None else buf.size
        return CsvRecord(line, fields, buf.at(0, stop), error), _skip_terminator(buf, stop)


def _closing_quote(buf: _Buffer, off: int) -> int | None:
    """Offset of the quote closing a field whose text starts at `off` (None: unterminated).

    `""` is an escaped quote; a quote at the very end of the buffer may be the first of such a
    pair, so more is read before deciding. The scan resumes after each read: linear time.
    """
    j = off
    while True:
        i = buf.data.find(b'"', buf.base + j)
        if i < 0:
            j = buf.size
            if not buf.fill():
                return None
            continue
        k = i - buf.base
        if i + 1 == len(buf.data) and buf.fill():
            j = k
            continue
        if buf.at(k + 1) == b'"':
            j = k + 2
            continue
        return k


def _line_end(buf: _Buffer, pos: int) -> int | None:
    j = pos
    while True:
        m = _LINE_END.search(buf.data, buf.base + j)
        if m:
            return m.start() - buf.base
        j = buf.size  # resume after what was searched
        if not buf.fill():
            return None


def _skip_terminator(buf: _Buffer, pos: int) -> int:
    if pos + 1 >= buf.size:
        buf.fill()
    if buf.at(pos, 2) == b"\r\n":
        return pos + 2
    if buf.at(pos) in (b"\r", b"\n"):
        return pos + 1
    return pos
