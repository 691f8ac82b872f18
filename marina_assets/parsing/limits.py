"""Archive safety: refuse gzip and ZIP bombs while streaming, whatever the headers claim.

Every decompressed byte is counted as it is produced. A stream fails with `BackupError` as
soon as it exceeds the total uncompressed size, or — once past `ratio_floor` bytes, so that a
small, highly repetitive but honest member is not refused — produces more than `max_ratio`
bytes per compressed byte read. Memory stays bounded: nothing is ever decompressed whole.
"""

from __future__ import annotations

import gzip
import io
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import BinaryIO

from isal import isal_zlib

from marina_assets.parsing.events import BackupError

GB = 1_000_000_000
_STEP = 256 << 10  # decompressed bytes per step between two limit checks


@dataclass(frozen=True)
class ArchiveLimits:
    max_bytes: int = 20 * GB  # total uncompressed bytes of one backup object
    max_ratio: float = 200.0  # uncompressed / compressed
    ratio_floor: int = 4 << 20  # the ratio is only judged past this many uncompressed bytes


DEFAULT_LIMITS = ArchiveLimits()


class Budget:
    """Uncompressed bytes spent so far by one backup object (all its members together)."""

    def __init__(self, limits: ArchiveLimits, name: str) -> None:
        self.limits = limits
        self.name = name
        self.spent = 0
        self._lock = threading.Lock()  # members of one ZIP are read by several threads at once

    def spend(self, n: int, where: str) -> None:
        with self._lock:
            self.spent += n
            spent = self.spent
        if spent > self.limits.max_bytes:
            raise BackupError(
                f"{where}: uncompressed size exceeds the limit of {self.limits.max_bytes:,} bytes"
            )

    def check_ratio(self, out_bytes: int, in_bytes: int, where: str) -> None:
        if out_bytes > self.limits.ratio_floor and out_bytes > self.limits.max_ratio * max(in_bytes, 1):
            raise BackupError(
                f"{where}: compression ratio above the limit of {self.limits.max_ratio:g} "
                f"({out_bytes:,} bytes from {in_bytes:,}); refusing a possible archive bomb"
            )


class LimitedReader(io.RawIOBase):
    """A decompressed stream that counts what it yields and enforces `Budget`.

    `inner` reads decompressed bytes; `compressed` returns how many compressed bytes have been
    consumed so far (for the ratio). Decompression errors become `BackupError` naming `where`.
    """

    def __init__(
        self, inner: BinaryIO, compressed: Callable[[], int], budget: Budget, where: str, step: int = _STEP
    ) -> None:
        self.inner = inner
        self.step = step
        self.compressed = compressed
        self.budget = budget
        self.where = where
        self.out = 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        # never read "everything": a bomb would be materialized before it is counted; read in
        # small steps so the compressed bytes consumed (the ratio's denominator) stay exact
        size = 1 << 20 if size is None or size < 0 else min(size, 8 << 20)
        parts: list[bytes] = []
        got = 0
        while got < size:
            data = self._step(min(self.step, size - got))
            if not data:
                break
            parts.append(data)
            got += len(data)
        return parts[0] if len(parts) == 1 else b"".join(parts)

    def _step(self, n: int) -> bytes:
        try:
            data = self.inner.read(n)
        except BackupError:
            raise
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as e:
            raise BackupError(f"{self.where}: compressed stream is corrupt or truncated ({e})") from e
        except Exception as e:  # zipfile.BadZipFile (CRC) and friends
            if type(e).__name__ in ("BadZipFile", "LargeZipFile"):
                raise BackupError(f"{self.where}: corrupt member ({e})") from e
            raise
        n = len(data)
        self.out += n
        self.budget.spend(n, self.where)
        self.budget.check_ratio(self.out, self.compressed(), self.where)
        return data

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)

    def close(self) -> None:
        try:
            self.inner.close()
        finally:
            super().close()


