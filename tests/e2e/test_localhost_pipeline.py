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


def test_every_host_was_sampled_for_the_whole_run(benchmark_run: PlaybookRun, results_dir: Path) -> None:
    run_dir = _run_dir(results_dir)
    run = json.loads((run_dir / "run.json").read_text())
    hosts = {h for tier in ("db", "app", "client") for h in run["hosts"][tier]}
    samples = pd.read_csv(run_dir / "resources" / "samples.csv")
    tidy = pd.read_csv(run_dir / "tidy.csv")
    for host in hosts:
        rows = samples[samples.host == host]
        assert set(rows.tier) == {"db+app+client"}, rows.tier.unique()
        # one sample a second from before the first level to after the last one
        assert rows.time_ms.min() < tidy.start_ms.min() and rows.time_ms.max() > tidy.end_ms.max()
        # the sampler's absolute schedule: whole seconds apart; a slot reached too late is left out (rare)
        gaps = rows.time_ms.diff().dropna()
        assert (gaps % 1000 == 0).all() and gaps.gt(1000).mean() < 0.05, gaps.value_counts()
        assert (rows.cpu_user_pct + rows.cpu_system_pct).max() > 10
        assert rows.net_rx_bytes_s.max() > 0 and rows.cswch_s.max() > 0 and rows.mem_used_bytes.min() > 0
        raw = run_dir / "resources" / "raw" / host
        assert {p.name.split(".", 1)[1] for p in raw.iterdir()} == {"sa", "sa.json", "start.json"}
        assert not Path(f"/run/lab/{host}/sampler.pid").exists(), "the sampler must be stopped after the run"
    cores = pd.read_csv(run_dir / "resources" / "cpu_per_core.csv")
    assert set(cores.host) == hosts and cores.core.nunique() >= 1


def test_every_level_has_its_resource_use(benchmark_run: PlaybookRun, results_dir: Path) -> None:
    tidy = pd.read_csv(_run_dir(results_dir) / "tidy.csv")
    columns = ["app_cpu_pct", "db_cpu_pct", "client_cpu_pct", "app_cpu_ms_per_1k_req"]
    columns += ["client_saturated", "db_bound", "p50_ms", "p90_ms"]
    assert (tidy.resource_samples >= 1).all(), tidy[tidy.resource_samples < 1]
    assert tidy[columns[:6]].notna().all().all(), tidy[columns]
    plain = tidy[tidy.pipeline == 1]
    assert plain[["p50_ms", "p90_ms", "p99_ms", "p999_ms"]].notna().all().all()
    assert tidy[tidy.pipeline > 1][["p50_ms", "p99_ms"]].isna().all().all()  # no per-request latency


def test_environment_of_every_host(benchmark_run: PlaybookRun, results_dir: Path) -> None:
    run_dir = _run_dir(results_dir)
    run = json.loads((run_dir / "run.json").read_text())
    environment = json.loads((run_dir / "environment.json").read_text())
    hosts = {h for tier in ("db", "app", "client") for h in run["hosts"][tier]}
    assert set(environment) == hosts
    for record in environment.values():
        assert record["hardware"]["cpu_model"] and record["hardware"]["vcpus"] >= 1
        assert record["hardware"]["memory_mb"] > 0 and record["os"]["kernel"]
        assert record["sysctl"]["net.core.somaxconn"] == "65535"
        assert record["limits"]["nofile_soft"] is None or record["limits"]["nofile_soft"] > 1024
        versions = record["versions"]
        assert versions["python"] and versions["nginx"] and versions["wrk"] and versions["postgres_server"]
        assert set(E2E_FRAMEWORKS) <= set(record["packages"])
        assert any(p.startswith("aiohttp==") for p in record["packages"]["aiohttp"]["packages"])
        assert record["lab"]["git_commit"] == run["git_commit"]
        assert record["settings"]["lab_duration_s"] == 2
        assert not [k for k in record["settings"] if "password" in k or "secret" in k]
    assert "== environment ==" in benchmark_run.output


def test_the_ceiling_was_benchmarked(benchmark_run: PlaybookRun, results_dir: Path) -> None:
    run_dir = _run_dir(results_dir)
    outcome = json.loads((run_dir / "frameworks" / "nginx-ceiling.json").read_text())
    assert outcome["status"] == "ok" and outcome["verify"] == {"json": "pass", "plaintext": "pass"}, outcome
    summary = pd.read_csv(run_dir / "summary.csv")
    ceiling = summary[summary.framework == "nginx-ceiling"]
    assert sorted(set(ceiling.test_type)) == ["json", "plaintext"]
    assert (ceiling.ceiling_fraction == 1.0).all()
    apps = summary[summary.framework.isin(E2E_FRAMEWORKS) & summary.test_type.isin(["json", "plaintext"])]
    assert apps.ceiling_fraction.notna().all() and (apps.ceiling_fraction > 0).all()
    results = json.loads((run_dir / "results.json").read_text())
    assert "nginx-ceiling" not in results["frameworks"]  # TFB's results list the frameworks only
    assert "ofCeiling" in benchmark_run.output
