"""Fixtures for the app tests: one throwaway Postgres and one MariaDB per session (each started when first
needed), one app server per framework x db mode (x engine)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.apps import AppServer, app_server, ensure_venv, frameworks, load_manifest

from .server_fixtures import mariadb, pg, server_logs

__all__ = ["mariadb", "pg", "server_logs"]

# LAB_DB_ENGINE -> the session fixture of its throwaway database.
DATABASE_FIXTURES = {"postgres": "pg", "mysql": "mariadb"}


def server_params(engines: tuple[str, ...] = ("postgres",)) -> list[object]:
    """(framework, mode, engine) for every db mode of every framework and each of engines it declares; the
    ids of the Postgres cases are framework-mode, as before the engines."""
    params: list[object] = []
    for framework in frameworks():
        manifest = load_manifest(framework)
        for engine in engines:
            if engine not in manifest.get("db_engines", ["postgres"]):
                continue
            for mode in manifest.get("db_modes", ["raw", "orm"]):
                name = f"{framework}-{mode}" + ("" if engine == "postgres" else f"-{engine}")
                params.append(pytest.param((framework, mode, engine), id=name))
    return params


def started_server(request: pytest.FixtureRequest, server_logs: Path) -> Iterator[AppServer]:
    """The app server of request.param, (framework, mode, engine), on that engine's session database."""
    framework, mode, engine = request.param
    database = request.getfixturevalue(DATABASE_FIXTURES[engine])
    try:
        ensure_venv(framework)
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot build the venv for {framework}: {e.stderr[-2000:]}")
    with app_server(framework, mode, database, server_logs) as srv:
        yield srv


@pytest.fixture(scope="module", params=server_params())
def server(request: pytest.FixtureRequest, server_logs: Path) -> Iterator[AppServer]:
    """On Postgres (the verifier's counters are Postgres'); test_app_routes.py runs on every engine."""
    yield from started_server(request, server_logs)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests marked no_database (routes that touch no database: the same code on either engine) run on the
    Postgres servers only: their MariaDB cases are deselected, not skipped."""
    keep: list[pytest.Item] = []
    drop: list[pytest.Item] = []
    for item in items:
        params = getattr(item, "callspec", None)
        server = params.params.get("server") if params is not None else None
        on_other_engine = isinstance(server, tuple) and len(server) == 3 and server[2] != "postgres"
        (drop if on_other_engine and item.get_closest_marker("no_database") else keep).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
