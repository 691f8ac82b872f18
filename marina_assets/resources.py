"""Resources and the environment switches that choose them, in one place.

- Backups: `MARINA_S3_BUCKET` set -> S3 (`MARINA_S3_PREFIX`, `MARINA_S3_ENDPOINT_URL`,
  `AWS_REGION`, per-system `MARINA_S3_BUCKET_MOLO|STELLAR|NETSUITE`); otherwise the local
  folder `$MARINA_HOME/backups`.
- Warehouse: `MARINA_WAREHOUSE` (default `duckdb`, at `$MARINA_HOME/warehouse.duckdb`);
  `postgres` reads `MARINA_POSTGRES_DSN`, `oracle` reads `MARINA_ORACLE_USER`,
  `MARINA_ORACLE_PASSWORD`, `MARINA_ORACLE_DSN` and optionally `MARINA_ORACLE_CONFIG_DIR`,
  `MARINA_ORACLE_WALLET_LOCATION`, `MARINA_ORACLE_WALLET_PASSWORD`. Those are read from the
  environment when a connection opens, so no secret is ever part of the resource config.
"""

import os
from collections.abc import Callable

import dagster as dg

from marina_assets import settings
from marina_assets.backups.store import BackupStore, LocalBackupStore, S3BackupStore
from marina_assets.warehouse.backend import Warehouse
from marina_assets.warehouse.duckdb_backend import DuckDBWarehouse


class WarehouseResource(dg.ConfigurableResource):
    """Opens the configured warehouse engine; one connection per step."""

    backend: str = "duckdb"
    duckdb_path: str = ""

    def open(self) -> Warehouse:
        factory = BACKENDS.get(self.backend)
        if factory is None:
            raise dg.Failure(
                description=f"MARINA_WAREHOUSE={self.backend!r} is not one of {sorted(BACKENDS)}",
                allow_retries=False,
            )
        return factory(self)


def _postgres(_r: WarehouseResource) -> Warehouse:
    from marina_assets.warehouse.postgres_backend import PostgresWarehouse

    return PostgresWarehouse(_required_env("MARINA_POSTGRES_DSN"))


def _oracle(_r: WarehouseResource) -> Warehouse:
    from marina_assets.warehouse.oracle_backend import OracleWarehouse, oracle_settings_from_env

    return OracleWarehouse(oracle_settings_from_env())


def _required_env(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise dg.Failure(description=f"{name} is not set", allow_retries=False)
    return value


BACKENDS: dict[str, Callable[[WarehouseResource], Warehouse]] = {
    "duckdb": lambda r: DuckDBWarehouse(r.duckdb_path or settings.duckdb_path()),
    "postgres": _postgres,
    "oracle": _oracle,
}


def warehouse_backend_name() -> str:
    return os.environ.get("MARINA_WAREHOUSE", "duckdb").strip().lower() or "duckdb"


def warehouse_from_env() -> WarehouseResource:
    return WarehouseResource(backend=warehouse_backend_name(), duckdb_path=str(settings.duckdb_path()))


def backup_store_from_env() -> BackupStore:
    bucket = os.environ.get("MARINA_S3_BUCKET")
    if bucket:
        return S3BackupStore(
            bucket=bucket,
            prefix=os.environ.get("MARINA_S3_PREFIX", ""),
            molo_bucket=os.environ.get("MARINA_S3_BUCKET_MOLO"),
            stellar_bucket=os.environ.get("MARINA_S3_BUCKET_STELLAR"),
            netsuite_bucket=os.environ.get("MARINA_S3_BUCKET_NETSUITE"),
            endpoint_url=os.environ.get("MARINA_S3_ENDPOINT_URL") or os.environ.get("AWS_ENDPOINT_URL"),
            region_name=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION"),
        )
    return LocalBackupStore(root=str(settings.backups_dir()))
