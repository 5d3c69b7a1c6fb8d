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


@contextlib.contextmanager
def serving_nginx(conf: str, port: int, error_log: str, timeout_s: float = 10) -> Iterator[int]:
    """A throwaway nginx (`nginx -c conf`, its config with `daemon off`) until it accepts connections on
    127.0.0.1:port; yields its master's PID and stops it when the block ends. A start that fails shows the
    end of error_log."""
    proc = subprocess.Popen(["nginx", "-c", conf])
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    with open(error_log, encoding="utf-8", errors="replace") as log:
                        raise RuntimeError(f"nginx did not start: {log.read()[-2000:]}") from None
                time.sleep(0.05)
        yield proc.pid
    finally:
        proc.terminate()
        proc.wait(timeout=10)
