"""Malformed HTTP never gets a 5xx from our stack and never kills a worker (issue 9, point 6).

Every framework runs as roles/app_server runs it behind nginx: its real server on a unix socket, and a real
nginx configured from the role's own template (roles/app_server/templates/nginx.conf.j2) in front of it.
Each malformed request is written on a raw socket, once straight to the app server's socket and once to
nginx. Any answer must be below 500 (or the connection is closed without one). Afterwards the app still
serves, and the app server's master and worker PIDs are those it had before.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from labkit.apps import AppServer, app_server, ensure_venv, frameworks
from labkit.nginx import render_nginx_conf
from labkit.postgres import PostgresCluster
from labkit.processes import free_port

pytestmark = pytest.mark.needs_postgres

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
# Connection: close makes a server close after its answer, so reading until the close ends promptly.
HOST = b"Host: localhost\r\nConnection: close\r\n"
LONG = 100_000

# (id, bytes sent). Each is a complete request as far as the sender is concerned.
MALFORMED: list[tuple[str, bytes]] = [
    ("garbage-request-line", b"GARBAGE\r\n\r\n"),
    ("method-only", b"GET\r\n\r\n"),
    ("no-version", b"GET /json\r\n\r\n"),
    ("unknown-version", b"GET /json HTTP/9.9\r\n" + HOST + b"\r\n"),
    ("binary-junk", bytes(range(256)) * 8 + b"\r\n\r\n"),
    ("nul-in-path", b"GET /js\x00on HTTP/1.1\r\n" + HOST + b"\r\n"),
    ("non-utf8-query", b"GET /queries?queries=\xff\xfe\xfd HTTP/1.1\r\n" + HOST + b"\r\n"),
    ("unicode-query", "GET /queries?queries=\uff12\uff10 HTTP/1.1\r\n".encode() + HOST + b"\r\n"),
    ("huge-request-line", b"GET /json?" + b"a" * LONG + b" HTTP/1.1\r\n" + HOST + b"\r\n"),
    ("huge-queries-value", b"GET /queries?queries=" + b"9" * LONG + b" HTTP/1.1\r\n" + HOST + b"\r\n"),
    ("huge-header", b"GET /json HTTP/1.1\r\n" + HOST + b"X-Big: " + b"a" * LONG + b"\r\n\r\n"),
    (
        "many-headers",
        b"GET /json HTTP/1.1\r\n"
        + HOST
        + b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 64) for i in range(2000))
        + b"\r\n",
    ),
    ("space-in-header-name", b"GET /json HTTP/1.1\r\n" + HOST + b"Bad Header: x\r\n\r\n"),
    ("header-without-colon", b"GET /json HTTP/1.1\r\n" + HOST + b"NoColonHere\r\n\r\n"),
    ("negative-content-length", b"POST /json HTTP/1.1\r\n" + HOST + b"Content-Length: -1\r\n\r\n"),
    ("non-numeric-content-length", b"POST /json HTTP/1.1\r\n" + HOST + b"Content-Length: abc\r\n\r\n"),
    (
        "two-content-lengths",
        b"POST /json HTTP/1.1\r\n" + HOST + b"Content-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    ),
    (
        "bad-chunk-size",
        b"POST /json HTTP/1.1\r\n" + HOST + b"Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
    ),
    ("unknown-method", b"BREW /json HTTP/1.1\r\n" + HOST + b"\r\n"),
    ("truncated-headers", b"GET /json HTTP/1.1\r\n" + HOST + b"X-Half: "),
]
# The one 5xx that is a correct answer, not a failure: nginx's "505 HTTP Version Not Supported" for a major
# version it does not speak (RFC 9110, 15.6.6). It comes from nginx's parser, before any of our code.
ALLOWED_5XX = {"unknown-version": {505}}


@dataclass
class Stack:
    app: AppServer
    nginx_port: int
    nginx_pid: int


def _render_nginx_conf(root: Path, socket_path: Path, port: int) -> Path:
    """The role's nginx.conf with this test's paths, port and user (the template's own variables)."""
    return render_nginx_conf(
        root,
        socket_path,
        port,
        rendered_by="tests/apps/test_malformed_http.py",
        user="root",
        nofile_limit=4096,
        worker_connections=1024,
        upstream_keepalive=16,
    )


@contextlib.contextmanager
def nginx(root: Path, socket_path: Path) -> Iterator[tuple[int, int]]:
    """A real nginx from the role's template in front of socket_path: (port, master PID)."""
    port = free_port()
    conf = _render_nginx_conf(root, socket_path, port)
    process = subprocess.Popen(
        [NGINX, "-c", str(conf), "-p", str(root), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            if process.poll() is not None:
                raise RuntimeError(
                    f"nginx exited {process.returncode}: {process.stderr.read() if process.stderr else ''!r}"
                )
            # nginx listens before it forks its workers: wait until they are all there (the same set for
            # half a second), or the workers compared before and after the bad requests differ by late ones.
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                workers = children(process.pid)
                time.sleep(0.5)
                if workers and children(process.pid) == workers:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"nginx did not listen on {port}")
            time.sleep(0.1)
        yield port, process.pid
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGQUIT)
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(5)


@pytest.fixture(scope="module", params=frameworks())
def stack(
    request: pytest.FixtureRequest,
    pg: PostgresCluster,
    server_logs: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Stack]:
    framework = request.param
    try:
        ensure_venv(framework)
    except subprocess.CalledProcessError as e:
        pytest.skip(f"cannot build the venv for {framework}: {e.stderr[-2000:]}")
    root = tmp_path_factory.mktemp(f"malformed-{framework}")
    # A short path: unix socket paths are limited to about 100 bytes.
    socket_dir = Path(os.environ.get("TMPDIR", "/tmp")) / f"lab-mal-{os.getpid()}-{framework}"
    socket_dir.mkdir(exist_ok=True)
    try:
        with (
            app_server(framework, "raw", pg, server_logs, unix_socket=socket_dir / "app.sock") as app,
            nginx(root, socket_dir / "app.sock") as (port, nginx_pid),
        ):
            yield Stack(app, port, nginx_pid)
    finally:
        shutil.rmtree(socket_dir, ignore_errors=True)


def children(pid: int) -> set[int]:
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(p) for p in (task / "children").read_text().split()}
    return found


