"""A throwaway MariaDB in a temporary directory, with the benchmark database as roles/mariadb creates it: the
tables' definitions, TFB's rows and the apps' rights are the role's own (vars/main.yml and its filter plugin),
performance_schema on, benchmarkdbuser identified by the hash of a generated password; and the lookup type's
demo_data (labkit/demo_data.py), loaded before the rights are granted.

The MySQL counterpart of labkit/postgres.py: mariadbd from Debian's mariadb-server-core, started with a
--defaults-file of its own (its socket, a free port on 127.0.0.1, no binary log), never the distribution's
configuration, data directory or service. The superuser is the caller's own account over the socket
(unix_socket authentication, as mariadb-install-db creates it), driven with the mariadb client.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import yaml

from roles.mariadb.filter_plugins.mariadb_settings import (
    mariadb_fortune_data,
    mariadb_native_hash,
    mariadb_world_data,
)

from . import demo_data
from .paths import REPO
from .processes import free_port, held_session, stop_process_group

MARIADBD = Path(os.environ.get("LAB_TEST_MARIADBD", "/usr/sbin/mariadbd"))
INSTALL_DB = "mariadb-install-db"
CLIENT = "mariadb"
DB_NAME = "hello_world"
DB_USER = "benchmarkdbuser"
HOST = "127.0.0.1"
ROLE_VARS: dict[str, Any] = yaml.safe_load(
    (REPO / "roles" / "mariadb" / "vars" / "main.yml").read_text(encoding="utf-8")
)
# {table: its columns}, {table: [rights]}: the role's, so the tests run on the lab's schema and rights.
TABLES: dict[str, str] = ROLE_VARS["_mariadb_tables"]
APP_PRIVILEGES: dict[str, list[str]] = ROLE_VARS["_mariadb_app_privileges"]


def available() -> str:
    """What of the server and client binaries is missing ("" when nothing is)."""
    missing = [str(MARIADBD)] if not MARIADBD.exists() else []
    missing += [tool for tool in (INSTALL_DB, CLIENT) if shutil.which(tool) is None]
    return ", ".join(missing)


@dataclass
class MariaDB:
    """A server in a temporary directory: TCP on 127.0.0.1:<port>, a unix socket there."""

    engine: ClassVar[str] = "mysql"
    root: Path
    port: int
    password: str
    password_file: Path
    host: str = HOST

    @property
    def defaults_file(self) -> Path:
        return self.root / "my.cnf"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket(self) -> Path:
        return self.root / "mariadb.sock"

    @property
    def error_log(self) -> Path:
        return self.root / "error.log"

    def client(self, *args: str) -> list[str]:
        """The mariadb client as the superuser over the socket, tab-separated output without headers."""
        # utf8mb4 whatever the locale: with LANG=C the client would send the fortunes' UTF-8 as latin1.
        return [
            CLIENT, f"--defaults-file={self.defaults_file}", "--default-character-set=utf8mb4", "--batch",
            "--skip-column-names", *args,
        ]  # fmt: skip

    def sql(self, sql: str, db: str = "") -> str:
        """Run SQL as the superuser; returns the output, one row a line, columns separated by tabs.

        Without db the session has no default schema, so its statements stay out of performance_schema's
        counts for hello_world.
        """
        out = subprocess.run(
            self.client(*([db] if db else []), "-e", sql), check=True, capture_output=True, text=True
        )
        return out.stdout.strip()

    def world_row_locks(self) -> contextlib.AbstractContextManager[Callable[[], None]]:
        """Holds a row lock on every row of world (SELECT ... FOR UPDATE in an open transaction): reads go on,
        writes wait, until release() or the block ends."""
        begin = "BEGIN;\nSELECT COUNT(*) FROM world FOR UPDATE;\nSELECT 'locked';\n"
        return held_session(self.client("--unbuffered", DB_NAME), begin, ["10000", "locked"])

    def worlds(self) -> dict[int, int]:
        rows = self.sql(f"SELECT id, randomNumber FROM {DB_NAME}.world")
        return {int(i): int(r) for i, r in (line.split("\t") for line in rows.splitlines())}

    def env(self, pool_size: int, mode: str) -> dict[str, str]:
        return {
            "LAB_DB_ENGINE": self.engine,
            "LAB_DB_HOST": self.host,
            "LAB_DB_PORT": str(self.port),
            "LAB_DB_NAME": DB_NAME,
            "LAB_DB_USER": DB_USER,
            "LAB_DB_PASSWORD_FILE": str(self.password_file),
            "LAB_DB_POOL_SIZE": str(pool_size),
            "LAB_DB_MODE": mode,
        }


def _settings(server: MariaDB) -> str:
    # As root, mariadbd runs only when told to (the role runs it as its own system user).
    user = "user = root\n" if os.geteuid() == 0 else ""
    return f"""[mysqld]
{user}datadir = {server.data_dir}
socket = {server.socket}
pid_file = {server.root / "mariadb.pid"}
log_error = {server.error_log}
port = {server.port}
bind_address = {server.host}
skip_name_resolve = ON
max_connections = 300
innodb_buffer_pool_size = 128M
innodb_flush_log_at_trx_commit = 2
skip_log_bin
performance_schema = ON
character_set_server = utf8mb4
collation_server = utf8mb4_unicode_ci
skip_ssl
local_infile = OFF

