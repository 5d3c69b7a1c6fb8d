"""The scenario routes /sleep, /cpu and /upstream of every app, against real servers and a real upstream.

Each framework runs under its default gunicorn worker class with LAB_UPSTREAM_URL pointing at the lab's
upstream service (roles/upstream/files/lab_upstream.py), started here on a free port; a second server per
framework points at a port nobody listens on, for the error answer.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import pytest

from labkit.apps import AppServer, app_server, ensure_venv, frameworks, get, load_manifest
from labkit.paths import COMMON_DIR
from labkit.postgres import PostgresCluster
from labkit.processes import free_port
from labkit.upstream import upstream_service

from .scenario_support import NATIVE_KIND, import_scenarios

pytestmark = pytest.mark.needs_postgres

scenarios = import_scenarios()
SCENARIOS_PY = COMMON_DIR / "scenarios.py"
UPSTREAM_LATENCY_MS = 20
# (query string value, the value the route must use); None: the parameter is absent.
SLEEP_CASES = [
    (None, 0), ("", 0), ("foo", 0), ("-5", 0), ("0", 0), ("1.5", 0), ("1e2", 0), ("\uff15", 0), ("30", 30),
    ("+30", 30), ("99999", 5000), ("9" * 1000, 5000), ("-" + "9" * 1000, 0),
]  # fmt: skip
CPU_CASES = [(None, 1), ("", 1), ("x", 1), ("0", 1), ("-3", 1), ("2", 2), ("20000", 20000), ("1_000", 1)]
UPSTREAM_CASES = [(None, 0), ("bar", 0), ("-1", 0), ("40", 40)]


def _path(route: str, **params: str | None) -> str:
    query = "&".join(f"{k}={urllib.parse.quote(v, safe='')}" for k, v in params.items() if v is not None)
    return f"{route}?{query}" if query else route


def _framework_params() -> list[object]:
    return [pytest.param(fw, id=fw) for fw in frameworks()]


@pytest.fixture(scope="session")
def upstream_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with upstream_service(tmp_path_factory.mktemp("upstream"), UPSTREAM_LATENCY_MS) as url:
        yield url


@contextlib.contextmanager
def _scenario_server(
    framework: str, pg: PostgresCluster, log_dir: Path, upstream: str, workers: int
) -> Iterator[AppServer]:
    mode = load_manifest(framework)["db_modes"][0]
    with app_server(
        framework, mode, pg, log_dir, workers=workers, extra_env={"LAB_UPSTREAM_URL": upstream}
    ) as server:
        yield server


@pytest.fixture(scope="module", params=_framework_params())
def server(
    request: pytest.FixtureRequest, pg: PostgresCluster, server_logs: Path, upstream_url: str
) -> Iterator[AppServer]:
    ensure_venv(request.param)
    with _scenario_server(request.param, pg, server_logs, upstream_url, workers=2) as srv:
        yield srv


def _check(server: AppServer, route: str, **params: str | None) -> dict[str, object]:
    resp = get(server, _path(route, **params))
    problems = scenarios.answer_problems(
        route,
        params,
        NATIVE_KIND[server.framework],
        resp.status,
        resp.header("Content-Type") or "",
        resp.body,
    )
    assert not problems, problems
    assert resp.header("Server") and resp.header("Date")
    answer: dict[str, object] = json.loads(resp.body)
    return answer


@pytest.mark.parametrize(("value", "ms"), SLEEP_CASES, ids=[repr(c[0])[:10] for c in SLEEP_CASES])
def test_sleep_parameter(server: AppServer, value: str | None, ms: int) -> None:
    if ms == 5000:  # the clamp is checked without waiting 5 s: the rule is the same function
        assert scenarios.sleep_ms(value) == 5000
        return
    assert _check(server, "/sleep", ms=value) == {"slept_ms": ms}


def test_sleep_really_sleeps(server: AppServer) -> None:
    started = time.monotonic()
    _check(server, "/sleep", ms="250")
    elapsed = time.monotonic() - started
    assert 0.25 <= elapsed < 2.5, elapsed


@pytest.mark.parametrize(("value", "n"), CPU_CASES, ids=[repr(c[0]) for c in CPU_CASES])
def test_cpu(server: AppServer, value: str | None, n: int) -> None:
    assert _check(server, "/cpu", n=value) == {"n": n, "result": scenarios.cpu_work(n)}


def test_cpu_clamps_above_the_maximum(server: AppServer) -> None:
    assert _check(server, "/cpu", n="99999999999")["n"] == scenarios.CPU_N_MAX


@pytest.mark.parametrize(("value", "ms"), UPSTREAM_CASES, ids=[repr(c[0]) for c in UPSTREAM_CASES])
def test_upstream(server: AppServer, value: str | None, ms: int) -> None:
    started = time.monotonic()
    answer = _check(server, "/upstream", ms=value)
    elapsed = time.monotonic() - started
    assert answer["client"] == NATIVE_KIND[server.framework]
    assert answer["upstream"] == {"delay_ms": ms, "message": "Hello from upstream"}
    assert elapsed >= ms / 1000


def test_upstream_with_the_sync_client(server: AppServer) -> None:
    """An async app calls the sync client on its event loop when asked; a sync app always does."""
    answer = _check(server, "/upstream", ms="10", client="sync")
    assert answer["client"] == "sync"
    assert answer["upstream"] == {"delay_ms": 10, "message": "Hello from upstream"}


def test_upstream_clients_are_reused(server: AppServer) -> None:
    """Many calls in a row work (the per-process clients keep their connections usable)."""
    for i in range(30):
        _check(server, "/upstream", ms="0", client="sync" if i % 2 else None)


@pytest.mark.parametrize("framework", _framework_params())
def test_upstream_unreachable_is_a_502(framework: str, pg: PostgresCluster, server_logs: Path) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with _scenario_server(framework, pg, server_logs, dead, workers=1) as srv:
        resp = get(srv, "/upstream?ms=5")
        assert resp.status == 502, resp.body
        assert "the upstream" in json.loads(resp.body)["error"]
        assert get(srv, "/sleep?ms=1").status == 200  # the other routes are unaffected


def test_the_benchmark_check_passes(server: AppServer) -> None:
    """The check benchmark.yml runs before any load (playbooks/tasks/verify_scenarios.yml), as it runs it."""
    routes = [
        "sleep=/sleep?ms=5",
        "cpu=/cpu?n=100",
        "upstream=/upstream?ms=5",
        "upstream_sync=/upstream?client=sync&ms=5",
    ]
    base = f"http://127.0.0.1:{server.port}"
    check = [sys.executable, str(SCENARIOS_PY), "check", base, "--native", NATIVE_KIND[server.framework]]
    proc = subprocess.run([*check, *routes], capture_output=True, text=True, timeout=60, check=True)
    answer = json.loads(proc.stdout)
    assert answer["grades"] == dict.fromkeys(["sleep", "cpu", "upstream", "upstream_sync"], "pass"), answer
    # The wrong kind of app: an async app answers "async" where a sync one must answer "sync", and back.
    wrong = "async" if NATIVE_KIND[server.framework] == "sync" else "sync"
    proc = subprocess.run(
        [*check[:-1], wrong, "upstream=/upstream?ms=1"], capture_output=True, text=True, check=True
    )
    assert json.loads(proc.stdout)["grades"] == {"upstream": "fail"}
