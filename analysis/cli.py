"""Command line: ``python -m analysis summarize RUN_DIR``.

summarize reads RUN_DIR (``results/<run-id>`` or the ``results/latest`` symlink), writes tidy.csv,
summary.csv, results.json, plots/ and report.html into the run directory, prints both tables of every test
type to stdout and ends with the paths of results.json and of the report. Warnings (skipped partial points,
levels with errors) go to stderr.

compare A B prints, per framework x test type x level, B's median requests per second relative to A's and
whether the difference is significant (Welch's t-test over the repeats; analysis.compare).

report-compare A B writes one HTML file comparing run B with run A (default: B/compare-<A's id>.html) and
prints its path.

resume RUN_DIR --now FILE [--apply] checks that a resume measures what the run measured (analysis.resume) and
prints what it must measure again.

outcome RUN_DIR [--verify-only] prints the run's closing summary: every framework or test type that failed,
and what only flags the numbers (analysis.outcome). Exit status 3 when anything failed.

Every command loads each run directory once (analysis.run.load_run) and hands the Run to pure functions
(analysis.summarize, analysis.report, analysis.compare, analysis.outcome); this module and analysis.outputs
are the only layer that prints or writes.

Exit status: 0 on success, 1 when RUN_DIR has no usable level data (or does not exist), 2 on usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from analysis.compare import CompareError, compare_runs
from analysis.outcome import EXIT_FAILED, run_outcome
from analysis.outputs import write_report, write_summary, write_text
from analysis.report import comparison_report, run_report
from analysis.resume import plan
from analysis.run import Run, load_run
from analysis.summarize import NoLevelData
from analysis.summarize import summarize as summarize_run

EXIT_NO_DATA = 1


def _warn(lines: Sequence[str]) -> None:
    for line in lines:
        print(f"warning: {line}", file=sys.stderr)


def _load(arg: str) -> Run | None:
    """The run directory ARG loaded, or None (and an error printed) when it is not a directory."""
    run_dir = Path(arg).resolve()
    if not run_dir.is_dir():
        print(f"error: {arg}: no such run directory", file=sys.stderr)
        return None
    return load_run(run_dir)


def summarize(run_dir_arg: str) -> int:
    run = _load(run_dir_arg)
    if run is None:
        return EXIT_NO_DATA
    _warn(run.warnings.loading)
    try:
        summary = summarize_run(run)
    except NoLevelData as exc:
        print(f"error: {run_dir_arg}: {exc}", file=sys.stderr)
        return EXIT_NO_DATA
    _warn(summary.warnings)
    report = run_report(run, summary)
    results_path = write_summary(run.run_dir, summary)
    report_path = write_report(run.run_dir, report)
    print(summary.text, end="")
    print(f"results: {results_path}")
    print(f"report: {report_path}")
    return 0


def compare(a_arg: str, b_arg: str, alpha: float, csv_arg: str | None) -> int:
    runs = []
    for arg in (a_arg, b_arg):
        run_dir = Path(arg).resolve()
        if not run_dir.is_dir():
            print(f"error: {run_dir}: no such run directory", file=sys.stderr)
            return EXIT_NO_DATA
        runs.append(load_run(run_dir))
    try:
        frame, text = compare_runs(runs[0], runs[1], alpha)
    except CompareError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_NO_DATA
    if csv_arg:
        frame.to_csv(csv_arg, index=False)
    print(text, end="")
    return 0


def report_compare(a_arg: str, b_arg: str, out_arg: str | None) -> int:
    runs = []
    for arg in (a_arg, b_arg):
        run = _load(arg)
        if run is None:
            return EXIT_NO_DATA
        if run.tidy.empty:
            print(f"error: {arg}: no usable level data under {run.run_dir / 'raw'}", file=sys.stderr)
            return EXIT_NO_DATA
        runs.append(run)
    a, b = runs
    out = Path(out_arg) if out_arg else b.run_dir / f"compare-{a.run_id}.html"
    print(f"report: {write_text(out, comparison_report(a, b))}")
    return 0


def outcome(run_dir_arg: str, verify_only: bool) -> int:
    run = _load(run_dir_arg)
    if run is None:
        return EXIT_NO_DATA
    verdict = run_outcome(run, verify_only)
    print(verdict.render(), end="")
    return 0 if verdict.ok else EXIT_FAILED


def resume(run_dir_arg: str, now_arg: str, do_apply: bool) -> int:
    run_dir = Path(run_dir_arg).resolve()
    if not run_dir.is_dir():
        print(f"error: {run_dir_arg}: no such run directory", file=sys.stderr)
        return EXIT_NO_DATA
    now = json.loads(Path(now_arg).read_text(encoding="utf-8"))
    print(json.dumps(plan(run_dir, now, do_apply)))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m analysis", description="Analysis of lab runs.")
    commands = parser.add_subparsers(dest="command", required=True)
    summarize_parser = commands.add_parser(
        "summarize", help="write tidy.csv, summary.csv, results.json into RUN_DIR and print the tables"
    )
    summarize_parser.add_argument("run_dir", metavar="RUN_DIR", help="results/<run-id> or results/latest")
    text_compare = commands.add_parser(
        "compare", help="print B relative to A per framework, type and level, with significance (Welch)"
    )
    text_compare.add_argument("run_a", metavar="A", help="the baseline run directory")
    text_compare.add_argument("run_b", metavar="B", help="the run compared with it")
    text_compare.add_argument("--alpha", type=float, default=0.05, help="significance level (default 0.05)")
    text_compare.add_argument("--csv", metavar="FILE", help="also write the comparison as CSV")
    compare_parser = commands.add_parser(
        "report-compare", help="write an HTML report comparing run B with run A (the baseline)"
    )
    compare_parser.add_argument("run_a", metavar="A", help="the baseline run directory")
    compare_parser.add_argument("run_b", metavar="B", help="the run compared with it")
    compare_parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="where to write the report (default: B/compare-<A's run id>.html)",
    )
    outcome_parser = commands.add_parser(
        "outcome", help="print what failed in the run; exit 3 when anything did (the benchmark's exit status)"
    )
    outcome_parser.add_argument("run_dir", metavar="RUN_DIR", help="results/<run-id> or results/latest")
    outcome_parser.add_argument(
        "--verify-only", action="store_true", help="the run only verified (lab_verify_only), measured nothing"
    )
    resume_parser = commands.add_parser(
        "resume", help="compare a resume's settings with the run's; print what must be measured again"
    )
    resume_parser.add_argument("run_dir", metavar="RUN_DIR", help="results/<run-id>")
    resume_parser.add_argument(
        "--now", required=True, metavar="FILE", help="the run.json the resume would write"
    )
    resume_parser.add_argument(
        "--apply", action="store_true", help="when nothing differs: drop the points to measure again"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "summarize":
        return summarize(args.run_dir)
    if args.command == "compare":
        return compare(args.run_a, args.run_b, args.alpha, args.csv)
    if args.command == "report-compare":
        return report_compare(args.run_a, args.run_b, args.output)
    if args.command == "resume":
        return resume(args.run_dir, args.now, args.apply)
    if args.command == "outcome":
        return outcome(args.run_dir, args.verify_only)
    return 2  # pragma: no cover - argparse rejects unknown commands
