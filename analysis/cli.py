"""Command line: ``python -m analysis summarize RUN_DIR``.

summarize reads RUN_DIR (``results/<run-id>`` or the ``results/latest`` symlink), writes tidy.csv, summary.csv
and results.json into the run directory, prints both tables of every test type to stdout and ends with the
path of results.json. Warnings (skipped partial points, levels with errors) go to stderr.

Exit status: 0 on success, 1 when RUN_DIR has no usable level data (or does not exist), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis.raw_files import load_raw_points
from analysis.run_meta import load_frameworks, load_run_json
from analysis.tables import build_summary, render_tables
from analysis.tfb_results import build_tfb_results, validate_tfb_results
from analysis.tidy import build_tidy, error_warnings

EXIT_NO_DATA = 1


def _warn(lines: Sequence[str]) -> None:
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)


def summarize(run_dir_arg: str) -> int:
    run_dir = Path(run_dir_arg).resolve()
    if not run_dir.is_dir():
        print(f"error: {run_dir_arg}: no such run directory", file=sys.stderr)
        return EXIT_NO_DATA
    run, run_warnings = load_run_json(run_dir)
    frameworks, framework_warnings = load_frameworks(run_dir)
    loaded = load_raw_points(run_dir)
    _warn([*run_warnings, *framework_warnings, *loaded.warnings])

    tidy = build_tidy(loaded.points, run_id=str(run.get("run_id") or run_dir.name))
    if tidy.empty:
        print(
            f"error: {run_dir_arg}: no usable level data under {run_dir / 'raw'} "
            f"({len(loaded.points)} complete point(s), none with phase 'level')",
            file=sys.stderr,
        )
        return EXIT_NO_DATA
    _warn([f"level with errors: {line}" for line in error_warnings(tidy)])

    summary = build_summary(tidy)
    results = build_tfb_results(tidy, run, frameworks)
    validate_tfb_results(results)

    tidy.to_csv(run_dir / "tidy.csv", index=False)
    summary.to_csv(run_dir / "summary.csv", index=False)
    results_path = run_dir / "results.json"
    results_path.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")

    print(render_tables(summary))
    print(f"results: {results_path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description="Analysis of lab runs.")
    commands = parser.add_subparsers(dest="command", required=True)
    summarize_parser = commands.add_parser(
        "summarize", help="write tidy.csv, summary.csv, results.json into RUN_DIR and print the tables"
    )
    summarize_parser.add_argument("run_dir", metavar="RUN_DIR", help="results/<run-id> or results/latest")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "summarize":
        return summarize(args.run_dir)
    return 2  # pragma: no cover - argparse rejects unknown commands
