"""Ports and processes of what labkit starts."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence


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


@contextlib.contextmanager
def held_session(argv: Sequence[str], begin: str, answer: Sequence[str]) -> Iterator[Callable[[], None]]:
    """A database client (argv) that has sent `begin` (a transaction that takes a lock) and printed the lines
    of `answer`; release() rolls it back and ends the client, as does the end of the block."""
    client = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert client.stdin is not None and client.stdout is not None
    stdin = client.stdin

    def release() -> None:
        if not stdin.closed:
            stdin.write("ROLLBACK;\n")
            stdin.close()
            client.wait(10)

    try:
        stdin.write(begin)
        stdin.flush()
        lines = [client.stdout.readline().strip() for _ in answer]
        assert lines == list(answer), lines
        yield release
    finally:
        release()
        if client.poll() is None:
            client.kill()
