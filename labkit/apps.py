"""The apps as roles/app_server runs them: manifests, venvs, one app server on TCP or a unix socket, and
plain HTTP to it."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import http.client
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Protocol

import yaml

from roles.app_server.filter_plugins import app_server_matrix as matrix

from .paths import APPS_DIR, COMMON_DIR, REPO
from .processes import free_port, stop_process_group

VENVS_DIR = Path(os.environ.get("LAB_TEST_APP_VENVS", "/tmp/appvenvs"))


class Database(Protocol):
    """A throwaway database for the apps: labkit.postgres.PostgresCluster or labkit.mariadb.MariaDB."""

    engine: ClassVar[str]  # LAB_DB_ENGINE: postgres | mysql

    def env(self, pool_size: int, mode: str) -> dict[str, str]:
        """The LAB_DB_* variables of an app on this database."""
        ...

    def worlds(self) -> dict[int, int]:
        """World's rows, id -> randomNumber, read by the superuser."""
        ...


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
    database: Database | None = None

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
    cluster: Database,
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
    names = [framework, mode, cluster.engine, config["server"], config["worker_class"], bind]
    log = log_dir / f"{'-'.join(names)}.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "VIRTUAL_ENV", "PYTHON"))}
    env |= cluster.env(config["db_pool_size"], mode) | {"PATH": f"{venv / 'bin'}:{env.get('PATH', '')}"}
    env |= program_env | (extra_env or {})
    with open(log, "wb") as out:
        process = subprocess.Popen(
            cmd, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, start_new_session=True
        )
    app = AppServer(
        framework, mode, port, process, log, cmd, unix_socket=unix_socket, config=config, database=cluster
    )
    try:
        wait_until_serving(app)
        yield app
    finally:
        stop_process_group(process)


def wait_until_serving(server: AppServer, timeout: float = 60) -> None:
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