class _GzipStream(io.RawIOBase):
    """gzip (multi-member) decompression with ISA-L's zlib-compatible inflate (about twice as
    fast as zlib, same checks), fed in small compressed pieces so the number of compressed
    bytes consumed is known exactly. A stream that ends inside a member is an error, as is a
    damaged member (each member's CRC and size are checked)."""

    def __init__(self, raw: BinaryIO, name: str) -> None:
        self.raw = raw
        self.name = name
        self.d = isal_zlib.decompressobj(31)
        self.previous = 0  # compressed bytes of finished members
        self.fed = 0  # compressed bytes handed to the current member's decompressor
        self.started = False
        self.done = False

    def readable(self) -> bool:
        return True

    @property
    def consumed(self) -> int:
        return self.previous + self.fed - len(self.d.unconsumed_tail) - len(self.d.unused_data)

    def _more(self) -> bytes:
        data = self.raw.read(64 << 10)
        self.fed += len(data)
        return data

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        size = _STEP if size is None or size < 0 else size
        while not self.done:
            if self.d.eof:  # a member ended: another may follow
                rest = self.d.unused_data
                self.previous += self.fed - len(rest)
                self.fed = len(rest)
                self.d = isal_zlib.decompressobj(31)
                data = rest or self._more()
                if not data or (data.strip(b"\0") == b"" and not self.raw.read(1)):
                    self.done = True  # the end, or zero padding after the last member (gzip(1) allows it)
                    break
            elif self.d.unconsumed_tail:
                data = self.d.unconsumed_tail
            else:
                data = self._more()
                if not data:
                    if not self.started:
                        self.done = True  # an empty file: no data; the parser decides if that is fine
                        break
                    raise BackupError(
                        f"{self.name}: compressed stream is corrupt or truncated (member not finished)"
                    )
            self.started = True
            try:
                out = self.d.decompress(data, size)
            except (zlib.error, isal_zlib.error) as e:
                raise BackupError(f"{self.name}: compressed stream is corrupt or truncated ({e})") from e
            if out:
                return out
        return b""


def open_gzip(stream: BinaryIO, name: str, limits: ArchiveLimits = DEFAULT_LIMITS) -> LimitedReader:
    """Decompress a (possibly multi-member) gzip stream under `limits`."""
    gz = _GzipStream(stream, name)
    return LimitedReader(gz, lambda: gz.consumed, Budget(limits, name), name)  # type: ignore[arg-type]


class _Prefixed(io.RawIOBase):
    """`head` (already read to sniff the format) followed by the rest of `stream`."""

    def __init__(self, head: bytes, stream: BinaryIO) -> None:
        self.head = head
        self.stream = stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if self.head:
            out = self.head if size is None or size < 0 else self.head[:size]
            self.head = self.head[len(out) :]
            return out
        return self.stream.read(size)

    def readinto(self, b: memoryview) -> int:  # type: ignore[override]
        data = self.read(len(b))
        b[: len(data)] = data
        return len(data)


GZIP_MAGIC = b"\x1f\x8b"


def open_maybe_gzip(stream: BinaryIO, name: str, limits: ArchiveLimits = DEFAULT_LIMITS) -> BinaryIO:
    """Decompress under `limits` when the stream is gzip (by its magic bytes), else pass it on."""
    head = stream.read(2)
    joined = _Prefixed(head, stream)
    if head != GZIP_MAGIC and name.lower().endswith(".gz"):
        raise BackupError(f"{name}: not gzip data (the name ends in .gz); corrupt or mislabelled")
    if head == GZIP_MAGIC:
        return open_gzip(joined, name, limits)  # type: ignore[arg-type]
    return joined  # type: ignore[return-value]


class ThreadedReader(io.RawIOBase):
    """Reads `inner` in a background thread, a few chunks ahead, so decompression (ISA-L
    releases the GIL) overlaps with parsing. Memory: at most `depth` chunks in flight."""

    def __init__(self, inner: BinaryIO, chunk: int = 1 << 20, depth: int = 8) -> None:
        import queue
        import threading

        self.inner = inner
        self.chunk = chunk
        self.queue: queue.Queue = queue.Queue(maxsize=depth)
        self.pending = b""
        self.done = False
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="marina-decompress", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        try:
            while not self.stop.is_set():
                data = self.inner.read(self.chunk)
                self.queue.put(data)
                if not data:
                    return
        except BaseException as e:  # handed to the reading thread, raised there
            self.queue.put(e)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:  # type: ignore[override]
        if self.pending:
            out, self.pending = self.pending, b""
            return out
        if self.done:
            return b""
        item = self.queue.get()
        if isinstance(item, BaseException):
            self.done = True
            raise item
        if not item:
            self.done = True
        return item

    def close(self) -> None:
        self.stop.set()
        while self.thread.is_alive():  # unblock a producer waiting on a full queue
            try:
                self.queue.get_nowait()
            except Exception:
                self.thread.join(0.01)
        super().close()
