"""A throwaway PostgreSQL cluster for tests, started from the server binaries on the machine.

`initdb` refuses to run as root, so under root the cluster runs as the `postgres` system user
(created by Debian's postgresql package) via `runuser`. The cluster listens on 127.0.0.1 on a
free port with trust authentication and is stopped, by its own pid file, when the session ends.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

PG_BIN = Path(os.environ.get("MARINA_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ClusterUnavailable(RuntimeError):
    pass


@dataclass
class PgCluster:
    root: Path
    port: int
    user: str | None  # system user the server runs as (None: the current user)

    @property
    def dsn(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def dsn_for(self, database: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = list(args)
        if self.user:
            cmd = ["runuser", "-u", self.user, "--", *cmd]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.root / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_cluster() -> PgCluster:
    if not (PG_BIN / "initdb").exists():
        raise ClusterUnavailable(f"PostgreSQL server binaries not found in {PG_BIN}")
    user = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError as e:
            raise ClusterUnavailable(
                "running as root and there is no 'postgres' user to run initdb as"
            ) from e
        user = "postgres"
    root = Path(tempfile.mkdtemp(prefix="marina-pg-"))
    if user:
        shutil.chown(root, user)
    cluster = PgCluster(root=root, port=_free_port(), user=user)
    init = cluster._run(
        str(PG_BIN / "initdb"),
        "-D",
        str(root / "data"),
        "-U",
        "postgres",
        "--auth=trust",
        "-E",
        "UTF8",
        "--no-sync",
    )
    if init.returncode:
        shutil.rmtree(root, ignore_errors=True)
        raise ClusterUnavailable(f"initdb failed: {init.stderr.strip()[:500]}")
    opts = f"-p {cluster.port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100"
    start = cluster._run(
        str(PG_BIN / "pg_ctl"),
        "-D",
        str(root / "data"),
        "-o",
        opts,
        "-l",
        str(root / "server.log"),
        "-w",
        "start",
    )
    if start.returncode:
        log = (root / "server.log").read_text() if (root / "server.log").exists() else ""
        shutil.rmtree(root, ignore_errors=True)
        raise ClusterUnavailable(f"pg_ctl start failed: {start.stderr.strip()[:300]} {log[-500:]}")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", cluster.port)) == 0:
                return cluster
        time.sleep(0.1)
    cluster.stop()
    raise ClusterUnavailable("PostgreSQL did not start listening within 30 s")
