"""Helpers for the app tests: a throwaway Postgres cluster, app venvs, app servers, HTTP and psql.

Stdlib only (plus PyYAML, which the controller venv has through ansible). Every process started here is
stopped by its PID (or its process group, whose id is that PID), also when a test fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from roles.app_server.filter_plugins import app_server_matrix as matrix

REPO = Path(__file__).resolve().parents[2]
APPS_DIR = REPO / "apps"
COMMON_DIR = APPS_DIR / "_common"
SCHEMA_SQL = REPO / "roles" / "postgres" / "files" / "hello_world.sql"


def _pg_bin() -> Path:
    """The newest Postgres the distribution installed (Debian/Ubuntu: /usr/lib/postgresql/<major>/bin), or
    LAB_TEST_PG_BIN: the major version is discovered, never assumed."""
    if os.environ.get("LAB_TEST_PG_BIN"):
        return Path(os.environ["LAB_TEST_PG_BIN"])
    found = sorted(
        (path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")),
        key=lambda bin_dir: int(bin_dir.parent.name) if bin_dir.parent.name.isdigit() else 0,
    )
    return found[-1] if found else Path("/usr/lib/postgresql/(none installed)/bin")


PG_BIN = _pg_bin()
VENVS_DIR = Path(os.environ.get("LAB_TEST_APP_VENVS", "/tmp/appvenvs"))
DB_NAME = "hello_world"
DB_USER = "benchmarkdbuser"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def as_postgres(*cmd: str | Path, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command as the postgres user when we are root (initdb refuses root)."""
    argv = [str(c) for c in cmd]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)


@dataclass
class PostgresCluster:
    """A cluster in a temporary directory: TCP on 127.0.0.1:<port> and [::1]:<port>, a unix socket there."""

    root: Path
    port: int
    password: str
    password_file: Path
    host: str = "127.0.0.1"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root / "sock"

    def psql(self, sql: str, db: str = DB_NAME) -> str:
        """Run SQL as the superuser over the unix socket; returns unaligned, tuples-only output."""
        out = subprocess.run(
            ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir),
             "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
            check=True, capture_output=True, text=True,
        )  # fmt: skip
        return out.stdout.strip()

    @contextlib.contextmanager
    def world_write_lock(self) -> Iterator[Callable[[], None]]:
        """Holds an EXCLUSIVE lock on world (reads go on, writes wait) until release() or the block ends."""
        psql = subprocess.Popen(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.socket_dir), "-p", str(self.port),
             "-U", "postgres", "-d", DB_NAME],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert psql.stdin is not None and psql.stdout is not None
        stdin = psql.stdin

        def release() -> None:
            if not stdin.closed:
                stdin.write("ROLLBACK;\n")
                stdin.close()
                psql.wait(10)

        try:
            stdin.write("BEGIN;\nLOCK TABLE world IN EXCLUSIVE MODE;\n\\echo locked\n")
            stdin.flush()
            assert psql.stdout.readline().strip() == "locked"
            yield release
        finally:
            release()
            if psql.poll() is None:
                psql.kill()

    def worlds(self) -> dict[int, int]:
        rows = self.psql("SELECT id, randomnumber FROM world")
        return {int(i): int(r) for i, r in (line.split("|") for line in rows.splitlines())}

    def env(self, pool_size: int, mode: str) -> dict[str, str]:
        return {
            "LAB_DB_HOST": self.host,
            "LAB_DB_PORT": str(self.port),
            "LAB_DB_NAME": DB_NAME,
            "LAB_DB_USER": DB_USER,
            "LAB_DB_PASSWORD_FILE": str(self.password_file),
            "LAB_DB_POOL_SIZE": str(pool_size),
            "LAB_DB_MODE": mode,
        }


