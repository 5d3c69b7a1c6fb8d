"""Secrets and exposure on the provisioned localhost lab (issue 9, point 7; issue 14, point 4).

The generated database password appears in no tracked file, no result, no log and no process environment;
the files holding it are closed to other users; Postgres, nginx and the app server listen only where the
inventory says, and Postgres admits only the app hosts. On the db tier it is nowhere at all: Postgres got a
SCRAM-SHA-256 verifier of it, so no file of the cluster (data directory, configuration, the schema script),
no statement text of pg_stat_statements and no command line holds it.
"""

from __future__ import annotations

import importlib.util
import pwd
import socket
import stat
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from roles.postgres.filter_plugins.postgres_scram import postgres_scram_matches

from ..labrun import HOST_ID, LOG_DIR, REPO
from .conftest import CLIENT_RESULTS, FRAMEWORKS, PG_CLUSTER, app_processes, children, postmaster_pid

SECRET_FILE = REPO / ".secrets" / "benchmarkdbuser.password"
APP_SECRET_FILE = Path(f"/etc/lab/{HOST_ID}/db.password")
LAB_ADDRESS = "127.0.0.1"  # inventory/local.yml
APP_USER = "labapp"
PG_PING = REPO / "playbooks" / "files" / "lab_db_ping.py"
PG_SOCKET_DIR = f"/run/lab/{HOST_ID}/postgresql"


@pytest.fixture(scope="module")
def secret(lab: None) -> str:
    value = SECRET_FILE.read_text().strip()
    assert len(value) >= 16
    return value


def _text_files(root: Path) -> Iterator[Path]:
    if root.is_file():
        yield root
        return
    for path in root.rglob("*"):
        if path.is_file() and not path.is_symlink() and path.suffix not in {".gz", ".png", ".pyc"}:
            yield path


def test_no_tracked_file_holds_the_password(secret: str) -> None:
    tracked = (
        subprocess.run(
            ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            capture_output=True,
            check=True,
        )
        .stdout.decode()
        .split("\0")
    )
    files = [REPO / name for name in tracked if name and (REPO / name).is_file()]
    assert len(files) > 100
    holding = [str(p.relative_to(REPO)) for p in files if secret.encode() in p.read_bytes()]
    assert not holding, holding


def test_no_result_or_log_holds_the_password(secret: str) -> None:
    """The lab's logs (app, nginx, supervisord, Postgres), the client's raw results, the controller's runs and
    the logs of the playbooks this test session ran."""
    roots = [
        Path(f"/var/log/lab/{HOST_ID}"),
        CLIENT_RESULTS,
        REPO / "results",
        LOG_DIR,
        *Path("/var/log/postgresql").glob(f"postgresql-*-lab_{HOST_ID}.log*"),
    ]
    scanned, holding = 0, []
    for root in roots:
        for path in _text_files(root):
            scanned += 1
            try:
                if secret.encode() in path.read_bytes():
                    holding.append(str(path))
            except OSError:
                continue
    assert scanned > 20, f"only {scanned} files under {roots}: nothing to check"
    assert not holding, holding


