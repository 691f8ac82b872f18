"""Oracle (Autonomous Database) through python-oracledb in THIN mode: no Instant Client.

Connection settings come from the environment when a connection opens (`oracle_settings_from_env`),
never from Dagster config: `MARINA_ORACLE_USER`, `MARINA_ORACLE_PASSWORD`, `MARINA_ORACLE_DSN`
(a TNS alias from `tnsnames.ora` or a full TLS connect descriptor) and, for a wallet (mTLS),
`MARINA_ORACLE_CONFIG_DIR`, `MARINA_ORACLE_WALLET_LOCATION`, `MARINA_ORACLE_WALLET_PASSWORD`.
A walletless TLS DSN needs only the first three.

Bulk loads hand Arrow data straight to `executemany` (python-oracledb's data frame ingestion)
with `batcherrors=True`: a row the server refuses does not abort the load; it comes back with
its offset and the loader quarantines it in MARINA_REJECTS. The per-date merge runs inside the
database as the generated procedure SP_MERGE_<TABLE> (`merges_in_database`).
"""

from __future__ import annotations

import decimal
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from marina_assets.warehouse.backend import Params, RowError, Warehouse
from marina_assets.warehouse.dialects import ORACLE

# batch errors are reported with 16-bit counters: keep every executemany call below 65535 rows
CHUNK_ROWS = 50_000


@dataclass(frozen=True)
class OracleSettings:
    user: str
    dsn: str
    config_dir: str | None = None
    wallet_location: str | None = None
    # the password and wallet password are NOT fields: read at connect time, never stored

    def describe(self) -> str:
        """What may be logged: user and DSN alias, no secret."""
        return f"{self.user}@{self.dsn}"


def oracle_settings_from_env() -> OracleSettings:
    missing = [
        n
        for n in ("MARINA_ORACLE_USER", "MARINA_ORACLE_PASSWORD", "MARINA_ORACLE_DSN")
        if not os.environ.get(n)
    ]
    if missing:
        raise ConnectionError(f"Oracle warehouse selected but {', '.join(missing)} not set")
    return OracleSettings(
        user=os.environ["MARINA_ORACLE_USER"],
        dsn=os.environ["MARINA_ORACLE_DSN"],
        config_dir=os.environ.get("MARINA_ORACLE_CONFIG_DIR") or None,
        wallet_location=os.environ.get("MARINA_ORACLE_WALLET_LOCATION") or None,
    )


def connect_kwargs(s: OracleSettings) -> dict[str, Any]:
    """Keyword arguments for `oracledb.connect`, secrets taken from the environment now."""
    kw: dict[str, Any] = {"user": s.user, "password": os.environ.get("MARINA_ORACLE_PASSWORD"), "dsn": s.dsn}
    if s.config_dir:
        kw["config_dir"] = s.config_dir
    if s.wallet_location:
        kw["wallet_location"] = s.wallet_location
        kw["wallet_password"] = os.environ.get("MARINA_ORACLE_WALLET_PASSWORD")
    return kw


def oracle_ready(batch: pa.Table) -> pa.Table:
    """Arrow columns as Oracle ingests them: booleans become NUMBER(1) 0/1."""
    cols = [pc.cast(c, pa.int8()) if pa.types.is_boolean(c.type) else c for c in batch.columns]
    return pa.Table.from_arrays(cols, names=batch.column_names)


def _output_type_handler(cursor: Any, metadata: Any) -> Any:
    import oracledb

    if metadata.type_code is oracledb.DB_TYPE_NUMBER and (metadata.scale or 0) > 0:
        return cursor.var(decimal.Decimal, arraysize=cursor.arraysize)
    if metadata.type_code is oracledb.DB_TYPE_DATE:
        return cursor.var(
            oracledb.DB_TYPE_DATE, arraysize=cursor.arraysize, outconverter=lambda v: v.date() if v else v
        )
    return None


class OracleWarehouse(Warehouse):
    dialect = ORACLE
    merges_in_database = True

    def __init__(self, settings: OracleSettings, *, connection: Any = None) -> None:
        self.settings = settings
        if connection is None:
            import oracledb  # thin mode: init_oracle_client() is never called

            try:
                connection = oracledb.connect(**connect_kwargs(settings))
            except oracledb.Error as e:
                raise ConnectionError(f"cannot connect to Oracle as {settings.describe()}: {e}") from None
        self.con = connection
        # NUMBER(p,s) back as Decimal and DATE as date, as the other engines return them
        self.con.outputtypehandler = _output_type_handler
        self._in_txn = False
        self._row_errors: list[RowError] = []

    def execute(self, sql: str, params: Params = None) -> int:
        with self.con.cursor() as cur:
            cur.execute(sql, dict(params or {}))
            return int(cur.rowcount)

    def fetchall(self, sql: str, params: Params = None) -> list[tuple[Any, ...]]:
        with self.con.cursor() as cur:
            cur.execute(sql, dict(params or {}))
            return [tuple(r) for r in cur.fetchall()]

    def insert_arrow(self, table_name: str, batch: pa.RecordBatch, constants: dict[str, Any]) -> int:
        n = batch.num_rows
        if not n:
            return 0
        arrays = [*batch.columns, *(pa.repeat(pa.scalar(v), n) for v in constants.values())]
        names = [*batch.schema.names, *constants]
        data = oracle_ready(pa.Table.from_arrays(arrays, names=names))
        marks = ", ".join(f":{i + 1}" for i in range(len(names)))
        sql = f"INSERT INTO {table_name} ({', '.join(names)}) VALUES ({marks})"
        refused = 0
        with self.con.cursor() as cur:
            for start in range(0, n, CHUNK_ROWS):
                cur.executemany(sql, data.slice(start, CHUNK_ROWS), batcherrors=True)
                for err in cur.getbatcherrors():
                    self._row_errors.append(RowError(start + int(err.offset), str(err.message).strip()))
                    refused += 1
        return n - refused

    def take_row_errors(self) -> list[RowError]:
        out, self._row_errors = self._row_errors, []
        return out

    def insert_rows(self, table_name: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        if not rows:
            return
        marks = ", ".join(f":{i + 1}" for i in range(len(columns)))
        with self.con.cursor() as cur:
            cur.executemany(f"INSERT INTO {table_name} ({', '.join(columns)}) VALUES ({marks})", list(rows))

    @contextmanager
    def transaction(self) -> Iterator[None]:
        if self._in_txn:
            yield
            return
        self._in_txn = True
        try:
            yield
        except BaseException:
            self.con.rollback()
            raise
        else:
            self.con.commit()
        finally:
            self._in_txn = False

    def existing_columns(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for table_name, column in self.fetchall("SELECT TABLE_NAME, COLUMN_NAME FROM USER_TAB_COLUMNS"):
            out.setdefault(table_name, set()).add(column)
        return out

    def object_status(self, names: Sequence[str]) -> dict[str, tuple[str, str]]:
        """name -> (VALID|INVALID|MISSING, errors) from USER_OBJECTS and USER_ERRORS."""
        status = dict.fromkeys(names, ("MISSING", ""))
        for name, st in self.fetchall("SELECT OBJECT_NAME, STATUS FROM USER_OBJECTS"):
            if name in status:
                status[name] = (st, "")
        for name, line, pos, text in self.fetchall(
            "SELECT NAME, LINE, POSITION, TEXT FROM USER_ERRORS ORDER BY NAME, SEQUENCE"
        ):
            if name in status:
                st, errs = status[name]
                status[name] = (st, f"{errs}line {line}:{pos} {text.strip()}\n")
        return status

    def close(self) -> None:
        self.con.close()
