"""Fixtures for the app tests: one throwaway Postgres per session, one app server per framework x db mode."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.apps import AppServer, app_server, ensure_venv, frameworks, load_manifest
from labkit.postgres import PostgresCluster

from .server_fixtures import pg, server_logs

__all__ = ["pg", "server_logs"]


def _server_params() -> list[object]:
    params: list[object] = []
    for framework in frameworks():
        for mode in load_manifest(framework).get("db_modes", ["raw", "orm"]):
            params.append(pytest.param((framework, mode), id=f"{framework}-{mode}"))
    return params


@pytest.fixture(scope="module", params=_server_params())
def server(request: pytest.FixtureRequest, pg: PostgresCluster, server_logs: Path) -> Iterator[AppServer]:
    framework, mode = request.param
    try:
        ensure_venv(framework)
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot build the venv for {framework}: {e.stderr[-2000:]}")
    with app_server(framework, mode, pg, server_logs) as srv:
        yield srv
