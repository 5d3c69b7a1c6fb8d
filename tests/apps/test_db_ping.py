"""playbooks/files/lab_db_ping.py, the app tier's database probe (tasks/db_health.yml), on a real Postgres
and a real MariaDB."""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from pathlib import Path
from types import ModuleType

import pytest

from labkit.mariadb import MariaDB
from labkit.paths import REPO
from labkit.postgres import DB_NAME, DB_USER, PG_BIN, PostgresCluster, as_postgres
from labkit.processes import free_port

pytestmark = pytest.mark.needs_postgres


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "lab_db_ping", REPO / "playbooks" / "files" / "lab_db_ping.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ping = _load()


def _args(cluster: PostgresCluster, wait: float) -> list[str]:
    return ["--host", cluster.host, "--port", str(cluster.port), "--user", DB_USER, "--dbname", DB_NAME,
            "--wait", str(wait)]  # fmt: skip


def test_a_running_database_accepts(pg: PostgresCluster, capsys: pytest.CaptureFixture[str]) -> None:
    assert ping.main(_args(pg, 0)) == 0
    assert capsys.readouterr().out.strip() == f"accepting connections at {pg.host}:{pg.port}"


def test_an_ipv6_lab_address_is_probed_and_written_in_brackets(pg: PostgresCluster) -> None:
    # The fixture's cluster listens on ::1 as well, as a db host's Postgres does on an IPv6 lab_address.
    ok, message = ping.probe("::1", pg.port, DB_USER, DB_NAME, 0)
    assert ok, message
    assert message == f"accepting connections at [::1]:{pg.port}"
    ok, message = ping.probe("::1", free_port(), DB_USER, DB_NAME, 0)
    assert not ok
    assert message.startswith("database unreachable at [::1]:")


def test_nothing_listening_is_unreachable_after_the_wait() -> None:
    port = free_port()
    started = time.monotonic()
    ok, message = ping.probe("127.0.0.1", port, DB_USER, DB_NAME, 1.5)
    assert not ok
    assert time.monotonic() - started >= 1.5
    assert message.startswith(f"database unreachable at 127.0.0.1:{port} (waited 1.5 s): ")
    assert "refused" in message.lower()


def test_a_server_that_is_not_postgres_is_unreachable() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]

        def answer() -> None:
            conn, _ = server.accept()
            with conn:
                conn.recv(1024)
                conn.sendall(b"HTTP/1.1 400 Bad Request\r\n\r\n")

        thread = threading.Thread(target=answer)
        thread.start()
        ok, message = ping.probe("127.0.0.1", port, DB_USER, DB_NAME, 0)
        thread.join(5)
    assert not ok and "unexpected reply b'H'" in message


def test_the_probe_waits_for_a_database_that_comes_back(pg: PostgresCluster) -> None:
    as_postgres(PG_BIN / "pg_ctl", "-D", pg.data_dir, "-m", "fast", "-w", "stop")
    result: list[int] = []
    try:
        probe = threading.Thread(target=lambda: result.append(ping.main(_args(pg, 30))))
        started = time.monotonic()
        probe.start()
        time.sleep(1.5)
        assert probe.is_alive(), "the probe gave up while the database was down"
        # restart on a stopped server starts it with the options of its last start (postmaster.opts).
        as_postgres(PG_BIN / "pg_ctl", "-D", pg.data_dir, "-l", pg.root / "postgres.log", "-w", "restart")
        probe.join(30)
    finally:
        if probe.is_alive() or not result:  # leave the session's database running whatever happened
            as_postgres(PG_BIN / "pg_ctl", "-D", pg.data_dir, "-l", pg.root / "postgres.log", "-w", "restart")
    assert result == [0]
    assert time.monotonic() - started >= 1.5


def test_probes_leave_no_trace_in_the_server_log(pg: PostgresCluster) -> None:
    log = Path(pg.root / "postgres.log")
    before = log.read_text(errors="replace") if log.exists() else ""
    for _ in range(3):
        assert ping.probe(pg.host, pg.port, DB_USER, DB_NAME, 0)[0]
    time.sleep(0.5)
    added = (log.read_text(errors="replace") if log.exists() else "")[len(before) :]
    assert "could not receive data" not in added and "FATAL" not in added, added


@pytest.mark.needs_mariadb
def test_a_running_mariadb_accepts_and_postgres_probe_says_it_is_not_postgres(
    mariadb: MariaDB, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["--host", mariadb.host, "--port", str(mariadb.port), "--user", DB_USER, "--dbname", DB_NAME]
    assert ping.main(["--engine", "mysql", *args]) == 0
    assert capsys.readouterr().out.strip() == f"accepting connections at {mariadb.host}:{mariadb.port}"
    assert ping.main(args) == 1  # a MySQL server answers the Postgres startup message with its greeting
    assert "unexpected reply" in capsys.readouterr().out


def test_a_mysql_probe_of_a_port_nobody_listens_on_fails() -> None:
    ok, line = ping.probe("127.0.0.1", free_port(), DB_USER, DB_NAME, 0, engine="mysql")
    assert not ok and "database unreachable at 127.0.0.1:" in line
