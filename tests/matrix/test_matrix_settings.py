"""The server matrix on the real manifests, without servers: precedence, pools, labels, command lines."""

from __future__ import annotations

from typing import Any

import pytest

from labkit.apps import frameworks, load_manifest
from roles.app_server.filter_plugins.app_server_matrix import (
    MatrixError,
    app_server_matrix,
    app_server_program,
)

MANIFESTS = {fw: load_manifest(fw) for fw in frameworks()}
BASE = {"cpus": 2, "expected_concurrency": 512, "db_mode": "raw"}
WHERE = {
    "venv": "/v", "app_dir": "/a/fw", "common_dir": "/a/_common", "backlog": 65535, "socket": "/s/app.sock",
    "host": "10.0.0.5", "port": 8080,
}  # fmt: skip


def matrix(**settings: Any) -> dict[str, dict[str, Any]]:
    return app_server_matrix(list(MANIFESTS), MANIFESTS, {**BASE, **settings})


def test_defaults_are_each_frameworks_best_known_configuration() -> None:
    configs = matrix()
    assert {fw: (c["server"], c["worker_class"], c["threads"]) for fw, c in configs.items()} == {
        "aiohttp": ("gunicorn", "aiohttp", None),
        "crax": ("gunicorn", "uvicorn", None),
        "django": ("gunicorn", "gthread", 8),
        "fastapi": ("gunicorn", "uvicorn", None),
        "flask": ("gunicorn", "gthread", 8),
    }
    assert all(c["workers"] == 2 and c["nginx"] is True for c in configs.values())


def test_framework_settings_win_over_the_global_knobs() -> None:
    configs = matrix(
        workers=3,
        nginx=False,
        framework_settings={"flask": {"worker_class": "gevent", "workers": 5, "nginx": True}},
    )
    assert (configs["flask"]["worker_class"], configs["flask"]["workers"], configs["flask"]["nginx"]) == (
        "gevent", 5, True,
    )  # fmt: skip
    assert (configs["django"]["worker_class"], configs["django"]["workers"], configs["django"]["nginx"]) == (
        "gthread", 3, False,
    )  # fmt: skip


def test_a_server_brings_its_own_default_worker_class() -> None:
    configs = app_server_matrix(["fastapi"], MANIFESTS, {**BASE, "server": "uvicorn"})
    assert configs["fastapi"]["worker_class"] == "uvicorn"
    assert configs["fastapi"]["gunicorn_worker_class"] is None
    assert configs["fastapi"]["label"] == "fastapi [uvicorn, 2 workers, raw, nginx]"


@pytest.mark.parametrize(
    ("worker_class", "pool"),
    [("sync", 1), ("meinheld", 1), ("gevent_unpatched", 1), ("gthread", 8), ("gevent", 4)],
)
def test_the_pool_follows_what_a_worker_serves_at_once(worker_class: str, pool: int) -> None:
    assert (
        app_server_matrix(["flask"], MANIFESTS, {**BASE, "worker_class": worker_class})["flask"][
            "db_pool_size"
        ]
        == pool
    )


@pytest.mark.parametrize(
    ("cpus", "workers", "expected_concurrency", "pool"),
    [
        (2, 2, 512, 4),  # 4 connections per CPU, shared by the workers
        (2, 16, 512, 2),  # never fewer than 2 per worker
        (16, 4, 512, 16),
        (64, 2, 512, 64),  # never more than 64 per worker
        (16, 2, 8, 4),  # never more than the expected concurrency per worker
    ],
)
def test_event_loop_pools_follow_the_host_cpus(
    cpus: int, workers: int, expected_concurrency: int, pool: int
) -> None:
    settings = {**BASE, "cpus": cpus, "workers": workers, "expected_concurrency": expected_concurrency}
    assert app_server_matrix(["aiohttp"], MANIFESTS, settings)["aiohttp"]["db_pool_size"] == pool


def test_a_pool_size_set_wins_over_the_rule() -> None:
    config = app_server_matrix(["aiohttp"], MANIFESTS, {**BASE, "db_pool_size": 40})["aiohttp"]
    assert config["db_pool_size"] == 40


def test_a_refused_combination_raises_with_the_variable() -> None:
    with pytest.raises(MatrixError, match="app_server_worker_class=sync: fastapi is an ASGI app"):
        app_server_matrix(["fastapi"], MANIFESTS, {**BASE, "worker_class": "sync"})


def test_direct_gunicorn_binds_the_address_and_brackets_ipv6() -> None:
    config = matrix(nginx=False)["flask"]
    command = app_server_program(config, WHERE)["command"]
    assert command[command.index("--bind") + 1] == "10.0.0.5:8080"
    command = app_server_program(config, {**WHERE, "host": "fd00::5"})["command"]
    assert command[command.index("--bind") + 1] == "[fd00::5]:8080"


def test_behind_nginx_every_server_listens_on_the_socket_with_the_backlog() -> None:
    for framework, settings in [
        ("flask", {}),
        ("fastapi", {"server": "uvicorn"}),
        ("aiohttp", {"server": "own"}),
    ]:
        config = app_server_matrix([framework], MANIFESTS, {**BASE, **settings})[framework]
        command = app_server_program(config, WHERE)["command"]
        assert "/s/app.sock" in " ".join(command), command
        assert command[command.index("--backlog") + 1] == "65535", command
        assert "10.0.0.5" not in command


def test_threads_go_to_gthread_only() -> None:
    settings = {"threads": 4, "framework_settings": {"django": {"worker_class": "sync"}}}
    sync = app_server_program(matrix(**settings)["django"], WHERE)["command"]
    gthread = app_server_program(matrix(**settings)["flask"], WHERE)["command"]
    assert "--threads" not in sync  # gunicorn would turn sync into gthread
    assert gthread[gthread.index("--threads") + 1] == "4"
