"""The scenario types (sleep, cpu, upstream, upstream_sync) in the analysis: in the tidy data and the tables,
left out of results.json (TFB's format knows only TFB's types)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from analysis.raw_files import load_raw_points
from analysis.run_meta import load_frameworks, load_run_json
from analysis.tables import build_summary, render_tables
from analysis.tfb_results import TFB_TYPES, build_tfb_results, is_tfb_type, validate_tfb_results
from analysis.tidy import build_tidy
from labcore import test_types

REPO = Path(__file__).resolve().parents[2]
SCENARIO_TYPES = ("sleep", "cpu", "upstream", "upstream_sync")


def _add_scenario_points(run_dir: Path, test_type: str) -> None:
    """pyfix's json points, relabelled as a scenario type (the analysis reads the type from the meta file)."""
    source = run_dir / "raw" / "pyfix" / "json"
    target = run_dir / "raw" / "pyfix" / test_type
    shutil.copytree(source, target)
    for meta_path in target.rglob("*.meta.json"):
        meta = json.loads(meta_path.read_text())
        meta["test_type"] = test_type
        meta_path.write_text(json.dumps(meta))
    run = json.loads((run_dir / "run.json").read_text())
    run["test_types"].append(test_type)
    (run_dir / "run.json").write_text(json.dumps(run))
    fw_path = run_dir / "frameworks" / "pyfix.json"
    framework = json.loads(fw_path.read_text())
    framework["verify"][test_type] = "pass"
    fw_path.write_text(json.dumps(framework))


def test_is_tfb_type() -> None:
    assert all(is_tfb_type(t) for t in ("json", "plaintext", "db", "queries", "fortunes", "updates"))
    assert not any(is_tfb_type(t) for t in SCENARIO_TYPES)


def test_scenario_types_are_in_the_tables_but_not_in_results_json(sample_run: Path) -> None:
    for test_type in SCENARIO_TYPES:
        _add_scenario_points(sample_run, test_type)
    run, _ = load_run_json(sample_run)
    frameworks, _ = load_frameworks(sample_run)
    tidy = build_tidy(load_raw_points(sample_run).points)

    assert set(SCENARIO_TYPES) <= set(tidy["test_type"])
    json_rows = tidy[(tidy["test_type"] == "json") & (tidy["framework"] == "pyfix")]
    sleep_rows = tidy[tidy["test_type"] == "sleep"]
    assert sleep_rows["totalRequests"].tolist() == json_rows["totalRequests"].tolist()
    summary = build_summary(tidy)
    assert set(SCENARIO_TYPES) <= set(summary["test_type"])
    assert set(summary.loc[summary["test_type"] == "cpu", "level_name"]) == {"concurrency"}
    tables = render_tables(summary)
    assert "== sleep: Sorted by requestsPerSecond (descending) ==" in tables
    assert "== upstream_sync: Sorted by latencyAvg (ascending) ==" in tables

    results = build_tfb_results(tidy, run, frameworks)
    validate_tfb_results(results)
    assert set(results["rawData"]) == set(TFB_TYPES)
    assert set(results["succeeded"]) | set(results["failed"]) <= set(TFB_TYPES)
    assert "pyfix" in results["succeeded"]["json"]
    assert set(results["verify"]["pyfix"]) == {"json", "plaintext", "query"}


def test_test_type_specs_of_the_scenarios() -> None:
    """The registry (labcore/test_types.py): each scenario is a concurrency sweep of its route, marked
    scenario."""
    specs = test_types.specs()
    expected_paths = {
        "sleep": "/sleep?ms={sleep_ms}",
        "cpu": "/cpu?n={cpu_n}",
        "upstream": "/upstream?ms={upstream_ms}",
        "upstream_sync": "/upstream?client=sync&ms={upstream_ms}",
    }
    for test_type, path in expected_paths.items():
        spec = specs[test_type]
        assert (spec["path"], spec["sweep"], spec["accept"], spec["scenario"]) == (
            path,
            "concurrency",
            "json",
            True,
        )
    assert not any(spec["scenario"] for name, spec in specs.items() if name not in expected_paths)
