"""Reading members out of a ZIP archive safely: streamed, counted, never extracted.

Member names are only ever used to *match* a member (by base name) — nothing is written with
them, so `../x.csv` or `/etc/x.csv` cannot write anywhere. Every member is read through
`limits.LimitedReader`, which counts decompressed bytes against the backup's total budget and
the member's compression ratio (compressed bytes consumed, as zipfile reads them); a corrupt
or truncated archive or member raises `BackupError` naming the object and member.
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from collections.abc import Callable
from typing import BinaryIO

from marina_assets.parsing.events import BackupError
from marina_assets.parsing.limits import Budget, LimitedReader


def open_zip(stream: BinaryIO, object_name: str) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(stream)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError) as e:
        raise BackupError(f"{object_name}: not a readable ZIP archive ({e})") from e


def member_stem(info: zipfile.ZipInfo) -> tuple[str, str]:
    """(base name without extension, lower-case extension) of a member, whatever its folders."""
    base = posixpath.basename(info.filename.replace("\\", "/"))
    stem, ext = posixpath.splitext(base)
    return stem, ext.lower()


def member_opener(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, object_name: str, budget: Budget
) -> Callable[[], BinaryIO]:
    where = f"{object_name}:{info.filename}"
    if info.flag_bits & 0x1:
        raise BackupError(f"{where}: member is encrypted")
    if info.file_size > budget.limits.max_bytes:
        raise BackupError(
            f"{where}: declared size {info.file_size:,} exceeds the limit "
            f"of {budget.limits.max_bytes:,} bytes"
        )

    def open_member() -> BinaryIO:
        try:
            inner = archive.open(info)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, NotImplementedError, ValueError) as e:
            raise BackupError(f"{where}: corrupt or unreadable member ({e})") from e

        def consumed() -> int:
            left = getattr(inner, "_compress_left", None)
            return info.compress_size - left if isinstance(left, int) else info.compress_size

        # zipfile reads as many compressed bytes as output was asked for: small steps keep the
        # count of compressed bytes consumed close to the truth, so a bomb is caught early
        return LimitedReader(inner, consumed, budget, where, step=32 << 10)  # type: ignore[return-value]

    return open_member
