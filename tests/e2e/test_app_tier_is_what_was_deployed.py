"""The app tier is exactly what was deployed (issue 14, point 6).

- A framework dropped from lab_frameworks is stopped and its program removed by the next provisioning, so it
  cannot go on answering on the clients' port under another framework's name.
- lab-appctl activate proves that what answers is the framework it activated: another process on the
  clients' port (here one sharing it with nginx through SO_REUSEPORT, so /json still answers) fails the
  activation, naming that process.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

from ..labrun import HOST_ID
from .conftest import E2E_FRAMEWORKS, PlaybookRun, run_playbook

APPCTL = Path(f"/opt/lab/{HOST_ID}/bin/lab-appctl")
PROGRAMS = Path(f"/etc/lab/{HOST_ID}/supervisor.d")
# Answers every request with 200, on a socket that joins nginx's SO_REUSEPORT group on 127.0.0.1:8080.
SQUATTER = """
import socket
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
server.bind(("127.0.0.1", 8080))
server.listen(64)
print("listening", flush=True)
while True:
    conn, _ = server.accept()
    conn.recv(65536)
    conn.sendall(b"HTTP/1.1 200 OK\\r\\nContent-Length: 2\\r\\nConnection: close\\r\\n\\r\\n{}")
    conn.close()
"""


def _appctl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(APPCTL), *args], capture_output=True, text=True, timeout=180, check=False)


def test_a_framework_no_longer_deployed_is_stopped_and_removed(provisioned: PlaybookRun) -> None:
    assert _appctl("activate", "flask").returncode == 0
    try:
        # The app tier alone, as the scenario sweep deploys (the other tiers stay as they were).
        run = run_playbook("site.yml", "--tags", "app_server", extra={"lab_frameworks": ["aiohttp"]})
        assert run.returncode == 0, run.output[-6000:]
        assert not (PROGRAMS / "app-flask.conf").exists()
        assert not Path(f"/etc/lab/{HOST_ID}/app-flask.json").exists()
        status = _appctl("status").stdout
        assert "app-flask" not in status and "app-aiohttp" in status, status
        refused = _appctl("activate", "flask")
        assert refused.returncode == 2 and "'flask' is not deployed here" in refused.stderr
    finally:
        # The other suites expect both frameworks deployed.
        restored = run_playbook("site.yml", "--tags", "app_server", extra={"lab_frameworks": E2E_FRAMEWORKS})
        assert restored.returncode == 0, restored.output[-6000:]


def test_activation_fails_when_something_else_answers_on_the_port(provisioned: PlaybookRun) -> None:
    assert _appctl("activate", "aiohttp").returncode == 0
    squatter = subprocess.Popen(
        [sys.executable, "-c", SQUATTER], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        assert squatter.stdout is not None and squatter.stdout.readline().strip() == "listening"
        with socket.create_connection(("127.0.0.1", 8080), timeout=5):
            pass
        failed = _appctl("activate", "aiohttp")
        assert failed.returncode == 1, failed.stdout + failed.stderr
        assert f"the port 8080 is also held by pid {squatter.pid} (" in failed.stderr, failed.stderr
        assert "which is not nginx (RUNNING)" in failed.stderr
    finally:
        squatter.kill()
        squatter.wait(timeout=10)
    time.sleep(0.5)
    again = _appctl("activate", "aiohttp")
    assert again.returncode == 0, again.stderr