def _as_postgres(sql: str) -> str:
    """SQL as the superuser over the unix socket (root maps to postgres there), as the verification reads."""
    return subprocess.run(
        ["psql", "-X", "-q", "-At", "-h", PG_SOCKET_DIR, "-p", "5432", "-U", "postgres", "-d", "hello_world",
         "-c", sql],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip


def test_no_file_of_the_database_cluster_holds_the_password(secret: str) -> None:
    """Every file of the data directory (pg_stat_statements keeps its texts under pg_stat_tmp/), of the
    configuration and the schema script; the server log is in the test above."""
    roots = [
        *Path("/var/lib/postgresql").glob(f"*/{PG_CLUSTER}"),
        *Path("/etc/postgresql").glob(f"*/{PG_CLUSTER}"),
        Path(f"/opt/lab/{HOST_ID}/sql"),
    ]
    assert len(roots) == 3 and all(root.is_dir() for root in roots), roots
    scanned, holding = 0, []
    for root in roots:
        for path in root.rglob("*"):
            if not path.is_file() or path.is_symlink():
                continue
            try:
                content = path.read_bytes()
            except OSError:
                continue  # a file Postgres removed meanwhile
            scanned += 1
            if secret.encode() in content:
                holding.append(str(path))
    assert scanned > 100, f"only {scanned} files under {roots}"
    assert not holding, holding


def test_no_statement_text_holds_the_password(secret: str) -> None:
    texts = _as_postgres("SELECT query FROM pg_stat_statements")
    assert texts.strip(), "pg_stat_statements is empty: nothing to check"
    # Only the count: a text holding it would print it.
    assert texts.count(secret) == 0, f"{texts.count(secret)} statement texts hold the password"


def test_postgres_holds_a_verifier_of_the_password(secret: str) -> None:
    verifier = _as_postgres("SELECT rolpassword FROM pg_authid WHERE rolname = 'benchmarkdbuser'").strip()
    assert verifier.startswith("SCRAM-SHA-256$"), "the role has no SCRAM-SHA-256 verifier"
    assert postgres_scram_matches(verifier, secret), "the verifier in place is not one of the password"


def test_no_command_line_holds_the_password(secret: str) -> None:
    scanned, holding = 0, []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        scanned += 1
        if secret.encode() in cmdline:
            holding.append(int(entry.name))
    assert scanned > 10
    assert not holding, f"processes with the password on their command line: {holding}"


def test_the_app_gets_the_password_from_a_file_not_its_environment(secret: str) -> None:
    master, workers = app_processes(FRAMEWORKS[0])
    assert master and workers
    for pid in [master, *workers]:
        environ = Path(f"/proc/{pid}/environ").read_bytes()
        assert secret.encode() not in environ, pid
        assert f"LAB_DB_PASSWORD_FILE={APP_SECRET_FILE}".encode() in environ
    for conf in Path(f"/etc/lab/{HOST_ID}").rglob("*.conf"):
        assert secret not in conf.read_text(errors="replace"), conf


def test_files_holding_the_password_are_closed_to_others(secret: str) -> None:
    controller = SECRET_FILE.stat()
    assert stat.S_IMODE(controller.st_mode) == 0o600, oct(controller.st_mode)
    assert stat.S_IMODE(SECRET_FILE.parent.stat().st_mode) == 0o700
    # On the app host the app's unprivileged user reads it through its group; root alone may write it.
    app_copy = APP_SECRET_FILE.stat()
    assert APP_SECRET_FILE.read_text().strip() == secret
    assert stat.S_IMODE(app_copy.st_mode) & 0o037 == 0, oct(app_copy.st_mode)
    assert app_copy.st_uid == 0
    assert app_copy.st_gid == pwd.getpwnam(APP_USER).pw_gid


def _listening(pids: set[int]) -> set[str]:
    """The TCP addresses (addr:port) the given processes listen on, from ss."""
    out = subprocess.run(
        ["ss", "-H", "-l", "-t", "-n", "-p"], capture_output=True, text=True, check=True
    ).stdout
    found = set()
    for line in out.splitlines():
        fields = line.split()
        if any(f"pid={pid}," in line for pid in pids) and len(fields) >= 4:
            found.add(fields[3])
    return found


def test_postgres_listens_only_on_the_lab_address() -> None:
    pid = postmaster_pid()
    assert pid is not None
    assert _listening({pid}) == {f"{LAB_ADDRESS}:5432"}


def test_nginx_listens_only_on_the_lab_address_and_the_app_server_on_no_port() -> None:
    nginx_pid = int(Path(f"/run/lab/{HOST_ID}/nginx.pid").read_text())
    assert _listening({nginx_pid, *children(nginx_pid)}) == {f"{LAB_ADDRESS}:8080"}
    master, workers = app_processes(FRAMEWORKS[0])
    assert _listening({master, *workers}) == set(), "the app server must listen on its unix socket only"
    socket_dir = Path(f"/run/lab/{HOST_ID}/app")
    assert stat.S_IMODE(socket_dir.stat().st_mode) & 0o007 == 0, "other users must not reach the app's socket"


def _load_pg_ping() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lab_db_ping", PG_PING)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _startup_reply(source: str) -> bytes:
    """Postgres's first reply to a startup message sent from the given source address."""
    ping = _load_pg_ping()
    with socket.socket() as sock:
        sock.settimeout(5)
        sock.bind((source, 0))
        sock.connect((LAB_ADDRESS, 5432))
        sock.sendall(ping.startup_message("benchmarkdbuser", "hello_world"))
        kind = sock.recv(1)
        (length,) = struct.unpack("!i", sock.recv(4))
        payload = b""
        while len(payload) < length - 4:
            payload += sock.recv(length - 4 - len(payload))
    return kind + payload


def test_postgres_admits_the_app_host_and_refuses_any_other_address() -> None:
    assert _startup_reply(LAB_ADDRESS)[:1] == b"R"  # asked to authenticate: pg_hba admits the app host
    refused = _startup_reply("127.0.0.2")  # another host as far as Postgres can tell
    assert refused[:1] == b"E" and b"no pg_hba.conf entry" in refused, refused
    hba = next(Path("/etc/postgresql").glob(f"*/lab_{HOST_ID}/pg_hba.conf")).read_text()
    hosts = [line.split() for line in hba.splitlines() if line.startswith("host")]
    assert hosts and all(fields[3] == f"{LAB_ADDRESS}/32" for fields in hosts), hosts