def app_processes(app: AppServer) -> tuple[int, frozenset[int]]:
    """The app server's master PID and its worker PIDs (its children)."""
    assert app.process.poll() is None, f"the app server exited:\n{app.log_text()[-3000:]}"
    return app.process.pid, frozenset(children(app.process.pid))


def exchange(
    address: str | tuple[str, int], payload: bytes, half_close: bool = False, timeout: float = 5
) -> bytes:
    """Send payload on a fresh connection and read until the peer closes (or timeout s of silence).

    half_close: also shut down our side, for a request that would otherwise keep the server waiting."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(address)
        with contextlib.suppress(OSError):  # a server may close as soon as it has seen enough
            sock.sendall(payload)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        received = b""
        with contextlib.suppress(OSError):
            while chunk := sock.recv(65536):
                received += chunk
        return received


def statuses(response: bytes) -> list[int]:
    """Every status line in what came back (a server may answer a pipelined remainder too)."""
    return [int(m.group(1)) for m in re.finditer(rb"(?m)^HTTP/\d(?:\.\d)? (\d{3})", response)]


def _well_formed_get(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()


@pytest.mark.parametrize("via", ["direct", "nginx"])
def test_malformed_requests_get_no_5xx_and_kill_no_worker(stack: Stack, via: str) -> None:
    address: str | tuple[str, int] = (
        str(stack.app.unix_socket) if via == "direct" else ("127.0.0.1", stack.nginx_port)
    )
    before = app_processes(stack.app)
    nginx_before = children(stack.nginx_pid)
    answers: dict[str, list[int]] = {}
    for name, payload in MALFORMED:
        answers[name] = statuses(exchange(address, payload, half_close=name == "truncated-headers"))
    server_errors = {
        name: codes
        for name, codes in answers.items()
        if any(code >= 500 and code not in ALLOWED_5XX.get(name, set()) for code in codes)
    }
    assert not server_errors, f"{stack.app.framework} via {via}: 5xx for {server_errors}; all: {answers}"

    # Still serving, with the same processes: no worker died (and none was respawned).
    ok = statuses(exchange(address, _well_formed_get("/json")))
    assert ok == [200], f"{stack.app.framework} via {via}: /json after the bad requests answered {ok}"
    time.sleep(0.5)  # a worker killed by the last request would be reaped and replaced by now
    assert app_processes(stack.app) == before, stack.app.log_text()[-3000:]
    assert children(stack.nginx_pid) == nginx_before, "an nginx worker died"


def test_some_malformed_requests_are_answered_4xx(stack: Stack) -> None:
    """The server really parsed and refused them (a test where nothing answers would prove nothing)."""
    codes = statuses(exchange(str(stack.app.unix_socket), MALFORMED[0][1]))
    codes += statuses(exchange(("127.0.0.1", stack.nginx_port), MALFORMED[0][1]))
    codes += statuses(exchange(("127.0.0.1", stack.nginx_port), dict(MALFORMED)["huge-header"]))
    assert codes and all(400 <= code < 500 for code in codes), codes
