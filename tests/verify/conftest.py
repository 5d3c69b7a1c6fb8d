"""Fixtures of the verifier tests: throwaway Postgres and MariaDB per session, broken servers on demand."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from analysis.verify.recorder import CLIENT_FLAGS, Client
from analysis.verify.sql import SESSION_SETUP, statements
from labkit.apps import ensure_venv
from labkit.mariadb import DB_NAME as MARIADB_DB_NAME
from labkit.mariadb import MariaDB
from labkit.postgres import PostgresCluster
from labkit.processes import free_port, stop_process_group

from ..apps.server_fixtures import mariadb, pg

__all__ = ["mariadb", "pg"]

BROKEN_APP = Path(__file__).with_name("broken_app.py")
# The broken servers borrow an app venv for psycopg (built from apps/flask/requirements.txt).
DRIVER_VENV_APP = "flask"


@pytest.fixture(scope="session")
def snapshot(pg: PostgresCluster) -> Callable[[str], Any]:
    """Runs a statement of analysis.verify.sql as the superuser, like the playbook does on the db host."""
    return lambda sql: json.loads(pg.psql(sql))


@pytest.fixture
def mysql_snapshot(mariadb: MariaDB) -> Iterator[Callable[[str], Any]]:
    """Takes a snapshot of analysis.verify.sql by name ("counters", "worlds") as the recorder does: the
    superuser over the socket, one client over a pipe, its own session left out of performance_schema."""
    # The flags the recorder gives the client (--batch is already there).
    flags = [flag for flag in CLIENT_FLAGS["mysql"] if flag not in mariadb.client()]
    client = Client([*mariadb.client(*flags), MARIADB_DB_NAME], "mysql")
    for setup in SESSION_SETUP["mysql"]:
        client.lines(setup)
    yield lambda name: client.snapshot(statements("mysql")[name])
    client.close()


@pytest.fixture(scope="session")
def driver_python() -> Path:
    try:
        return ensure_venv(DRIVER_VENV_APP) / "bin" / "python"
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot build the {DRIVER_VENV_APP} venv for psycopg: {e.stderr[-2000:]}")


@contextlib.contextmanager
def broken_server(python: Path, broken: str, cluster: PostgresCluster, log: Path) -> Iterator[str]:
    """Start tests/verify/broken_app.py with one break; yields its base URL. Stopped by its process group."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "VIRTUAL_ENV", "PYTHON"))}
    env |= cluster.env(pool_size=16, mode="raw")
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [str(python), str(BROKEN_APP), "--port", str(port), "--break", broken],
            stdout=subprocess.PIPE, stderr=out, env=env, start_new_session=True,
        )  # fmt: skip
    try:
        assert process.stdout is not None
        # The server prints "ready" once it listens; it exits (EOF) when it cannot start.
        if process.stdout.readline().strip() != b"ready":
            raise RuntimeError(
                f"broken_app.py --break {broken} did not start:\n{log.read_text(errors='replace')}"
            )
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process_group(process)
        if process.stdout is not None:
            process.stdout.close()
