"""Fixtures for the app tests: one throwaway Postgres per session, one app server per framework x db mode."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from .apptest_support import (
    PG_BIN,
    AppServer,
    PostgresCluster,
    app_server,
    ensure_venv,
    frameworks,
    load_manifest,
    postgres_cluster,
)


def _server_params() -> list[object]:
    params: list[object] = []
    for framework in frameworks():
        for mode in load_manifest(framework).get("db_modes", ["raw", "orm"]):
            params.append(pytest.param((framework, mode), id=f"{framework}-{mode}"))
    return params


@pytest.fixture(scope="session")
def pg() -> Iterator[PostgresCluster]:
    if not (PG_BIN / "initdb").exists() or shutil.which("psql") is None:
        pytest.skip(f"needs Postgres binaries in {PG_BIN} and psql on PATH")
    with postgres_cluster() as cluster:
        yield cluster


@pytest.fixture(scope="session")
def server_logs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("app-logs")


@pytest.fixture(scope="module", params=_server_params())
def server(request: pytest.FixtureRequest, pg: PostgresCluster, server_logs: Path) -> Iterator[AppServer]:
    framework, mode = request.param
    try:
        ensure_venv(framework)
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot build the venv for {framework}: {e.stderr[-2000:]}")
    with app_server(framework, mode, pg, server_logs) as srv:
        yield srv
