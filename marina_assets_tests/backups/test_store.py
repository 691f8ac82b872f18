"""Backup stores through real parts: a local folder and S3 through moto's HTTP server."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import boto3
import pytest
from moto.server import ThreadedMotoServer

from marina_assets.backups.naming import parse_name
from marina_assets.backups.store import LocalBackupStore, S3BackupStore
from marina_assets.catalog import system
from marina_assets.sample_data import generate, write_snapshots

MOLO = system("MOLO")
STELLAR = system("STELLAR")


@pytest.mark.parametrize(
    ("code", "name", "expected"),
    [
        ("MOLO", "molo_backup_2025-11-17_08-30-00.zip", (date(2025, 11, 17), datetime(2025, 11, 17, 8, 30))),
        (
            "STELLAR",
            "x/prod_resilient_2025-11-17_05_00-DATA.sql.gz",
            (date(2025, 11, 17), datetime(2025, 11, 17, 5)),
        ),
        (
            "NS",
            "netsuite_export_2025-11-17_06-30-15.zip",
            (date(2025, 11, 17), datetime(2025, 11, 17, 6, 30, 15)),
        ),
        ("MOLO", "molo_backup_2025-11-17.zip", None),
        ("MOLO", "prod_resilient_2025-11-17_05_00-DATA.sql.gz", None),
        ("MOLO", "molo_backup_2025-02-30_08-30-00.zip", None),
    ],
)
def test_object_names(code: str, name: str, expected: tuple | None) -> None:
    assert parse_name(system(code), name) == expected


def test_local_store_latest_object_of_a_date_wins(tmp_path: Path) -> None:
    (tmp_path / "2025").mkdir()
    for name in (
        "molo_backup_2025-11-17_06-15-00.zip",
        "2025/molo_backup_2025-11-17_09-00-00.zip",  # later the same day, in a sub-folder
        "molo_backup_2025-11-18_06-15-00.zip",
        "prod_resilient_2025-11-17_05_00-DATA.sql.gz",
        "notes.txt",
    ):
        (tmp_path / name).write_bytes(name.encode())
    store = LocalBackupStore(root=str(tmp_path))
    assert [o.key for o in store.list_objects("MOLO")] == [
        "2025/molo_backup_2025-11-17_09-00-00.zip",
        "molo_backup_2025-11-17_06-15-00.zip",
        "molo_backup_2025-11-18_06-15-00.zip",
    ]
    latest = store.latest("MOLO", date(2025, 11, 17))
    assert latest is not None and latest.key == "2025/molo_backup_2025-11-17_09-00-00.zip"
    with store.open(latest) as f:
        assert f.read() == b"2025/molo_backup_2025-11-17_09-00-00.zip"
    assert store.latest("MOLO", date(2025, 11, 19)) is None
    assert [o.system for o in store.list_objects("STELLAR")] == ["STELLAR"]


@pytest.fixture()
def s3_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    for k, v in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(k, v)
    yield f"http://{host}:{port}"
    server.stop()


@pytest.mark.integration
def test_s3_store_lists_and_streams_generated_backups(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    s3 = boto3.client("s3", endpoint_url=s3_endpoint)
    for bucket in ("backups", "resilient-ims-backups"):
        s3.create_bucket(Bucket=bucket)
    monkeypatch.setenv("MARINA_S3_ENDPOINT_URL", s3_endpoint)
    snaps = list(generate(start=date(2025, 11, 17), days=2, scale=0.01))
    written = write_snapshots(snaps, "s3://backups/nightly")
    assert len(written) == 6
    # a re-upload later the same day wins; the Stellar bucket is separate, as in the legacy layout
    s3.put_object(Bucket="backups", Key="nightly/molo_backup_2025-11-17_23-59-59.zip", Body=b"PK late")
    s3.put_object(
        Bucket="resilient-ims-backups", Key="prod_resilient_2025-11-17_05_00-DATA.sql.gz", Body=b"x"
    )

    store = S3BackupStore(
        bucket="backups", prefix="nightly/", stellar_bucket="resilient-ims-backups", endpoint_url=s3_endpoint
    )
    molo = store.list_objects("MOLO")
    assert sorted(o.key for o in molo) == [
        "nightly/molo_backup_2025-11-17_06-15-00.zip",
        "nightly/molo_backup_2025-11-17_23-59-59.zip",
        "nightly/molo_backup_2025-11-18_06-15-00.zip",
    ]
    assert all(o.etag and o.size > 0 for o in molo)
    assert store.latest("MOLO", date(2025, 11, 17)).key.endswith("23-59-59.zip")
    day2 = store.latest("MOLO", date(2025, 11, 18))
    with store.open(day2) as f:
        members = zipfile.ZipFile(io.BytesIO(f.read())).namelist()
    assert {f"{t.source}.csv" for t in MOLO.tables} == set(members)
    assert [o.key for o in store.list_objects("STELLAR")] == ["prod_resilient_2025-11-17_05_00-DATA.sql.gz"]
    assert "testing" not in repr(store)  # credentials are never part of the resource config