@contextlib.contextmanager
def postgres_cluster() -> Iterator[PostgresCluster]:
    root = Path(tempfile.mkdtemp(prefix="lab-pg-"))
    cluster = PostgresCluster(
        root=root, port=free_port(), password=secrets.token_urlsafe(24), password_file=root / "db_password"
    )
    cluster.socket_dir.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(cluster.socket_dir, "postgres")
    # The password file belongs to the app user (us), not to postgres.
    fd = os.open(cluster.password_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(cluster.password + "\n")
    started = False
    try:
        as_postgres(
            PG_BIN / "initdb", "-D", cluster.data_dir, "-U", "postgres", "-E", "UTF8", "--locale=C.UTF-8",
            "--auth-local=trust", "--auth-host=scram-sha-256",
        )  # fmt: skip
        options = (
            # ::1 too, for the tests of an IPv6 lab address (initdb's pg_hba admits ::1/128); where the
            # machine has no ::1, Postgres warns and listens on 127.0.0.1 alone.
            f"-c port={cluster.port} -c listen_addresses=127.0.0.1,::1"
            f" -c unix_socket_directories={cluster.socket_dir}"
            " -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=all"
            " -c max_connections=200 -c synchronous_commit=off -c fsync=off"
        )
        as_postgres(
            PG_BIN / "pg_ctl", "-D", cluster.data_dir, "-l", cluster.root / "postgres.log", "-o", options,
            "-w", "-t", "60", "start",
        )  # fmt: skip
        started = True
        cluster.psql(f"CREATE ROLE {DB_USER} LOGIN PASSWORD '{cluster.password}'", db="postgres")
        cluster.psql(f"CREATE DATABASE {DB_NAME} OWNER {DB_USER}", db="postgres")
        # pg_stat_statements is not a trusted extension: the superuser creates it, the owner loads the rest.
        cluster.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        subprocess.run(
            ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", cluster.host, "-p", str(cluster.port),
             "-U", DB_USER, "-d", DB_NAME, "-f", str(SCHEMA_SQL)],
            check=True, capture_output=True, text=True, env={**os.environ, "PGPASSWORD": cluster.password},
        )  # fmt: skip
        yield cluster
    finally:
        if started:
            _stop_postgres(cluster)
        shutil.rmtree(root, ignore_errors=True)


def _stop_postgres(cluster: PostgresCluster) -> None:
    pid_file = cluster.data_dir / "postmaster.pid"
    pid = int(pid_file.read_text().split()[0]) if pid_file.exists() else None
    try:
        as_postgres(PG_BIN / "pg_ctl", "-D", cluster.data_dir, "-m", "fast", "-w", "-t", "30", "stop")
    except subprocess.CalledProcessError:
        if pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


# --- apps ---------------------------------------------------------------------------------------------


def load_manifest(framework: str) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load((APPS_DIR / framework / "lab.yml").read_text())
    return manifest


def frameworks() -> list[str]:
    return sorted(p.parent.name for p in APPS_DIR.glob("*/lab.yml"))


