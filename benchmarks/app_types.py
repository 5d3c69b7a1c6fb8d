"""Each app's test types served directly, measured with wrk in interleaved repeats; prints medians.

    .venv/bin/python -m benchmarks.app_types [--frameworks aiohttp flask] [--modes raw orm]
        [--types json plaintext db queries fortunes updates lookup] [--engines postgres mysql]
        [--demo-rows 1000000] [--repeats 5] [--duration 5] [--connections 64]
        [--worker-class meinheld] [--workers 5] [--pool-size 0] [--baseline /tmp/apps-old]

A benchmark, not a test: it prints figures and fails only when something does not run. It judges a change to
an app in one sitting. Everything is real and local: a throwaway Postgres and, with --engines, a throwaway
MariaDB (labkit/postgres.py, labkit/mariadb.py, as benchmarks/direct_vs_nginx.py does) holding demo_data at
--demo-rows rows (the lab's is a million, labkit's default small), each app under the command line
roles/app_server runs when it serves directly (app_server_matrix.app_server_program), and `wrk -t2 -c64`
against it.

Repeats are interleaved: repeat 1 of every type, then repeat 2, ..., each repeat a fresh start of the app with
a warm-up per type, so a slow spell of the machine (other processes) spreads over all types instead of landing
on one. With --baseline (the root of another checkout, e.g. `git worktree add /tmp/apps-old <commit>`), that
checkout's apps and server matrix (its pool sizes) are measured in the same loop, alternating with this one,
and the table adds the ratio this/baseline per type.

Printed per app, db mode and engine: the median requests/s of each type, db/json (what one database round
trip costs against no database) and queries20/db (what 20 reads cost against one; pipelined reads bring it
towards 1).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from analysis.wrk_text import parse_wrk_text
from labcore import demo_data, test_types
from labkit.apps import AppServer, ensure_venv, load_manifest, wait_until_serving
from labkit.mariadb import MariaDB, mariadb_server
from labkit.paths import REPO
from labkit.postgres import PostgresCluster, postgres_cluster
from labkit.processes import free_port, stop_process_group

# Every type but the scenarios, from the registry; the queries sweeps at the database-hit check's level (20).
PATHS = {
    t.name: t.path + (str(test_types.DB_HIT_QUERIES) if t.sweep == "queries" else "")
    for t in test_types.TEST_TYPES.values()
    if not t.scenario
}
DEFAULT_TYPES = ["json", "plaintext", "db", "queries", "fortunes", "updates"]
MATRIX_PLUGIN = Path("roles/app_server/filter_plugins/app_server_matrix.py")


@dataclass(frozen=True)
class Variant:
    """A checkout whose apps are measured: this one, or the baseline."""

    name: str
    root: Path
    matrix: ModuleType


def load_variant(name: str, root: Path) -> Variant:
    spec = importlib.util.spec_from_file_location(f"app_server_matrix_{name}", root / MATRIX_PLUGIN)
    if spec is None or spec.loader is None:
        raise RuntimeError(f"no server matrix at {root / MATRIX_PLUGIN}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return Variant(name, root.resolve(), module)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--frameworks", nargs="+", default=None, metavar="NAME")
    parser.add_argument("--modes", nargs="+", default=["raw", "orm"], choices=["raw", "orm"])
    parser.add_argument("--types", nargs="+", default=DEFAULT_TYPES, choices=list(PATHS))
    parser.add_argument(
        "--engines", nargs="+", default=["postgres"], choices=["postgres", "mysql"], help="database engines"
    )
    parser.add_argument(
        "--demo-rows", type=int, default=demo_data.ROWS, help="rows of demo_data (the lookup's table)"
    )
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--duration", type=int, default=5, help="seconds per measurement")
    parser.add_argument("--warmup", type=int, default=2, help="seconds of warm-up per type and start")
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument(
        "--timeout", type=int, default=2, help="wrk --timeout in seconds (a later answer counts as an error)"
    )
    parser.add_argument("--server", default="", help="app_server_server (default: the app's)")
    parser.add_argument("--worker-class", default="", help="app_server_worker_class (default: the app's)")
    parser.add_argument("--workers", type=int, default=0, help="0: one per CPU, as the role")
    parser.add_argument("--app-threads", type=int, default=0, help="gthread threads (0: the manifest's)")
    parser.add_argument("--pool-size", type=int, default=0, help="LAB_DB_POOL_SIZE (0: the role's rule)")
    parser.add_argument("--baseline", type=Path, help="root of another checkout, measured interleaved")
    return parser.parse_args(argv)


def app_config(variant: Variant, framework: str, mode: str, args: argparse.Namespace) -> dict[str, object]:
    manifest = load_manifest(framework)
    settings = {
        "server": args.server, "worker_class": args.worker_class, "workers": args.workers,
        "threads": args.app_threads, "nginx": False, "db_pool_size": args.pool_size, "db_mode": mode,
        "cpus": os.cpu_count() or 1,
    }  # fmt: skip
    config: dict[str, object] = variant.matrix.app_server_matrix(
        [framework], {framework: manifest}, settings
    )[framework]
    return config


@contextlib.contextmanager
def serve(
    variant: Variant,
    framework: str,
    mode: str,
    db: PostgresCluster | MariaDB,
    workdir: Path,
    args: argparse.Namespace,
) -> Iterator[AppServer]:
    """The app of this variant's checkout on a free port, as roles/app_server runs it served directly."""
    config = app_config(variant, framework, mode, args)
    venv = ensure_venv(framework)
    port = free_port()
    apps = variant.root / "apps"
    where = {
        "venv": venv, "app_dir": apps / framework, "common_dir": apps / "_common", "backlog": 2048,
        "host": "127.0.0.1", "port": port, "socket": "",
    }  # fmt: skip
    program = variant.matrix.app_server_program(config, where)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LAB_", "VIRTUAL_ENV", "PYTHON"))}
    env |= db.env(int(str(config["db_pool_size"])), mode) | {"PATH": f"{venv / 'bin'}:{env.get('PATH', '')}"}
    env |= program["environment"]
    log = workdir / f"{variant.name}-{framework}-{mode}-{db.engine}.log"
    with open(log, "ab") as out:
        process = subprocess.Popen(
            program["command"], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=variant.root,
            start_new_session=True,
        )  # fmt: skip
    app = AppServer(framework, mode, port, process, log, program["command"], config=dict(config))
    try:
        wait_until_serving(app)
        yield app
    finally:
        stop_process_group(process)


