"""The IO manager behind the backup assets: partition key -> the winning object of that date.

It hands the consumer a `BackupHandle`, never parsed data: the staging asset streams the
object through a parser, so a backup is never held in memory whole.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import BinaryIO

import dagster as dg

from marina_assets.backups.naming import BackupObject
from marina_assets.backups.store import BackupStore


@dataclass(frozen=True)
class BackupHandle:
    store: BackupStore
    obj: BackupObject

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        with self.store.open(self.obj) as f:
            yield f


class BackupIOManager(dg.ConfigurableIOManager):
    store: dg.ResourceDependency[BackupStore]

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        raise NotImplementedError("backups are written by the source systems, never by the pipeline")

    def load_input(self, context: dg.InputContext) -> BackupHandle:
        system_code = str(context.upstream_output.definition_metadata["marina/system"])  # type: ignore[union-attr]
        backup_date = date.fromisoformat(context.asset_partition_key)
        obj = self.store.latest(system_code, backup_date)
        if obj is None:
            raise dg.Failure(
                description=f"no {system_code} backup for {backup_date} in {self.store.describe()}",
                allow_retries=False,
            )
        context.log.info(
            f"{system_code} backup for {backup_date}: {obj.key} ({obj.size:,} bytes, etag {obj.etag})"
        )
        context.add_input_metadata({"object": obj.key, "bytes": obj.size, "etag": obj.etag})
        return BackupHandle(self.store, obj)
