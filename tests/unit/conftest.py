"""Shared fixtures of the unit tests: fixture paths, a copy of the sample run, tiny local HTTP servers."""

from __future__ import annotations

import contextlib
import shutil
import socket
import struct
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
# `python -m analysis` runs from the repository root; make `import analysis` work under bare `pytest` too.
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
SAMPLE_RUN = REPO / "tests" / "fixtures" / "runs" / "sample"


@pytest.fixture
def sample_run(tmp_path: Path) -> Path:
    """A writable copy of tests/fixtures/runs/sample."""
    run_dir = tmp_path / "20261121T195000Z"
    shutil.copytree(SAMPLE_RUN, run_dir)
    return run_dir


@pytest.fixture
def wrk_binary() -> str:
    """Path of wrk; the test is skipped where wrk is not installed (apt-get install wrk)."""
    path = shutil.which("wrk")
    if path is None:
        pytest.skip("wrk is not installed (apt-get install wrk)")
    return path


class _HelloHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        body = b"Hello, World!"
        self.send_response(500 if self.path == "/error" else 200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def hello_server() -> Iterator[str]:
    """A keep-alive HTTP/1.1 server on 127.0.0.1: "Hello, World!", or 500 on /error. Yields its URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HelloHandler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def resetting_server() -> Iterator[str]:
    """A server on 127.0.0.1 that resets every connection as soon as a request arrives: zero responses."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            conn.settimeout(1.0)
            with contextlib.suppress(OSError):
                conn.recv(4096)
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(timeout=2)
        listener.close()
