"""``python -m analysis.verify <command>``: the verifier's steps, each usable alone.

    sql [--engine E]             the snapshot statements as JSON {"counters": ..., "worlds": ...}
    http URL --types T,.. --out FILE
                                 every HTTP check of the types; prints {"grades": ..., "load": [types]}
    load URL --type T --out FILE 512 requests at concurrency 512 to the type's database-hit URL
    dbhits --type T --before F --after F --load F
                                 grade one type's database-hit check from snapshot files; prints the checks
    report --framework F --types T,.. --data DIR --out DIR [--target URL]
                                 grade everything in DIR, write verification.txt and summary.json into
                                 --out, print the summary
    phases URL --types T,.. --out DIR [--skew-ms N]
                                 the HTTP checks, then each database type's load, each followed by a quiet
                                 gap, their wall-clock times in DIR/phases.json (on the lab's client, while
                                 recorder.py samples the database on the db host); prints what `http` prints
                                 and the files written
    report --framework F --types T,.. --data DIR --out DIR [--target URL]
                                 (with DIR/phases.json and DIR/recording.jsonl: the snapshot files are first
                                 picked from the recording by time, timeline.py)
    run URL --framework F --types T,.. --out DIR [--engine mysql] --client "CLIENT ARGS"
                                 all of it in one go, on a host where the engine's client (psql, mariadb)
                                 reaches hello_world as a superuser with ARGS (for app developers, and the
                                 tests); --psql is the same as --client

Stdlib only, so the package can also be copied to a client and run as ``python -m verify``. Exit status: 0
when the step ran (the grades are in the output, not in the status), 2 on bad arguments.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .checks import Check
from .db_checks import grade_db_hits
from .http_checks import verify_http
from .load import LoadResult, run_load
from .recorder import CLIENT_FLAGS, Client
from .report import build_report, write_report
from .rules import DB_HITS, DB_TYPES, LOAD_CONCURRENCY, LOAD_REQUESTS, TEST_TYPES, accept_header
from .sequence import PHASES, QuietGaps, db_types_to_load, run_phases, verify_framework
from .sql import ENGINES, SESSION_SETUP, counters_exact, examined_unit, parse_counters, statements_json
from .timeline import attribute

# Beyond twice the clock skew, a quiet gap holds this long: a few counter samples and a World snapshot of the
# recorder (recorder.py: every 0.04 s; World once the counters are still for 0.1 s, at most every 0.2 s).
GAP_MARGIN_S = 0.6


def _types(value: str) -> list[str]:
    types = [t for t in (part.strip() for part in value.split(",")) if t]
    unknown = [t for t in types if t not in TEST_TYPES]
    if unknown or not types:
        raise argparse.ArgumentTypeError(
            f"test types {value!r}: unknown {', '.join(unknown) or '(none given)'};"
            f" allowed: {', '.join(TEST_TYPES)}"
        )
    return list(dict.fromkeys(types))


def _db_type(value: str) -> str:
    if value not in DB_TYPES:
        raise argparse.ArgumentTypeError(
            f"type {value!r} has no database-hit check; allowed: {', '.join(DB_TYPES)}"
        )
    return value


def _write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _print(data: Any) -> None:
    print(json.dumps(data, ensure_ascii=False))


def cmd_http(args: argparse.Namespace) -> int:
    result = verify_http(args.url, args.types, args.timeout)
    _write_json(args.out, result.to_json())
    grades = result.grades()
    _print({"grades": grades, "load": db_types_to_load(args.types, grades)})
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/") + DB_HITS[args.type].path
    result = run_load(url, accept_header(args.type), args.requests, args.concurrency, args.timeout)
    _write_json(args.out, result.to_json())
    _print(result.to_json())
    return 0


def cmd_dbhits(args: argparse.Namespace) -> int:
    snapshots = [_read_json(args.before), _read_json(args.after)]
    before, after = (parse_counters(snapshot) for snapshot in snapshots)
    exact = all(counters_exact(snapshot) for snapshot in snapshots)
    load = LoadResult.from_json(_read_json(args.load))
    checks: list[Check] = grade_db_hits(args.type, before, after, load, exact, examined_unit(snapshots[1]))
    _print([c.to_json() for c in checks])
    return 0


def cmd_phases(args: argparse.Namespace) -> int:
    gaps = QuietGaps(args.skew_ms / 1000, args.margin)
    try:
        run_phases(args.url, args.types, args.out, gaps, args.timeout)
    finally:
        _write_json(args.out / PHASES, gaps.to_json(args.types))
    http = _read_json(args.out / "http.json")
    files = sorted(p.name for p in args.out.iterdir() if p.is_file())
    _print({"grades": http["grades"], "load": db_types_to_load(args.types, http["grades"]), "files": files})
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    attribute(args.data)
    report = build_report(args.framework, args.data, args.types)
    _print(write_report(report, args.out, args.target))
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    client = Client([*shlex.split(args.client), *CLIENT_FLAGS[args.engine]], args.engine)
    try:
        for setup in SESSION_SETUP[args.engine]:
            client.lines(setup)
        report = verify_framework(
            args.framework,
            args.url,
            args.types,
            args.out / "data",
            client.snapshot,
            args.timeout,
            args.engine,
        )
    finally:
        client.close()
    _print(write_report(report, args.out, args.url))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m analysis.verify", description="TFB-grade verification of the test types."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("sql", help="print the snapshot statements as JSON").add_argument(
        "--engine", choices=ENGINES, default="postgres"
    )

    http = commands.add_parser("http", help="every HTTP check of the given types")
    http.add_argument("url", help="base URL of the app, e.g. http://10.0.0.2:8080")
    http.add_argument("--types", type=_types, required=True, help="comma-separated test types")
    http.add_argument("--out", type=Path, required=True, help="where to write the results (JSON)")
    http.add_argument("--timeout", type=float, default=20.0, help="seconds per request (default 20)")

    load = commands.add_parser("load", help="the load of a database-hit check")
    load.add_argument("url", help="base URL of the app")
    load.add_argument("--type", type=_db_type, required=True)
    load.add_argument("--out", type=Path, required=True)
    load.add_argument("--requests", type=int, default=LOAD_REQUESTS)
    load.add_argument("--concurrency", type=int, default=LOAD_CONCURRENCY)
    load.add_argument("--timeout", type=float, default=60.0, help="seconds per request (default 60)")

    dbhits = commands.add_parser("dbhits", help="grade a database-hit check from snapshot files")
    dbhits.add_argument("--type", type=_db_type, required=True)
    dbhits.add_argument("--before", type=Path, required=True)
    dbhits.add_argument("--after", type=Path, required=True)
    dbhits.add_argument("--load", type=Path, required=True)

    phases = commands.add_parser("phases", help="the HTTP checks and the loads, quiet gaps between, times")
    phases.add_argument("url", help="base URL of the app")
    phases.add_argument("--types", type=_types, required=True, help="comma-separated test types")
    phases.add_argument("--out", type=Path, required=True, help="a directory for what the phases write")
    phases.add_argument(
        "--skew-ms", type=float, default=0.0, help="how far the db host's clock may be off this host's (ms)"
    )
    phases.add_argument("--margin", type=float, default=GAP_MARGIN_S, help="seconds of gap beyond 2 x skew")
    phases.add_argument("--timeout", type=float, default=20.0, help="seconds per request (default 20)")

    report = commands.add_parser("report", help="grade a data directory, write verification.txt")
    report.add_argument("--framework", required=True)
    report.add_argument("--types", type=_types, required=True)
    report.add_argument("--data", type=Path, required=True, help="the directory the steps wrote into")
    report.add_argument("--out", type=Path, required=True, help="where verification.txt and summary.json go")
    report.add_argument("--target", default="", help="what was verified (shown in verification.txt)")

    run = commands.add_parser("run", help="every step, with the engine's client reaching the database")
    run.add_argument("url", help="base URL of the app")
    run.add_argument("--framework", required=True)
    run.add_argument("--types", type=_types, required=True)
    run.add_argument("--out", type=Path, required=True)
    run.add_argument("--engine", choices=ENGINES, default="postgres")
    run.add_argument(
        "--client",
        "--psql",
        required=True,
        help='e.g. "psql -h /run/lab/x/postgresql -p 5432 -U postgres -d hello_world", or for mysql'
        ' "mariadb --socket=/run/lab/x/mariadb.sock --user=root --database=hello_world"',
    )
    run.add_argument("--timeout", type=float, default=20.0)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "sql":
        print(statements_json(args.engine))
        return 0
    commands = {
        "http": cmd_http,
        "load": cmd_load,
        "dbhits": cmd_dbhits,
        "phases": cmd_phases,
        "report": cmd_report,
        "run": cmd_run,
    }
    return commands[args.command](args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
