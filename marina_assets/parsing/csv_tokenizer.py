"""A byte-level CSV tokenizer that knows exactly where each record starts.

This is the slow, exact path: it is used for the header and for a member whose fast read
(Arrow's C reader) met a record it had to skip, so that every record — good or bad — gets its
physical line number. It follows PostgreSQL `COPY ... CSV` conventions: an unquoted empty field
is NULL, a quoted empty field is the empty string; CRLF, LF and CR all end a record outside
quotes. It reads the stream in chunks and never holds more than one record plus one chunk.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

_QUOTED = re.compile(rb'"((?:[^"]|"")*)"')
_UNQUOTED = re.compile(rb'[^,"\r\n]*')
_CHUNK = 1 << 20
BOM = b"\xef\xbb\xbf"


@dataclass(frozen=True)
class CsvRecord:
    line: int  # physical line where the record starts, 1-based
    fields: list[bytes | None]  # None = unquoted empty field (NULL)
    raw: bytes  # the record's bytes, without its line terminator
    error: str | None = None  # malformed quoting: the record cannot be trusted


def _newlines(data: bytes) -> int:
    # CRLF counts once, lone CR and lone LF count once each
    return data.count(b"\n") + data.count(b"\r") - data.count(b"\r\n")


class _Buffer:
    def __init__(self, stream: BinaryIO) -> None:
        self.stream = stream
        self.data = b""
        self.eof = False

    def fill(self) -> bool:
        if self.eof:
            return False
        chunk = self.stream.read(_CHUNK)
        if not chunk:
            self.eof = True
            return False
        self.data += chunk
        return True


def iter_records(stream: BinaryIO) -> Iterator[CsvRecord]:
    """Yield every record of a CSV byte stream, including the header, with line numbers."""
    buf = _Buffer(stream)
    buf.fill()
    if buf.data.startswith(BOM):
        buf.data = buf.data[len(BOM) :]
    line = 1
    while True:
        if not buf.data and not buf.fill():
            return
        record, consumed = _next_record(buf, line)
        line += _newlines(buf.data[:consumed])
        buf.data = buf.data[consumed:]
        yield record


def _next_record(buf: _Buffer, line: int) -> tuple[CsvRecord, int]:
    """Parse one record at the start of buf.data; returns it and the bytes consumed."""
    fields: list[bytes | None] = []
    pos = 0
    error: str | None = None
    while True:
        data = buf.data
        if pos < len(data) and data[pos : pos + 1] == b'"':
            m = _QUOTED.match(data, pos)
            # a closing quote at the very end of the buffer may be the first of a `""` pair
            while (m is None or m.end() == len(data)) and buf.fill():
                data = buf.data
                m = _QUOTED.match(data, pos)
            if m is None:
                error = "unterminated quoted field"
                end = len(data)
                return CsvRecord(line, fields, data[:end], error), end
            fields.append(m.group(1).replace(b'""', b'"'))
            pos = m.end()
        else:
            m = _UNQUOTED.match(data, pos)
            assert m is not None  # the pattern matches the empty string
            while m.end() == len(data) and buf.fill():
                data = buf.data
                m = _UNQUOTED.match(data, pos)
            value = m.group(0)
            pos = m.end()
            if pos < len(data) and data[pos : pos + 1] == b'"':
                # a quote inside an unquoted field: keep reading to the line end, flag it
                error = "quote character inside an unquoted field"
                stop = _line_end(buf, pos)
                value = data[m.start() : stop] if stop is not None else data[m.start() :]
                pos = stop if stop is not None else len(buf.data)
            fields.append(value if value else None)
        data = buf.data
        if pos >= len(data) and not buf.fill():
            return CsvRecord(line, fields, data[:pos], error), pos
        data = buf.data
        ch = data[pos : pos + 1]
        if ch == b",":
            pos += 1
            continue
        if ch in (b"\r", b"\n"):
            raw = data[:pos]
            if ch == b"\r":
                if pos + 1 >= len(data):
                    buf.fill()
                    data = buf.data
                if data[pos + 1 : pos + 2] == b"\n":
                    pos += 1
            return CsvRecord(line, fields, raw, error), pos + 1
        # text right after a closing quote, e.g. "ab"c
        error = error or "characters after a closing quote"
        stop = _line_end(buf, pos)
        stop = stop if stop is not None else len(buf.data)
        return CsvRecord(line, fields, buf.data[:stop], error), _skip_terminator(buf, stop)


def _line_end(buf: _Buffer, pos: int) -> int | None:
    while True:
        m = re.compile(rb"[\r\n]").search(buf.data, pos)
        if m:
            return m.start()
        if not buf.fill():
            return None


def _skip_terminator(buf: _Buffer, pos: int) -> int:
    data = buf.data
    if data[pos : pos + 2] == b"\r\n":
        return pos + 2
    if data[pos : pos + 1] in (b"\r", b"\n"):
        return pos + 1
    return pos