def wrk(url: str, args: argparse.Namespace, duration: int) -> tuple[float, int]:
    """Requests/s and errors (socket errors + non-2xx)."""
    command = ["wrk", "-t", str(args.threads), "-c", str(args.connections), "-d", f"{duration}s"]
    command += ["--timeout", f"{args.timeout}s", url]
    out = subprocess.run(command, check=True, capture_output=True, text=True, timeout=duration + 60)
    result = parse_wrk_text(out.stdout)
    return result.requests_per_sec, result.socket_errors + result.non2xx


Key = tuple[str, str, str, str]  # framework, mode, engine, variant
Figures = dict[Key, dict[str, list[float]]]


def measure_once(app: AppServer, key: Key, repeat: int, args: argparse.Namespace, rps: Figures) -> int:
    """One repeat of every type on a freshly started app; returns the errors."""
    errors = 0
    for test_type in args.types:
        url = f"http://127.0.0.1:{app.port}{PATHS[test_type]}"
        wrk(url, args, args.warmup)
        value, failed = wrk(url, args, args.duration)
        errors += failed
        rps.setdefault(key, {}).setdefault(test_type, []).append(value)
        note = f" ({failed} errors)" if failed else ""
        print(f"  {' '.join(key)} #{repeat} {test_type}: {value:,.0f} req/s{note}", file=sys.stderr)
    return errors