[client]
socket = {server.socket}
port = {server.port}
"""


def _schema(server: MariaDB) -> str:
    """The database as roles/mariadb's tasks/data.yml leaves it, in SQL, but the apps' rights (_grants)."""
    account = f"'{DB_USER}'@'{server.host}'"
    statements = [
        f"CREATE DATABASE {DB_NAME} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci",
        f"USE {DB_NAME}",
        *(
            f"CREATE TABLE `{table}` ({columns})"
            " ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci"
            for table, columns in TABLES.items()
        ),
        mariadb_world_data("world")["insert"],
        "INSERT INTO `World` (id, randomNumber) SELECT id, randomNumber FROM `world`",
        mariadb_fortune_data("fortune")["insert"],
        mariadb_fortune_data("Fortune")["insert"],
        # Only the hash reaches the server, as from the role.
        f"CREATE USER {account} IDENTIFIED BY PASSWORD '{mariadb_native_hash(server.password)}'",
    ]
    return ";\n".join(statements) + ";\n"


def _grants(server: MariaDB) -> str:
    """The apps' rights, table by table: granted once every table exists (MariaDB refuses a grant on a table
    it does not have, and demo_data is loaded after the schema)."""
    account = f"'{DB_USER}'@'{server.host}'"
    return "".join(
        f"GRANT {', '.join(rights)} ON {DB_NAME}.`{table}` TO {account};\n"
        for table, rights in APP_PRIVILEGES.items()
    )


def _wait_until_serving(server: MariaDB, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            log = server.error_log.read_text(errors="replace") if server.error_log.exists() else ""
            raise RuntimeError(f"mariadbd exited with {process.returncode}:\n{log[-3000:]}")
        probe = subprocess.run(server.client("-e", "SELECT 1"), capture_output=True, text=True)
        if probe.returncode == 0:
            return
        time.sleep(0.2)
    raise RuntimeError(f"mariadbd did not answer within {timeout}s (log: {server.error_log})")


@contextlib.contextmanager
def mariadb_server(demo_rows: int = demo_data.ROWS) -> Iterator[MariaDB]:
    root = Path(tempfile.mkdtemp(prefix="lab-mariadb-"))
    server = MariaDB(
        root=root, port=free_port(), password=secrets.token_urlsafe(24), password_file=root / "db_password"
    )
    fd = os.open(server.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(server.password + "\n")
    server.defaults_file.write_text(_settings(server))
    process: subprocess.Popen[bytes] | None = None
    try:
        subprocess.run(
            [INSTALL_DB, f"--defaults-file={server.defaults_file}",
             "--auth-root-authentication-method=socket", "--skip-test-db"],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        with open(root / "mariadbd.out", "wb") as out:
            process = subprocess.Popen(
                [MARIADBD, f"--defaults-file={server.defaults_file}"],
                stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        _wait_until_serving(server, process)
        subprocess.run(server.client(), input=_schema(server), check=True, capture_output=True, text=True)
        demo_data.load(server.engine, server.client(DB_NAME), demo_rows)
        subprocess.run(server.client(), input=_grants(server), check=True, capture_output=True, text=True)
        yield server
    finally:
        if process is not None:
            # SIGTERM is mariadbd's clean shutdown; InnoDB may take a while to flush.
            stop_process_group(process, grace_s=60)
        shutil.rmtree(root, ignore_errors=True)