def ensure_venv(framework: str) -> Path:
    """Build /tmp/appvenvs/<framework> from the app's requirements.txt unless it is already up to date.

    A lock file per framework keeps two test processes from building (and deleting) the same venv at once.
    """
    app_dir = APPS_DIR / framework
    requirements = app_dir / "requirements.txt"
    no_deps = load_manifest(framework).get("pip_no_deps") or []
    digest = hashlib.sha256(requirements.read_bytes() + "\n".join(no_deps).encode()).hexdigest()
    venv = VENVS_DIR / framework
    stamp = venv / ".lab-requirements.sha256"
    VENVS_DIR.mkdir(parents=True, exist_ok=True)
    with open(VENVS_DIR / f"{framework}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.exists() and stamp.read_text() == digest:
            return venv
        shutil.rmtree(venv, ignore_errors=True)
        python = shutil.which("python3") or sys.executable
        subprocess.run([python, "-m", "venv", str(venv)], check=True, capture_output=True, text=True)
        pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        subprocess.run([*pip, "-r", str(requirements)], check=True, capture_output=True, text=True)
        # Packages whose metadata pip cannot resolve (lab.yml `pip_no_deps`) go in without dependencies.
        if no_deps:
            subprocess.run([*pip, "--no-deps", *no_deps], check=True, capture_output=True, text=True)
        stamp.write_text(digest)
    return venv


@dataclass
class AppServer:
    framework: str
    mode: str
    port: int
    process: subprocess.Popen[bytes]
    log: Path
    command: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    # Set when the server listens on a unix socket (the command the role runs behind nginx); port is then 0.
    unix_socket: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def server_config(
    framework: str,
    mode: str,
    workers: int = 2,
    pool_size: int = 4,
    server: str = "",
    worker_class: str = "",
    nginx: bool = False,
) -> dict[str, Any]:
    """The effective configuration roles/app_server would run (empty server/worker_class: the default)."""
    settings = {
        "server": server, "worker_class": worker_class, "workers": workers, "nginx": nginx,
        "db_pool_size": pool_size, "db_mode": mode, "cpus": os.cpu_count() or 1,
    }  # fmt: skip
    return matrix.app_server_matrix([framework], {framework: load_manifest(framework)}, settings)[framework]


def server_command(
    config: dict[str, Any], venv: Path, port: int, unix_socket: Path | None = None, backlog: int = 2048
) -> tuple[list[str], dict[str, str]]:
    """The command line (and extra environment) of roles/app_server's supervisor program for config."""
    where: dict[str, Any] = {
        "venv": venv, "app_dir": APPS_DIR / config["framework"], "common_dir": COMMON_DIR, "backlog": backlog,
        "host": "127.0.0.1", "port": port, "socket": unix_socket or "",
    }  # fmt: skip
    program = matrix.app_server_program({**config, "nginx": unix_socket is not None}, where)
    return program["command"], program["environment"]


def gunicorn_command(
    framework: str, venv: Path, port: int, workers: int, worker_class: str | None = None
) -> list[str]:
    """The role's gunicorn command line of an app on 127.0.0.1:port; worker_class None: the default."""
    config = server_config(framework, "raw", workers, server="gunicorn", worker_class=worker_class or "")
    return server_command(config, venv, port)[0]


@contextlib.contextmanager
def app_server(
    framework: str,
    mode: str,
    cluster: PostgresCluster,
    log_dir: Path,
    workers: int = 2,
    pool_size: int = 4,
    worker_class: str | None = None,
    extra_env: dict[str, str] | None = None,
    server: str = "",
    unix_socket: Path | None = None,
    backlog: int = 2048,
) -> Iterator[AppServer]:
    """The app under the server and worker class given (default: the framework's), as the role runs it.

    Listens on a free port of 127.0.0.1 (the role's direct mode) or, with unix_socket, on that socket (the
    role's command behind nginx).
    """
    venv = ensure_venv(framework)
    behind_nginx = unix_socket is not None
    config = server_config(framework, mode, workers, pool_size, server, worker_class or "", behind_nginx)
    port = 0 if unix_socket else free_port()
    cmd, program_env = server_command(config, venv, port, unix_socket, backlog)
    bind = "unix" if unix_socket else "tcp"
    log = log_dir / f"{framework}-{mode}-{config['server']}-{config['worker_class']}-{bind}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "VIRTUAL_ENV", "PYTHON"))}
    env |= cluster.env(config["db_pool_size"], mode) | {"PATH": f"{venv / 'bin'}:{env.get('PATH', '')}"}
    env |= program_env | (extra_env or {})
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
    app = AppServer(framework, mode, port, process, log, cmd, unix_socket=unix_socket, config=config)
    try:
        _wait_until_serving(app)
        yield app
    finally:
        _stop_process_group(process)


def _wait_until_serving(server: AppServer, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            code = server.process.returncode
            raise RuntimeError(f"{server.command} exited with {code}:\n{server.log_text()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if get(server, "/plaintext", timeout=2).status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{server.command} did not answer within {timeout}s:\n{server.log_text()}")


def _stop_process_group(process: subprocess.Popen[bytes]) -> None:
    """TERM the server's process group (its id is the server's PID), KILL whatever is left after that."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:  # workers may outlive their master for a moment
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(5)


# --- HTTP -----------------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: bytes

    def header(self, name: str) -> str | None:
        return self.headers.get(name)


class UnixHTTPConnection(http.client.HTTPConnection):
    """HTTP over a unix socket (what nginx does towards the app)."""

    def __init__(self, path: Path, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self.unix_path = path

    def connect(self) -> None:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        sock.connect(str(self.unix_path))
        self.sock = sock


def connection(server: AppServer, timeout: float = 30) -> http.client.HTTPConnection:
    if server.unix_socket:
        return UnixHTTPConnection(server.unix_socket, timeout)
    return http.client.HTTPConnection(server.host, server.port, timeout=timeout)


def get(server: AppServer, path: str, timeout: float = 30) -> Response:
    conn = connection(server, timeout)
    try:
        conn.request("GET", path, headers={"Accept": "application/json,text/html;q=0.9,*/*;q=0.7"})
        resp = conn.getresponse()
        return Response(resp.status, resp.headers, resp.read())
    finally:
        conn.close()
