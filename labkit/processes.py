"""Ports and processes of what labkit starts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def stop_process_group(process: subprocess.Popen[bytes], grace_s: float = 10) -> None:
    """TERM the process group (its id is the leader's PID: started with start_new_session), KILL whatever is
    left after grace_s (a database's clean shutdown may need a minute)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(grace_s)
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
