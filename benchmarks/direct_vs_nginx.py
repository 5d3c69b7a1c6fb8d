"""Each framework served directly and behind nginx, measured with wrk on this machine; prints a table.

    .venv/bin/python benchmarks/direct_vs_nginx.py [--frameworks aiohttp flask] [--types json db]
                                                   [--connections 64 256] [--duration 5]
    (or .venv/bin/python -m benchmarks.direct_vs_nginx ...)

A benchmark, not a test: it prints figures and fails only when something does not run. Everything is real
and local: a throwaway Postgres (labkit.postgres), each framework under its default server and
worker class with the command line roles/app_server runs (app_server_matrix.app_server_program), and for the
"nginx" column an nginx started from the role's own template (roles/app_server/templates/nginx.conf.j2) in
front of the app's unix socket. "direct" is the app server on TCP, as with app_server_nginx: false.

On one host wrk, nginx, the app and Postgres share the CPUs, so the figures say how the two set-ups compare on
this machine, not what either reaches on dedicated hosts.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Run as a script (python benchmarks/direct_vs_nginx.py), Python puts benchmarks/ first on the path, not the
# repository whose packages it imports.
if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from analysis.wrk_text import parse_wrk_text
from labkit.apps import AppServer, app_server, frameworks
from labkit.nginx import render_nginx_conf
from labkit.postgres import PostgresCluster, postgres_cluster
from labkit.processes import free_port

PATHS = {"json": "/json", "plaintext": "/plaintext", "db": "/db", "queries": "/queries?queries=20"}
MODES = ("direct", "nginx")


@dataclass(frozen=True)
class Point:
    framework: str
    label: str
    test_type: str
    connections: int
    mode: str
    requests_per_sec: float
    latency_avg_ms: float
    latency_p99_ms: float | None
    errors: int


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--frameworks", nargs="+", default=frameworks(), metavar="NAME")
    parser.add_argument("--types", nargs="+", default=["json", "db"], choices=sorted(PATHS))
    parser.add_argument("--connections", nargs="+", type=int, default=[64, 256])
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per test type")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    return parser.parse_args(argv)


@contextlib.contextmanager
def nginx_in_front(workdir: Path, socket: Path) -> Iterator[int]:
    port = free_port()
    conf = render_nginx_conf(workdir, socket, port, rendered_by="benchmarks/direct_vs_nginx.py")
    process = subprocess.Popen(
        ["nginx", "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 10
        while subprocess.run(["curl", "-sf", "-o", "/dev/null", f"http://127.0.0.1:{port}/json"]).returncode:
            if process.poll() is not None or time.monotonic() > deadline:
                error = process.stderr.read().decode() if process.stderr else ""
                raise RuntimeError(f"nginx did not answer on {port}: {error}")
            time.sleep(0.2)
        yield port
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGQUIT)
        process.wait(15)


def wrk(url: str, connections: int, duration: int) -> Any:
    threads = min(connections, os.cpu_count() or 1)
    command = ["wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s", "--latency", url]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=duration + 60)
    return parse_wrk_text(out.stdout)


def measure(app: AppServer, port: int, mode: str, args: argparse.Namespace) -> list[Point]:
    points = []
    for test_type in args.types:
        url = f"http://127.0.0.1:{port}{PATHS[test_type]}"
        wrk(url, max(args.connections), args.warmup)
        for connections in args.connections:
            time.sleep(1)
            result = wrk(url, connections, args.duration)
            points.append(
                Point(
                    framework=app.framework,
                    label=app.config["label"],
                    test_type=test_type,
                    connections=connections,
                    mode=mode,
                    requests_per_sec=result.requests_per_sec,
                    latency_avg_ms=result.latency_avg_ms,
                    latency_p99_ms=result.percentiles_ms.get("99"),
                    errors=result.socket_errors + result.non2xx,
                )
            )
            rps = result.requests_per_sec
            print(f"  {mode} {test_type} c={connections}: {rps:.0f} req/s", file=sys.stderr)
    return points


def run_framework(
    framework: str, pg: PostgresCluster, workdir: Path, args: argparse.Namespace
) -> list[Point]:
    points = []
    with app_server(framework, "raw", pg, workdir, workers=args.workers, pool_size=0) as app:
        points += measure(app, app.port, "direct", args)
    socket = workdir / f"{framework}.sock"
    with (
        app_server(
            framework, "raw", pg, workdir, workers=args.workers, pool_size=0, unix_socket=socket
        ) as app,
        nginx_in_front(workdir / f"nginx-{framework}", socket) as port,
    ):
        points += measure(app, port, "nginx", args)
    return points


def table(points: Sequence[Point]) -> str:
    header = ("framework", "type", "conns", "direct req/s", "nginx req/s", "nginx/direct",
              "direct p99", "nginx p99", "errors d/n")  # fmt: skip
    rows = [header]
    keys = sorted({(p.framework, p.test_type, p.connections) for p in points})
    by_key = {(p.framework, p.test_type, p.connections, p.mode): p for p in points}
    for framework, test_type, connections in keys:
        direct, nginx = (by_key.get((framework, test_type, connections, mode)) for mode in MODES)
        if direct is None or nginx is None:
            continue
        ratio = nginx.requests_per_sec / direct.requests_per_sec if direct.requests_per_sec else float("nan")
        rows.append((
            framework, test_type, str(connections), f"{direct.requests_per_sec:,.0f}",
            f"{nginx.requests_per_sec:,.0f}", f"{ratio:.2f}", _ms(direct.latency_p99_ms),
            _ms(nginx.latency_p99_ms), f"{direct.errors}/{nginx.errors}",
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "\n".join(_line(row, widths) for row in rows)


def _line(row: Sequence[str], widths: Sequence[int]) -> str:
    """Names left-aligned, figures right-aligned."""
    cells = [
        cell.ljust(w) if i < 2 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths, strict=True))
    ]
    return "  ".join(cells)


def _ms(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} ms"


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    for tool in ("wrk", "nginx", "curl"):
        if shutil.which(tool) is None:
            print(f"error: {tool} is not on PATH (make test-deps installs it)", file=sys.stderr)
            return 1
    points: list[Point] = []
    labels: dict[str, str] = {}
    with tempfile.TemporaryDirectory(prefix="lab-bench-") as tmp, postgres_cluster() as pg:
        workdir = Path(tmp)
        os.chmod(workdir, 0o755)  # nginx workers (another user when run as root) reach the socket through it
        for framework in args.frameworks:
            print(f"{framework}:", file=sys.stderr)
            framework_points = run_framework(framework, pg, workdir, args)
            labels[framework] = framework_points[0].label.replace(", nginx]", "]").replace(", direct]", "]")
            points += framework_points
    print(
        f"direct vs nginx on {os.cpu_count()} CPU(s), wrk, nginx, the app and Postgres all on this host; "
        f"{args.duration} s per point after a {args.warmup} s warm-up"
    )
    for label in labels.values():
        print(f"  {label}")
    print(table(points))
    return 0


if __name__ == "__main__":
    sys.exit(main())
