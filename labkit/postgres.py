"""A throwaway Postgres cluster in a temporary directory, with the benchmark database as roles/postgres
creates it (schema and rows from roles/postgres/files/hello_world.sql, pg_stat_statements preloaded), and the
lookup type's demo_data (labkit/demo_data.py)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from . import demo_data
from .paths import REPO
from .processes import free_port, held_session

SCHEMA_SQL = REPO / "roles" / "postgres" / "files" / "hello_world.sql"


def _pg_bin() -> Path:
    """The newest Postgres the distribution installed (Debian/Ubuntu: /usr/lib/postgresql/<major>/bin), or
    LAB_TEST_PG_BIN: the major version is discovered, never assumed."""
    if os.environ.get("LAB_TEST_PG_BIN"):
        return Path(os.environ["LAB_TEST_PG_BIN"])
    found = sorted(
        (path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda bin_dir: int(bin_dir.parent.name) if bin_dir.parent.name.isdigit() else 0,
    )
    return found[-1] if found else Path("/usr/lib/postgresql/(none installed)/bin")


PG_BIN = _pg_bin()
DB_NAME = "hello_world"
DB_USER = "benchmarkdbuser"


def as_postgres(*cmd: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command as the postgres user when we are root (initdb refuses root)."""
    argv = [str(c) for c in cmd]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)


@dataclass
class PostgresCluster:
    """A cluster in a temporary directory: TCP on 127.0.0.1:<port> and [::1]:<port>, a unix socket there."""

    engine: ClassVar[str] = "postgres"
    root: Path
    port: int
    password: str
    password_file: Path
    host: str = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def client(self, db: str = DB_NAME) -> list[str]:
        """psql as the superuser over the unix socket, connected to db."""
        return ["psql", "-h", str(self.socket_dir), "-p", str(self.port), "-U", "postgres", "-d", db]

    def psql(self, sql: str, db: str = DB_NAME) -> str:
        """Run SQL as the superuser over the unix socket; returns unaligned, tuples-only output."""
        out = subprocess.run(
            [*self.client(db), "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-c", sql],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return out.stdout.strip()

    def world_write_lock(self) -> contextlib.AbstractContextManager[Callable[[], None]]:
        """Holds an EXCLUSIVE lock on world (reads go on, writes wait) until release() or the block ends."""
        psql = [*self.client(), "-X", "-q", "-v", "ON_ERROR_STOP=1"]
        return held_session(psql, "BEGIN;\nLOCK TABLE world IN EXCLUSIVE MODE;\n\\echo locked\n", ["locked"])

    def worlds(self) -> dict[int, int]:
        rows = self.psql("SELECT id, randomnumber FROM world")
        return {int(i): int(r) for i, r in (line.split("|") for line in rows.splitlines())}

    def env(self, pool_size: int, mode: str) -> dict[str, str]:
        return {
            "LAB_DB_HOST": self.host,
            "LAB_DB_PORT": str(self.port),
            "LAB_DB_NAME": DB_NAME,
            "LAB_DB_USER": DB_USER,
            "LAB_DB_PASSWORD_FILE": str(self.password_file),
            "LAB_DB_POOL_SIZE": str(pool_size),
            "LAB_DB_MODE": mode,
        }


@contextlib.contextmanager
def postgres_cluster(demo_rows: int = demo_data.ROWS) -> Iterator[PostgresCluster]:
    root = Path(tempfile.mkdtemp(prefix="lab-pg-"))
    cluster = PostgresCluster(
        root=root, port=free_port(), password=secrets.token_urlsafe(24), password_file=root / "db_password"
    )
    cluster.socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(cluster.socket_dir, "postgres")
    # The password file belongs to the app user (us), not to postgres.
    fd = os.open(cluster.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(cluster.password + "\n")
    started = False
    try:
        as_postgres(
            PG_BIN / "initdb", "-D", cluster.data_dir, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        options = (
            # ::1 too, for the tests of an IPv6 lab address (initdb's pg_hba admits ::1/128); where the
            # machine has no ::1, Postgres warns and listens on 127.0.0.1 alone.
            f"-c port={cluster.port} -c listen_addresses=127.0.0.1,::1"
            f" -c unix_socket_directories={cluster.socket_dir}"
            " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
            " -c max_connections=200 -c synchronous_commit=off -c fsync=off"
        )
        as_postgres(
            PG_BIN / "pg_ctl", "-D", cluster.data_dir, "-l", cluster.root / "postgres.log", "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        started = True
        cluster.psql(f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{cluster.password}'", db="postgres")
        cluster.psql(f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}", db="postgres")
        # pg_stat_statements is not a trusted extension: the superuser creates it, the owner loads the rest.
        cluster.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", cluster.host, "-p", str(cluster.port),
             "-U", DB_USER, "-d", DB_NAME, "-f", str(SCHEMA_SQL)],
            check=True, capture_output=True, text=True, env={**os.environ, "PGPASSWORD": cluster.password},
        )  # fmt: skip
        # Loaded by the superuser, then owned like world: by the apps' role, the database's owner here.
        demo_data.load(cluster.engine, cluster.client(), demo_rows)
        cluster.psql(f"ALTER TABLE {demo_data.TABLE} OWNER TO {DB_USER}")
        yield cluster
    finally:
        if started:
            _stop_postgres(cluster)
        shutil.rmtree(root, ignore_errors=True)


def _stop_postgres(cluster: PostgresCluster) -> None:
    pid_file = cluster.data_dir / "postmaster.pid"
    pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
    try:
        as_postgres(PG_BIN / "pg_ctl", "-D", cluster.data_dir, "-m", "fast", "-w", "-t", "30", "stop")
    except subprocess.CalledProcessError:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
