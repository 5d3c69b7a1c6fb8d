#!/usr/bin/python3
"""Start, stop or ask after the lab's MariaDB instance where systemd does not run it (roles/mariadb).

    lab-mariadb start|stop|restart|status --defaults-file CNF --pid-file PID --socket SOCK --error-log LOG

start: mariadbd --defaults-file=CNF in a session of its own, then waits until its socket answers with the
protocol's greeting; when mariadbd exits first (a setting it refuses, a port taken), prints the end of its
error log and exits 1. Prints "started" or "running". stop: SIGTERM to the pid of the pid file, then waits
for the process to be gone (InnoDB flushes first); prints "stopped" or "not running". status: exit 0 while it
runs, 3 otherwise. Standard library only: it runs with the host's Python.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

MARIADBD = "/usr/sbin/mariadbd"
POLL_S = 0.2
LOG_LINES = 20


def running_pid(pid_file: Path, defaults_file: str) -> int | None:
    """The pid of the pid file while that process is this instance's mariadbd (not a recycled pid)."""
    try:
        pid = int(pid_file.read_text().split()[0])
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError, IndexError):
        return None
    return pid if f"--defaults-file={defaults_file}".encode() in cmdline else None


def answers(sock_path: str) -> bool:
    """The server's first packet arrived on its socket: the greeting (or an error packet, still an answer)."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(2)
            sock.connect(sock_path)
            header = sock.recv(4)
            return len(header) == 4 and len(sock.recv(1)) == 1
    except OSError:
        return False


def log_tail(path: Path) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-LOG_LINES:])
    except OSError as error:
        return f"(no error log: {error})"


def start(args: argparse.Namespace) -> int:
    if running_pid(Path(args.pid_file), args.defaults_file) is not None:
        print("running")
        return 0
    # mariadbd raises its own open-files limit as root; its output goes to log_error, the rest nowhere.
    process = subprocess.Popen(
        [MARIADBD, f"--defaults-file={args.defaults_file}"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
        close_fds=True,
    )
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            print(
                f"mariadbd exited with {process.returncode} before answering; the end of"
                f" {args.error_log}:\n{log_tail(Path(args.error_log))}",
                file=sys.stderr,
            )
            return 1
        if answers(args.socket):
            print("started")
            return 0
        time.sleep(POLL_S)
    print(
        f"mariadbd (pid {process.pid}) did not answer on {args.socket} within {args.timeout} s; the end of"
        f" {args.error_log}:\n{log_tail(Path(args.error_log))}",
        file=sys.stderr,
    )
    return 1


def stop(args: argparse.Namespace) -> int:
    pid = running_pid(Path(args.pid_file), args.defaults_file)
    if pid is None:
        print("not running")
        return 0
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + args.timeout
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists() or running_pid(Path(args.pid_file), args.defaults_file) is None:
            print("stopped")
            return 0
        time.sleep(POLL_S)
    print(f"mariadbd (pid {pid}) still runs {args.timeout} s after SIGTERM", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "restart", "status"])
    parser.add_argument("--defaults-file", required=True)
    parser.add_argument("--pid-file", required=True)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--error-log", required=True)
    parser.add_argument("--timeout", type=float, default=120)
    args = parser.parse_args(argv)
    if args.action == "status":
        running = running_pid(Path(args.pid_file), args.defaults_file) is not None
        print("running" if running else "not running")
        return 0 if running else 3
    if args.action == "stop":
        return stop(args)
    if args.action == "restart" and stop(args) != 0:
        return 1
    return start(args)


if __name__ == "__main__":
    sys.exit(main())
