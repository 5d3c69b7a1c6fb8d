"""results.json against what TechEmpower's results site reads (tfb-status: Results, TfbWebsiteView,
TestDefinition), through analysis/schemas/tfb-results.schema.json and the checks a schema cannot express."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from analysis.run import load_run
from analysis.tfb_results import TFB_TYPES, build_tfb_results, validate_tfb_results

from .conftest import FULL_RUN

LEVEL_LISTS = {
    "json": "concurrencyLevels",
    "db": "concurrencyLevels",
    "fortune": "concurrencyLevels",
    "plaintext": "pipelineConcurrencyLevels",
    "query": "queryIntervals",
    "update": "queryIntervals",
}


@pytest.fixture(scope="module")
def results(full_run: Path) -> dict[str, Any]:
    value: dict[str, Any] = json.loads((full_run / "results.json").read_text())
    return value


def test_written_results_validate(results: dict[str, Any]) -> None:
    validate_tfb_results(results)
    assert isinstance(results["duration"], int) and results["duration"] == 3


def test_levels_line_up_with_the_level_lists(results: dict[str, Any]) -> None:
    """The site reads rawData[type][framework][i] as the i-th level of the type's level list."""
    for test_type, frameworks in results["rawData"].items():
        for framework, levels in frameworks.items():
            assert len(levels) == len(results[LEVEL_LISTS[test_type]]), (test_type, framework)
            assert all(level["totalRequests"] > 0 for level in levels), (test_type, framework)


def test_frameworks_are_named_the_same_everywhere(results: dict[str, Any]) -> None:
    names = results["frameworks"]
    assert names == ["aiohttp", "flask"]
    assert [m["name"] for m in results["testMetadata"]] == names
    assert set(results["completed"]) == set(names) == set(results["verify"])
    for test_type in ("json", "plaintext", "db", "query"):
        assert sorted(results["succeeded"][test_type] + results["failed"][test_type]) == names
        assert set(results["rawData"][test_type]) == set(results["succeeded"][test_type])
    # aiohttp failed the queries verification: not benchmarked, failed, graded fail.
    assert results["failed"]["query"] == ["aiohttp"]
    assert results["verify"]["aiohttp"]["query"] == "fail"


def _null_duration(r: dict[str, Any]) -> None:
    r["duration"] = None


def _zero_duration(r: dict[str, Any]) -> None:
    r["duration"] = 0


def _git_without_url(r: dict[str, Any]) -> None:
    r["git"] = {"commitId": "abc"}


def _lab_type_name(r: dict[str, Any]) -> None:
    r["rawData"]["queries"] = r["rawData"].pop("query")


def _no_failed(r: dict[str, Any]) -> None:
    del r["failed"]


def _null_levels(r: dict[str, Any]) -> None:
    r["concurrencyLevels"] = None


def _string_requests(r: dict[str, Any]) -> None:
    r["rawData"]["json"]["aiohttp"][0]["totalRequests"] = "12"


def _unknown_verify_type(r: dict[str, Any]) -> None:
    r["verify"]["aiohttp"]["queries"] = "pass"


def _metadata_without_display_name(r: dict[str, Any]) -> None:
    del r["testMetadata"][0]["display_name"]


@pytest.mark.parametrize(
    "break_it",
    [
        _null_duration,
        _zero_duration,
        _git_without_url,
        _lab_type_name,
        _no_failed,
        _null_levels,
        _string_requests,
        _unknown_verify_type,
        _metadata_without_display_name,
    ],
)
def test_schema_rejects_what_the_site_cannot_load(
    results: dict[str, Any], break_it: Callable[[dict[str, Any]], None]
) -> None:
    broken = copy.deepcopy(results)
    break_it(broken)
    with pytest.raises(jsonschema.ValidationError):
        validate_tfb_results(broken)


def test_duration_comes_from_the_data_when_run_json_has_none() -> None:
    data = load_run(FULL_RUN)
    run = {k: v for k, v in data.meta.items() if k != "duration_s"}
    results = build_tfb_results(data.tidy, run, data.frameworks)
    validate_tfb_results(results)
    assert results["duration"] == 3
    assert set(results["rawData"]) == set(TFB_TYPES)
