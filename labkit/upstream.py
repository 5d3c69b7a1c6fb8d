"""The lab's upstream service (roles/upstream/files/lab_upstream.py) on a free loopback port, for the scenario
types /upstream calls."""

from __future__ import annotations

import contextlib
import http.client
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from .apps import ensure_venv
from .paths import REPO
from .processes import free_port, stop_process_group

UPSTREAM_SCRIPT = REPO / "roles" / "upstream" / "files" / "lab_upstream.py"
# The upstream service runs on aiohttp and uvloop, which the aiohttp app's venv has.
UPSTREAM_VENV_FRAMEWORK = "aiohttp"


@contextlib.contextmanager
def upstream_service(log_dir: Path, latency_ms: int) -> Iterator[str]:
    """The lab's upstream service on a free loopback port; yields its base URL."""
    python = ensure_venv(UPSTREAM_VENV_FRAMEWORK) / "bin" / "python"
    port = free_port()
    cmd = [str(python), str(UPSTREAM_SCRIPT), "--host", "127.0.0.1", "--port", str(port),
           "--latency-ms", str(latency_ms)]  # fmt: skip
    log = log_dir / "upstream.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for_upstream(process, port, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_process_group(process)


def _wait_for_upstream(process: subprocess.Popen[bytes], port: int, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the upstream exited with {process.returncode}:\n{log.read_text(errors='replace')}"
            )
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        with contextlib.suppress(OSError, http.client.HTTPException):
            conn.request("GET", "/delay?ms=0")
            if conn.getresponse().status == 200:
                return
        conn.close()
        time.sleep(0.1)
    raise RuntimeError(f"the upstream did not answer within {timeout}s:\n{log.read_text(errors='replace')}")
