"""aiohttp's own server for the lab: web.run_app on uvloop in N forked processes sharing one listening socket.

Run (the app host's role does, with PYTHONPATH=apps/_common and the working directory apps/aiohttp):

    python serve.py --workers 2 --unix /run/lab/<id>/app/app.sock --backlog 65535
    python serve.py --workers 2 --host 127.0.0.1 --port 8080 --backlog 65535

web.run_app serves one process; this parent is the process management around it. It opens the socket once
(so every worker accepts from the same queue, unix socket or TCP alike), forks the workers, and each worker
imports app.py only after the fork (the database pool opens in the worker's own event loop). SIGTERM or SIGINT
to the parent stops the workers; if a worker exits on its own the parent stops the others and exits 1, so
that supervisord restarts the whole server.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import os
import signal
import socket
import stat
import sys
import time
from collections.abc import Sequence
from types import FrameType

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGQUIT)
SHUTDOWN_TIMEOUT_S = 5.0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--unix", metavar="PATH", help="listen on this unix socket")
    where.add_argument("--host", help="listen on this address (with --port)")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--backlog", type=int, default=2048)
    parser.add_argument("--app", default="app:app", help="module:attribute of the aiohttp Application")
    args = parser.parse_args(argv)
    if args.workers < 1:
        parser.error(f"--workers must be at least 1, not {args.workers}")
    return args


def listening_socket(args: argparse.Namespace) -> socket.socket:
    if args.unix:
        # A socket file left by a server that did not stop cleanly would make bind() fail.
        if os.path.exists(args.unix) and stat.S_ISSOCK(os.stat(args.unix).st_mode):
            os.unlink(args.unix)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(args.unix)
    else:
        family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((args.host, args.port))
    sock.listen(args.backlog)
    sock.set_inheritable(True)
    return sock


def serve(sock: socket.socket, args: argparse.Namespace) -> None:
    """One worker: the app on uvloop, accepting from the shared socket (runs in the forked child)."""
    import uvloop
    from aiohttp import web

    module_name, _, attribute = args.app.partition(":")
    app = getattr(importlib.import_module(module_name), attribute)
    web.run_app(
        app,
        sock=sock,
        backlog=args.backlog,
        access_log=None,
        print=None,
        keepalive_timeout=75,
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        loop=uvloop.new_event_loop(),
    )


def start_worker(sock: socket.socket, args: argparse.Namespace) -> int:
    pid = os.fork()
    if pid == 0:
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)
        code = 0
        try:
            serve(sock, args)
        except BaseException as e:  # the child must never return into the parent's loop
            print(f"serve.py worker {os.getpid()}: {e!r}", file=sys.stderr, flush=True)
            code = 1
        os._exit(code)
    return pid


def stop_workers(workers: set[int]) -> None:
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + SHUTDOWN_TIMEOUT_S + 5
    while workers and time.monotonic() < deadline:
        pid, _ = os.waitpid(-1, os.WNOHANG)
        if pid == 0:
            time.sleep(0.1)
        workers.discard(pid)
    for pid in workers:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


class _Stop(Exception):
    """Raised by the signal handler: waitpid() resumes after a signal (PEP 475) unless the handler raises."""


def _on_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sock = listening_socket(args)
    workers = {start_worker(sock, args) for _ in range(args.workers)}
    for signum in STOP_SIGNALS:
        signal.signal(signum, _on_stop)
    where = args.unix or (f"[{args.host}]:{args.port}" if ":" in args.host else f"{args.host}:{args.port}")
    print(f"serve.py: {args.workers} aiohttp worker(s) on {where}", flush=True)
    code = 0
    try:
        while workers:
            pid, status = os.waitpid(-1, 0)
            if pid in workers:
                print(f"serve.py: worker {pid} exited ({status}), stopping the server", file=sys.stderr)
                workers.discard(pid)
                code = 1
                break
    except _Stop:
        pass
    for signum in STOP_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    stop_workers(workers)
    if args.unix and os.path.exists(args.unix):
        os.unlink(args.unix)
    return code


if __name__ == "__main__":
    sys.exit(main())
