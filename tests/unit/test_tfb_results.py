"""results.json in TFB's format (analysis.tfb_results) and its JSON Schema."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from analysis.raw_files import load_raw_points
from analysis.run_meta import load_frameworks, load_run_json
from analysis.tfb_results import TFB_TYPES, build_tfb_results, tfb_type, validate_tfb_results
from analysis.tidy import build_tidy


def build(run_dir: Path) -> dict[str, Any]:
    run, _ = load_run_json(run_dir)
    frameworks, _ = load_frameworks(run_dir)
    return build_tfb_results(build_tidy(load_raw_points(run_dir).points), run, frameworks)


@pytest.fixture
def results(sample_run: Path) -> dict[str, Any]:
    return build(sample_run)


def test_validates_against_the_schema(results: dict[str, Any]) -> None:
    validate_tfb_results(results)
    json.dumps(results)  # plain JSON types only


def test_top_level_fields(results: dict[str, Any]) -> None:
    assert results["name"] == "sample run built from tests/fixtures/wrk"
    assert results["environmentDescription"].startswith("fixture: 2-core")
    assert results["git"] == {
        "commitId": "0123456789abcdef0123456789abcdef01234567",
        "repositoryUrl": "",
        "branchName": "",
    }
    assert (results["startTime"], results["completionTime"]) == (1795290670000, 1795290705000)
    assert results["duration"] == 2
    assert results["concurrencyLevels"] == [8, 16]
    assert results["pipelineConcurrencyLevels"] == [16]
    assert results["queryIntervals"] == [1, 5]
    assert results["frameworks"] == ["nginx", "pyfix", "broken"]
    assert set(results["rawData"]) == set(TFB_TYPES)


def test_uuid_is_stable_for_a_run(sample_run: Path, results: dict[str, Any]) -> None:
    assert build(sample_run)["uuid"] == results["uuid"]
    run = json.loads((sample_run / "run.json").read_text())
    run["run_id"] = "another"
    (sample_run / "run.json").write_text(json.dumps(run))
    assert build(sample_run)["uuid"] != results["uuid"]


def test_raw_data_one_object_per_level_in_level_order(results: dict[str, Any]) -> None:
    nginx_json = results["rawData"]["json"]["nginx"]
    assert nginx_json == [
        {  # level 8: repeats 155215 and 165942 -> the lower median, repeat 1
            "latencyAvg": "334.89us",
            "latencyStdev": "829.03us",
            "latencyMax": "10.30ms",
            "totalRequests": 155215,
            "startTime": 1795290671,
            "endTime": 1795290673,
        },
        {  # level 16: two clients summed, latency strings of the worse client (b)
            "latencyAvg": "175.32us",
            "latencyStdev": "273.05us",
            "latencyMax": "4.75ms",
            "totalRequests": 133480 + 108405,
            "startTime": 1795290680,
            "endTime": 1795290682,
        },
    ]


def test_raw_data_errors_only_when_non_zero_and_tfb_type_names(results: dict[str, Any]) -> None:
    assert "queries" not in results["rawData"]
    query = results["rawData"]["query"]
    assert query["nginx"][0]["5xx"] == 7278
    assert query["nginx"][1]["connect"] == 7
    assert query["pyfix"][0]["timeout"] == 16
    assert results["rawData"]["json"]["pyfix"][1]["read"] == 9872
    for level in results["rawData"]["json"]["nginx"]:
        assert not {"5xx", "connect", "read", "write", "timeout"} & set(level)
    plaintext = results["rawData"]["plaintext"]
    assert plaintext["nginx"] == [
        {
            "latencyAvg": "1.87ms",
            "latencyStdev": "1.90ms",
            "latencyMax": "19.74ms",
            "totalRequests": 227838,
            "startTime": 1795290682,
            "endTime": 1795290684,
        }
    ]


def test_succeeded_failed_verify_completed(results: dict[str, Any]) -> None:
    assert results["succeeded"]["json"] == ["nginx", "pyfix"]
    assert results["succeeded"]["query"] == ["nginx", "pyfix"]
    assert results["succeeded"]["plaintext"] == ["nginx"]  # pyfix's only plaintext level had 0 requests
    assert results["failed"]["plaintext"] == ["pyfix", "broken"]
    assert results["failed"]["json"] == ["broken"]
    assert results["succeeded"]["db"] == [] and results["failed"]["db"] == []
    assert results["verify"] == {
        "nginx": {"json": "pass", "plaintext": "pass", "query": "warn"},
        "pyfix": {"json": "pass", "plaintext": "pass", "query": "pass"},
        "broken": {"json": "fail"},
    }
    assert results["completed"]["broken"] == "verification failed: json body differs"
    assert results["completed"]["nginx"] == "20261121195130"


def test_test_metadata(results: dict[str, Any]) -> None:
    names = [m["name"] for m in results["testMetadata"]]
    assert names == ["nginx", "pyfix", "broken"]
    pyfix = results["testMetadata"][1]
    assert pyfix["display_name"] == "pyfix [asyncio fixture servers]"
    assert pyfix["language"] == "Python" and pyfix["tags"] == ["fixture"]


def test_missing_level_is_an_empty_object_and_interrupted_run_has_null_completion(sample_run: Path) -> None:
    for suffix in (".txt", ".json", ".meta.json"):
        (sample_run / f"raw/pyfix/queries/localhost/level-q1-r1{suffix}").unlink()
    run = json.loads((sample_run / "run.json").read_text())
    del run["end_ms"]
    (sample_run / "run.json").write_text(json.dumps(run))
    results = build(sample_run)
    validate_tfb_results(results)
    assert results["completionTime"] is None
    assert results["rawData"]["query"]["pyfix"][0] == {}
    assert results["rawData"]["query"]["pyfix"][1]["totalRequests"] == 16


def test_tfb_type_names() -> None:
    assert [tfb_type(t) for t in ("json", "db", "queries", "fortunes", "updates", "plaintext")] == [
        "json",
        "db",
        "query",
        "fortune",
        "update",
        "plaintext",
    ]


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("uuid",), None),
        (("startTime",), "yesterday"),
        (("rawData", "json", "nginx", 0, "latencyAvg"), "334.89"),  # no unit
        (("rawData", "json", "nginx", 0, "totalRequests"), -1),
        (("rawData", "json", "nginx", 0, "5xx"), 0),  # error counts appear only when non-zero
        (("verify", "nginx", "json"), "ok"),
        (("testMetadata", 0, "tags"), "none"),
    ],
)
def test_schema_rejects_bad_documents(results: dict[str, Any], path: tuple[Any, ...], value: Any) -> None:
    bad = copy.deepcopy(results)
    target = bad
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate_tfb_results(bad)


@pytest.mark.parametrize("key", ["rawData", "succeeded", "testMetadata", "queryIntervals"])
def test_schema_requires_top_level_keys(results: dict[str, Any], key: str) -> None:
    bad = dict(results)
    del bad[key]
    with pytest.raises(jsonschema.ValidationError, match=key):
        validate_tfb_results(bad)
