"""Every server x worker class an app supports (apps/<fw>/lab.yml `servers`), started for real.

Each combination runs with the very command roles/app_server would put in its supervisor program
(app_server_matrix.app_server_program), against a throwaway real Postgres, both on a unix socket (the command
behind nginx) and on TCP (direct, nginx off); orm mode is started too where the app has it. Each must:
answer /json exactly, read and write the database, keep its database connections within its pool while many
keep-alive clients are connected at once, and listen with the configured backlog (aiohttp's own gunicorn
worker used to drop to 128).
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from labkit.apps import AppServer, Response, app_server, connection, frameworks, get, load_manifest
from labkit.postgres import PostgresCluster
from roles.app_server.filter_plugins import app_server_matrix as matrix

pytestmark = pytest.mark.needs_postgres
ONE_AT_A_TIME = matrix.ONE_AT_A_TIME

# Neither 128 (asyncio's and aiohttp's default) nor 2048 (gunicorn's): a value only --backlog can produce.
BACKLOG = 3000
KEEPALIVE_CLIENTS = 16
REQUESTS_PER_CLIENT = 3
WORKERS = 2
POOL_SIZE = 3


def _combinations() -> list[object]:
    params: list[object] = []
    for fw in frameworks():
        manifest = load_manifest(fw)
        for server, worker_classes in manifest["servers"].items():
            for worker_class in worker_classes:
                for mode in manifest["db_modes"]:
                    # Both listeners in the first db mode; the other mode once, direct.
                    for bind in ("unix", "tcp") if mode == manifest["db_modes"][0] else ("tcp",):
                        name = f"{fw}-{server}-{worker_class}-{mode}-{bind}"
                        params.append(pytest.param(fw, server, worker_class, mode, bind, id=name))
    return params


def _listen_backlog(app: AppServer) -> int:
    """The backlog the socket listens with: `ss` reports it as the Send-Q of a listening socket."""
    if app.unix_socket:
        out = subprocess.run(["ss", "-Hlxn"], check=True, capture_output=True, text=True).stdout
        rows = [line.split() for line in out.splitlines() if str(app.unix_socket) in line.split()]
    else:
        query = ["ss", "-Hltn", f"sport = :{app.port}"]
        out = subprocess.run(query, check=True, capture_output=True, text=True).stdout
        rows = [line.split() for line in out.splitlines() if line.strip()]
    assert rows, f"no listening socket for {app.unix_socket or app.port}:\n{out}"
    # Columns: [Netid] State Recv-Q Send-Q Local-Address ...
    backlogs = {int(row[row.index("LISTEN") + 2]) for row in rows}
    assert len(backlogs) == 1, rows
    return backlogs.pop()


def _app_connections(pg: PostgresCluster) -> int:
    return int(pg.psql("SELECT count(*) FROM pg_stat_activity WHERE usename = 'benchmarkdbuser'"))


def _keepalive_clients(app: AppServer, pg: PostgresCluster) -> tuple[list[int], int]:
    """KEEPALIVE_CLIENTS connections each sending a few /queries; the app's connections to Postgres are
    counted while all of them are still open. Returns the statuses and that count."""
    connected = threading.Barrier(KEEPALIVE_CLIENTS + 1, timeout=60)
    counted = threading.Event()

    def client(_: int) -> list[int]:
        conn = connection(app, 60)
        statuses = []
        try:
            for _ in range(REQUESTS_PER_CLIENT):
                conn.request("GET", "/queries?queries=2")
                resp = conn.getresponse()
                body = resp.read()
                statuses.append(resp.status)
                assert len(json.loads(body)) == 2 or resp.status != 200, body[:200]
            connected.wait()
            counted.wait(60)
        finally:
            conn.close()
        return statuses

    with ThreadPoolExecutor(KEEPALIVE_CLIENTS) as pool:
        futures = [pool.submit(client, i) for i in range(KEEPALIVE_CLIENTS)]
        connected.wait()
        connections = _app_connections(pg)
        counted.set()
        statuses = [s for f in futures for s in f.result()]
    return statuses, connections


def _assert_json(resp: Response) -> None:
    assert resp.status == 200, resp.body[:500]
    assert json.loads(resp.body) == {"message": "Hello, World!"}
    assert (resp.header("Content-Type") or "").split(";")[0] == "application/json"
    assert resp.header("Server") and resp.header("Date")


@pytest.mark.parametrize(("framework", "server", "worker_class", "mode", "bind"), _combinations())
def test_combination_serves(
    framework: str,
    server: str,
    worker_class: str,
    mode: str,
    bind: str,
    pg: PostgresCluster,
    server_logs: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # A short directory: unix socket paths are limited to 107 bytes.
    socket = Path(tmp_path_factory.mktemp("s", numbered=True)) / "app.sock" if bind == "unix" else None
    with app_server(
        framework, mode, pg, server_logs, workers=WORKERS, pool_size=POOL_SIZE, worker_class=worker_class,
        server=server, unix_socket=socket, backlog=BACKLOG,
    ) as app:  # fmt: skip
        assert app.config["server"] == server and app.config["worker_class"] == worker_class
        _assert_json(get(app, "/json"))
        world = json.loads(get(app, "/db").body)
        assert set(world) == {"id", "randomNumber"}, world
        updated = json.loads(get(app, "/updates?queries=2").body)
        assert len(updated) == 2, updated
        statuses, connections = _keepalive_clients(app, pg)
        assert set(statuses) == {200}, statuses
        # Threads hold one connection each (Django), pools hold db_pool_size: never one per client.
        per_worker = max(app.config["db_pool_size"], app.config["threads"] or 1)
        assert connections <= WORKERS * per_worker, (connections, app.config, app.log_text()[-2000:])
        assert _listen_backlog(app) == BACKLOG, app.command
        assert not re.search(r"Traceback|\bERROR\b", app.log_text()), app.log_text()[-3000:]


def _cooperative_combinations() -> list[object]:
    params: list[object] = []
    for fw in frameworks():
        manifest = load_manifest(fw)
        for server, worker_classes in manifest["servers"].items():
            for worker_class in worker_classes:
                if worker_class not in ONE_AT_A_TIME:
                    mode = manifest["db_modes"][0]
                    name = f"{fw}-{server}-{worker_class}"
                    params.append(pytest.param(fw, server, worker_class, mode, id=name))
    return params


@pytest.mark.parametrize(("framework", "server", "worker_class", "mode"), _cooperative_combinations())
def test_waiting_on_the_database_does_not_block_the_worker(
    framework: str, server: str, worker_class: str, mode: str, pg: PostgresCluster, server_logs: Path
) -> None:
    """One worker process; while one request waits for a row lock in Postgres, the worker still answers.

    Under gevent this holds only if psycopg's waits yield to other greenlets, under gthread if the driver
    releases the GIL, under the event loops if the driver is asynchronous.
    """
    with app_server(
        framework, mode, pg, server_logs, workers=1, pool_size=POOL_SIZE, worker_class=worker_class,
        server=server,
    ) as app, pg.world_write_lock() as release, ThreadPoolExecutor(1) as pool:  # fmt: skip
        blocked = pool.submit(get, app, "/updates?queries=1", 60)
        time.sleep(0.5)
        assert not blocked.done(), "the update did not wait for the lock"
        started = time.monotonic()
        _assert_json(get(app, "/json", timeout=10))
        assert time.monotonic() - started < 2, "the worker was blocked by the waiting request"
        release()
        assert blocked.result(30).status == 200
