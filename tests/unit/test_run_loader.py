"""analysis.run.load_run on copies of saved runs: a resumed run, a run with a failed framework, a
verification-only run, and a loaded run that no longer needs its directory."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from analysis.outcome import run_outcome
from analysis.report import run_report
from analysis.run import RunLoadError, load_run
from analysis.summarize import NoLevelData, summarize
from analysis.tidy import TIDY_COLUMNS

from .conftest import REPO

RUNS = REPO / "tests" / "fixtures" / "runs"
FULL_RUN = RUNS / "two-frameworks"
SAMPLER = Path("resources") / "raw" / "localhost"


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, indent=2) + "\n", encoding="utf-8")


@pytest.fixture
def resumed_run(tmp_path: Path) -> Path:
    """The saved two-framework run as if resumed twice: the sampler's file split into two segments (the
    first run's and the resume's), an environment record per segment, the superseded events of a resume."""
    run_dir = tmp_path / "resumed"
    shutil.copytree(FULL_RUN, run_dir)
    sampler = run_dir / SAMPLER
    document = json.loads((sampler / "run-1.sa.json").read_text(encoding="utf-8"))
    statistics = document["sysstat"]["hosts"][0]["statistics"]
    half = len(statistics) // 2
    for segment, part in (("run-1", statistics[:half]), ("run-2", statistics[half:])):
        document["sysstat"]["hosts"][0]["statistics"] = part
        _write_json(sampler / f"{segment}.sa.json", document)
    start = json.loads((sampler / "run-1.start.json").read_text(encoding="utf-8"))
    _write_json(
        sampler / "run-2.start.json", {**start, "segment": "run-2", "start_ms": start["start_ms"] + 1000}
    )
    environment = json.loads((run_dir / "environment.json").read_text(encoding="utf-8"))
    for number in (2, 1):  # written out of order: the segment number orders them
        record = {host: {**facts, "collected_ms": number} for host, facts in environment.items()}
        _write_json(run_dir / f"environment-resume-{number}.json", record)
    (run_dir / "environment-resume-3.json").write_text("{not json", encoding="utf-8")
    (run_dir / "events-superseded.jsonl").write_text(
        json.dumps(
            {
                "framework": "flask",
                "event": "database_unreachable",
                "test_types": ["db"],
                "message": "database unreachable",
                "time_ms": 1795294990000,
            }
        )
        + "\n",
        encoding="utf-8",
    )
    return run_dir


def test_a_resumed_run_keeps_every_segment(resumed_run: Path) -> None:
    run = load_run(resumed_run)
    whole = load_run(FULL_RUN)
    assert [(s.segment, s.file) for s in run.environment_segments] == [
        (0, "environment.json"),
        (1, "environment-resume-1.json"),
        (2, "environment-resume-2.json"),
    ]
    assert run.environment == run.environment_segments[0].hosts == whole.environment
    assert {r["collected_ms"] for r in run.environment_segments[2].hosts.values()} == {2}
    assert [w for w in run.warnings.other if "environment-resume-3.json" in w] == [
        f"{resumed_run / 'environment-resume-3.json'}: unreadable (Expecting property name enclosed in "
        "double quotes: line 1 column 2 (char 1))"
    ]
    # The two sampler segments together are the samples of the one file they were cut from.
    samples = run.resources.samples
    assert set(samples["segment"]) == {"run-1", "run-2"}
    assert samples.drop(columns="segment").equals(whole.resources.samples.drop(columns="segment"))
    # A resume's superseded events are kept apart: they no longer describe the run's points.
    assert [e["framework"] for e in run.superseded_events] == ["flask"]
    assert run.events == () and all("events" not in f for f in run.frameworks.values())
    assert run.tidy.equals(whole.tidy) and len(run.points) == len(whole.points)


def test_a_failed_framework_is_loaded_with_its_reason(sample_run: Path) -> None:
    (sample_run / "events.jsonl").write_text(
        json.dumps({"framework": "ghost", "event": "app_crashed", "test_types": ["json"], "message": "died"})
        + "\n",
        encoding="utf-8",
    )
    run = load_run(sample_run)
    assert run.run_id == "20261121T195000Z"
    assert run.frameworks["broken"]["status"] == "failed"
    assert "broken" not in set(run.tidy["framework"])
    assert set(run.tidy["framework"]) == {"nginx", "pyfix"}
    # A framework whose outcome file was never written still gets its events.
    assert run.frameworks["ghost"]["events"][0]["event"] == "app_crashed"
    assert run.client_hosts == ("client-a", "client-b", "localhost")  # run.json names none: the points do
    failures = run_outcome(run).failures
    assert "broken: failed: verification failed: json body differs" in failures
    assert "ghost: failed" not in " ".join(failures)


def test_a_verification_only_run(tmp_path: Path) -> None:
    """lab_verify_only: the frameworks were verified, nothing was measured."""
    run_dir = tmp_path / "verify-only"
    shutil.copytree(FULL_RUN, run_dir, ignore=shutil.ignore_patterns("raw", "resources"))
    run = load_run(run_dir)
    assert run.points == () and run.tidy.empty and list(run.tidy.columns) == list(TIDY_COLUMNS)
    assert run.warnings.raw == (f"{run_dir / 'raw'}: no raw/ directory",)
    assert set(run.verification) == {"aiohttp", "flask"}
    aiohttp = run.verification["aiohttp"]
    assert aiohttp.summary is not None
    assert run.has_file("verify/aiohttp/verification.txt")
    assert all(str(p).startswith("verify/aiohttp/") for p in aiohttp.files)
    assert run.frameworks["aiohttp"]["verify"]["queries"] == "fail"
    outcome = run_outcome(run, verify_only=True)
    assert outcome.failures == ["aiohttp/queries: failed verification (not benchmarked)"]
    with pytest.raises(NoLevelData, match="no usable level data"):
        summarize(run)


def test_a_loaded_run_needs_its_directory_no_more(sample_run: Path) -> None:
    """summarize and the report work from memory: nothing is read again, nothing is written."""
    run = load_run(sample_run)
    shutil.rmtree(sample_run)
    summary = summarize(run)
    report = run_report(run, summary)
    assert not sample_run.exists()
    assert {p.name for p in report.plots} >= {"throughput-json", "latency-json"}
    assert all(p.png.startswith(b"\x89PNG") and b"<svg" in p.svg for p in report.plots)
    assert run.run_id in report.html and 'data-test-type="json"' in report.html
    assert len(summary.tidy) == len(run.tidy) and "app_cpu_pct" in summary.tidy


def test_a_missing_run_directory(tmp_path: Path) -> None:
    with pytest.raises(RunLoadError, match="no such run directory"):
        load_run(tmp_path / "nope")
