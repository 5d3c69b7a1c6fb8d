"""Session fixtures of the suites that run real app servers against a throwaway database (apps, matrix,
verify). A conftest imports them by name, which is how pytest finds them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit import mariadb as mariadb_kit
from labkit.mariadb import MariaDB
from labkit.postgres import PG_BIN, PostgresCluster, postgres_cluster


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresCluster]:
    if not (PG_BIN / "initdb").exists() or shutil.which("psql") is None:
        pytest.skip(f"needs Postgres binaries in {PG_BIN} and psql on PATH")
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDB]:
    """One MariaDB for the session, started when a test first needs it."""
    missing = mariadb_kit.available()
    if missing:
        pytest.skip(f"needs MariaDB (mariadb-server-core, mariadb-client-core): missing {missing}")
    with mariadb_kit.mariadb_server() as server:
        yield server


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("server-logs")