def measure(args: argparse.Namespace, variants: Sequence[Variant]) -> tuple[Figures, dict[Key, str], int]:
    rps: Figures = {}
    labels: dict[Key, str] = {}
    errors = 0
    frameworks = args.frameworks or sorted(p.parent.name for p in (REPO / "apps").glob("*/lab.yml"))
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="lab-bench-")))
        servers: dict[str, PostgresCluster | MariaDB] = {}
        for engine in args.engines:
            if engine == "postgres":
                servers[engine] = stack.enter_context(postgres_cluster(args.demo_rows))
            else:
                servers[engine] = stack.enter_context(mariadb_server(args.demo_rows))
        for framework in frameworks:
            modes = [m for m in args.modes if m in load_manifest(framework)["db_modes"]]
            for mode in modes:
                for repeat in range(1, args.repeats + 1):
                    for engine, db in servers.items():
                        for variant in variants:
                            key = (framework, mode, engine, variant.name)
                            with serve(variant, framework, mode, db, workdir, args) as app:
                                labels[key] = (
                                    f"{app.config['label']}, pool {app.config['db_pool_size']} per worker"
                                )
                                errors += measure_once(app, key, repeat, args, rps)
    return rps, labels, errors


def table(
    args: argparse.Namespace,
    rps: dict[Key, dict[str, list[float]]],
    labels: dict[Key, str],
    variants: Sequence[Variant],
) -> str:
    types = list(args.types)
    header = ["app", "mode", "engine", "checkout", *types]
    if "db" in types and "json" in types:
        header.append("db/json")
    if "db" in types and "queries" in types:
        header.append("q20/db")
    rows = [header]
    for key in rps:
        medians = {t: statistics.median(values) for t, values in rps[key].items()}
        row = [*key, *(f"{medians[t]:,.0f}" for t in types)]
        if "db/json" in header:
            row.append(_ratio(medians["db"], medians["json"]))
        if "q20/db" in header:
            row.append(_ratio(medians["queries"], medians["db"]))
        rows.append(row)
        if len(variants) == 2 and key[3] == variants[0].name:
            base = rps.get((*key[:3], variants[1].name))
            if base:
                ratios = [_ratio(medians[t], statistics.median(base[t])) for t in types]
                rows.append(["", "", "", f"{variants[0].name}/{variants[1].name}", *ratios])
    widths = [max(len(row[i]) if i < len(row) else 0 for row in rows) for i in range(len(header))]
    lines = ["  ".join(_cells(row, widths)).rstrip() for row in rows]
    configs = sorted({f"  {k[3]}: {label}" for k, label in labels.items()})
    return "\n".join([*configs, *lines])


def _ratio(a: float, b: float) -> str:
    """a/b, or n/a when nothing was answered in time (b is 0)."""
    return f"{a / b:.2f}" if b else "n/a"


def _cells(row: Sequence[str], widths: Sequence[int]) -> list[str]:
    """Names left-aligned, figures right-aligned."""
    return [
        cell.ljust(width) if i < 4 else cell.rjust(width)
        for i, (cell, width) in enumerate(zip(row, widths, strict=False))
    ]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("wrk") is None:
        print("error: wrk is not on PATH (make test-deps installs it)", file=sys.stderr)
        return 1
    variants = [load_variant("this", REPO)]
    if args.baseline:
        variants.append(load_variant("baseline", args.baseline))
    started = time.monotonic()
    rps, labels, errors = measure(args, variants)
    print(
        f"{args.repeats} interleaved repeats of {args.duration} s (after {args.warmup} s of warm-up), "
        f"wrk -t{args.threads} -c{args.connections} --timeout {args.timeout}s, served directly, "
        f"on {os.cpu_count()} CPU(s) shared by "
        f"wrk, the app and the database; demo_data of {args.demo_rows:,} rows; medians of requests/s;"
        f" {time.monotonic() - started:.0f} s in all"
        + (f"; {errors} socket errors or non-2xx responses" if errors else "")
    )
    print(table(args, rps, labels, variants))
    return 0


if __name__ == "__main__":
    sys.exit(main())
