"""Where backups are read from: a local folder (the embedded default) or an S3 bucket.

Both implement `BackupStore`: list one system's backup objects and open one for streaming.
S3 goes through dagster-aws's `S3Resource`, so any S3-compatible endpoint works; credentials
come from the standard AWS environment/instance chain and are never part of the config.
"""

import os
import tempfile
from abc import abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

import dagster as dg

from marina_assets.backups.naming import BackupObject, latest_per_date, parse_name
from marina_assets.catalog import system as catalog_system


class BackupStore(dg.ConfigurableResource):
    @abstractmethod
    def list_objects(self, system_code: str) -> list[BackupObject]: ...

    @abstractmethod
    @contextmanager
    def open(self, obj: BackupObject) -> Iterator[BinaryIO]:
        """A seekable binary stream over the object (ZIP needs random access)."""

    @abstractmethod
    def describe(self) -> str: ...

    def latest(self, system_code: str, backup_date: date) -> BackupObject | None:
        return latest_per_date(self.list_objects(system_code)).get(backup_date)


class LocalBackupStore(BackupStore):
    """Backups as files under `root`, in any sub-folder."""

    root: str

    def describe(self) -> str:
        return f"folder {self.root}"

    def list_objects(self, system_code: str) -> list[BackupObject]:
        system = catalog_system(system_code)
        root = Path(self.root)
        if not root.is_dir():
            return []
        out = []
        for path in sorted(root.rglob("*")):
            parsed = parse_name(system, path.name) if path.is_file() else None
            if parsed is None:
                continue
            st = path.stat()
            out.append(
                BackupObject(
                    key=path.relative_to(root).as_posix(),
                    system=system.code,
                    backup_date=parsed[0],
                    taken_at=parsed[1],
                    size=st.st_size,
                    etag=f"{st.st_size}-{st.st_mtime_ns}",
                    last_modified=datetime.fromtimestamp(st.st_mtime, UTC).replace(tzinfo=None),
                )
            )
        return out

    @contextmanager
    def open(self, obj: BackupObject) -> Iterator[BinaryIO]:
        with open(Path(self.root) / obj.key, "rb") as f:
            yield f


class S3BackupStore(BackupStore):
    """Backups in `s3://bucket/prefix`; a system may live in a bucket of its own (legacy layout).

    A per-system location is `bucket` or `bucket/prefix`; it replaces both bucket and prefix.
    """

    bucket: str
    prefix: str = ""
    molo_bucket: str | None = None
    stellar_bucket: str | None = None
    netsuite_bucket: str | None = None
    endpoint_url: str | None = None
    region_name: str | None = None

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def _client(self):
        from dagster_aws.s3 import S3Resource

        return S3Resource(endpoint_url=self.endpoint_url, region_name=self.region_name).get_client()

    def _location(self, system_code: str) -> tuple[str, str]:
        override = {"MOLO": self.molo_bucket, "STELLAR": self.stellar_bucket, "NS": self.netsuite_bucket}
        own = override.get(catalog_system(system_code).code)
        if not own:
            return self.bucket, self.prefix
        bucket, _, prefix = own.partition("/")
        return bucket, prefix

    def list_objects(self, system_code: str) -> list[BackupObject]:
        system = catalog_system(system_code)
        bucket, prefix = self._location(system.code)
        out = []
        pages = self._client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for page in pages:
            for item in page.get("Contents", []):
                parsed = parse_name(system, item["Key"])
                if parsed is None:
                    continue
                out.append(
                    BackupObject(
                        key=item["Key"],
                        system=system.code,
                        backup_date=parsed[0],
                        taken_at=parsed[1],
                        size=int(item["Size"]),
                        etag=str(item["ETag"]).strip('"'),
                        last_modified=item["LastModified"].astimezone(UTC).replace(tzinfo=None),
                    )
                )
        return out

    @contextmanager
    def open(self, obj: BackupObject) -> Iterator[BinaryIO]:
        # spooled to a temporary file: bounded memory, and ZIP members need seeking
        with tempfile.TemporaryFile(dir=os.environ.get("MARINA_TMP_DIR")) as tmp:
            self._client().download_fileobj(self._location(obj.system)[0], obj.key, tmp)
            tmp.seek(0)
            yield tmp
