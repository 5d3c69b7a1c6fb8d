"""The spine, for real: provision Postgres, nginx + gunicorn and wrk on localhost, benchmark, analyze."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from analysis.tfb_results import validate_tfb_results

from .conftest import (
    CONCURRENCY_LEVELS,
    E2E_FRAMEWORKS,
    PIPELINE_LEVELS,
    QUERY_LEVELS,
    REPO,
    PlaybookRun,
    run_playbook,
)

TYPES = ["json", "plaintext", "db", "queries"]
LEVELS_BY_TYPE = {"plaintext": PIPELINE_LEVELS, "queries": QUERY_LEVELS}


def _run_dir(results_dir: Path) -> Path:
    latest = results_dir / "latest"
    assert latest.is_symlink(), "results/latest must point at the newest run"
    return latest.resolve()


def test_second_provisioning_changes_nothing(provisioned: PlaybookRun) -> None:
    again = run_playbook("site.yml", extra={"lab_frameworks": E2E_FRAMEWORKS})
    assert again.returncode == 0, again.output[-4000:]
    assert again.recap()["localhost"]["changed"] == 0, again.output[-8000:]


def test_check_mode_reports_no_changes_on_a_provisioned_host(provisioned: PlaybookRun) -> None:
    check = run_playbook("site.yml", "--check", extra={"lab_frameworks": E2E_FRAMEWORKS})
    assert check.returncode == 0, check.output[-4000:]
    assert check.recap()["localhost"]["changed"] == 0, check.output[-8000:]


def test_every_level_has_real_requests(benchmark_run: PlaybookRun, results_dir: Path) -> None:
    tidy = pd.read_csv(_run_dir(results_dir) / "tidy.csv")
    for framework in E2E_FRAMEWORKS:
        for test_type in TYPES:
            rows = tidy[(tidy.framework == framework) & (tidy.test_type == test_type)]
            expected = {"plaintext": PIPELINE_LEVELS, "queries": QUERY_LEVELS}.get(
                test_type, CONCURRENCY_LEVELS
            )
            assert sorted(rows.level) == sorted(expected), (framework, test_type, rows)
            assert (rows.totalRequests > 0).all(), (framework, test_type, rows)
            assert (rows.requestsPerSecond == rows.totalRequests / rows.duration_s).all()


def test_raw_output_was_fetched_with_its_metadata(benchmark_run: PlaybookRun, results_dir: Path) -> None:
    raw = _run_dir(results_dir) / "raw"
    for framework in E2E_FRAMEWORKS:
        for test_type in TYPES:
            point_dir = raw / framework / test_type / "localhost"
            stems = {p.name.removesuffix(".meta.json") for p in point_dir.glob("*.meta.json")}
            if test_type == "queries":
                levels = {f"level-q{q}-r1" for q in QUERY_LEVELS}
            elif test_type == "plaintext":
                levels = {f"level-c{c}-r1" for c in PIPELINE_LEVELS}
            else:
                levels = {f"level-c{c}-r1" for c in CONCURRENCY_LEVELS}
            assert stems == {"primer-r1", "warmup-r1"} | levels, (framework, test_type, stems)
            for stem in stems:
                assert (point_dir / f"{stem}.txt").read_text().startswith("Running "), stem
                meta = json.loads((point_dir / f"{stem}.meta.json").read_text())
                assert meta["exit_code"] == 0 and meta["end_ms"] > meta["start_ms"], meta


def test_results_json_is_tfb_compatible(benchmark_run: PlaybookRun, results_dir: Path) -> None:
    run_dir = _run_dir(results_dir)
    results = json.loads((run_dir / "results.json").read_text())
    validate_tfb_results(results)
    assert sorted(results["frameworks"]) == sorted(E2E_FRAMEWORKS)
    assert results["completed"] and results["completionTime"]
    for framework in E2E_FRAMEWORKS:
        assert all(grade == "pass" for grade in results["verify"][framework].values()), results["verify"]
    run = json.loads((run_dir / "run.json").read_text())
    assert run["end_ms"] >= run["start_ms"] and run["git_commit"]
    assert (run_dir / "summary.csv").stat().st_size > 0


def test_tables_are_printed_for_every_type(benchmark_run: PlaybookRun) -> None:
    for test_type in TYPES:
        assert f"== {test_type}: Sorted by requestsPerSecond" in benchmark_run.output
        assert f"== {test_type}: Sorted by latencyAvg" in benchmark_run.output
    assert "results: " in benchmark_run.output


def test_no_secret_in_results_or_logs(benchmark_run: PlaybookRun, results_dir: Path) -> None:
    secret = (REPO / ".secrets" / "benchmarkdbuser.password").read_text().strip()
    assert len(secret) >= 16
    assert secret not in benchmark_run.output
    for path in _run_dir(results_dir).rglob("*"):
        if path.is_file() and path.suffix != ".gz":
            assert secret not in path.read_text(errors="replace"), path
