"""results.json in the TechEmpower (TFB) format, built from the tidy frame (docs/test-types.md §5 "Results
format" is the lab's statement of it).

Test type names follow TFB, since its visualizer looks them up by name: the lab's ``queries``, ``fortunes``
and ``updates`` are ``query``, ``fortune`` and ``update`` in rawData, succeeded, failed and verify.

rawData[type][framework] holds one object per level of the type, in level order (the configured levels of
run.json, plus any other level found in the data); a level without data is an empty object, so positions
stay aligned with concurrencyLevels / pipelineConcurrencyLevels / queryIntervals. Each object describes ONE
real repeat: the repeat whose total requests is the median of the level's repeats (the lower median for an
even count), so its strings, counts and times all come from the same measurement. Within that repeat,
requests and error counts are summed over clients, startTime/endTime (epoch seconds, like TFB's) span all
clients, and the latency strings are the worst client's (highest latencyAvg), as wrk printed them.

Open-loop points (lab_load_model: open, docs/load-generators.md) have no place in TFB's format, whose levels
are connections: rawData leaves them out, and a section of the lab's own, ``openLoop``, holds them:
{"offeredRates": [...], "rawData": {type: {framework: [one object per offered rate]}}}, each object the median
repeat (as above) with offeredRps and achievedRps (whole lab), droppedIterations, generatorBehind,
totalRequests, the latencies of the clients' merged histograms in ms (latencyAvgMs, p50Ms ... p9999Ms,
latencyMaxMs) and the error counts as in rawData. The section is absent from a closed-loop run.
"""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd

from analysis.events import failed_types
from analysis.tidy import PERCENTILE_COLUMNS, with_load_model
from labcore import test_types

SCHEMA_PATH = Path(__file__).resolve().parent / "schemas" / "tfb-results.schema.json"
TFB_TYPES = ("json", "db", "query", "fortune", "update", "plaintext", "cached_query")
# The lab's name -> TFB's, from the registry (only where they differ: queries -> query, ...).
LAB_TO_TFB_TYPE = {
    t.name: t.tfb_name for t in test_types.TEST_TYPES.values() if t.tfb_name and t.tfb_name != t.name
}
TEST_METADATA_FIELDS = (
    "name",
    "display_name",
    "framework",
    "language",
    "orm",
    "platform",
    "webserver",
    "database",
    "os",
    "database_os",
    "approach",
    "classification",
    "notes",
    "versus",
    "tags",
)
_ERROR_KEYS = {
    "non2xx": "5xx",
    "errors_connect": "connect",
    "errors_read": "read",
    "errors_write": "write",
    "errors_timeout": "timeout",
}
_UUID_NAMESPACE = uuid.UUID("4f2b8d52-3f7e-4d55-9a0c-6c1d3b7e2a10")


def tfb_type(test_type: str) -> str:
    """The TFB name of a lab test type."""
    return LAB_TO_TFB_TYPE.get(test_type, test_type)


def is_tfb_type(test_type: str) -> bool:
    """False for the lab's own types (the scenarios sleep, cpu, upstream...), which results.json leaves out:
    TFB's format and visualizer know only TFB's types. The tidy data and the tables keep them."""
    return tfb_type(test_type) in TFB_TYPES


def levels_key(test_type: str) -> str:
    """Which run.json list holds the levels of a lab test type (by the lab's or TFB's name)."""
    known = test_types.TEST_TYPES.get(test_type) or test_types.by_tfb_name().get(test_type)
    return known.levels_setting if known else "concurrency_levels"


def _median_repeat(level_rows: pd.DataFrame) -> int:
    """The repeat whose total requests (over clients) is the median; the lower one for an even count."""
    totals = level_rows.groupby("repeat", as_index=False)["totalRequests"].sum()
    ordered = sorted(zip(totals["totalRequests"].tolist(), totals["repeat"].tolist(), strict=True))
    return int(ordered[(len(ordered) - 1) // 2][1])


def _level_object(level_rows: pd.DataFrame) -> dict[str, Any]:
    rows = level_rows[level_rows["repeat"] == _median_repeat(level_rows)]
    worst = rows.sort_values(["latencyAvg_ms", "client"], ascending=[False, True], na_position="last").iloc[0]
    obj: dict[str, Any] = {
        "latencyAvg": str(worst["latencyAvg"]),
        "latencyStdev": str(worst["latencyStdev"]),
        "latencyMax": str(worst["latencyMax"]),
        "totalRequests": int(rows["totalRequests"].sum()),
        "startTime": int(rows["start_ms"].min()) // 1000,
        "endTime": int(rows["end_ms"].max()) // 1000,
    }
    for column, key in _ERROR_KEYS.items():
        count = int(rows[column].sum())
        if count:
            obj[key] = count
    return obj


def _raw_data(tidy: pd.DataFrame, run: Mapping[str, Any]) -> dict[str, dict[str, list[dict[str, Any]]]]:
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {t: {} for t in TFB_TYPES}
    tidy = with_load_model(tidy)
    tidy = tidy[tidy["load_model"] != "open"]
    for (test_type, framework), rows in tidy.groupby(["test_type", "framework"], sort=True):
        if not is_tfb_type(str(test_type)):
            continue
        configured = [int(level) for level in run.get(levels_key(str(test_type))) or []]
        seen = [int(level) for level in rows["level"].tolist()]
        levels = configured + sorted(set(seen) - set(configured))
        by_level = {level: rows[rows["level"] == level] for level in set(seen)}
        raw.setdefault(tfb_type(str(test_type)), {})[str(framework)] = [
            _level_object(by_level[level]) if level in by_level else {} for level in levels
        ]
    return raw


def _number(value: Any) -> float | None:
    return None if pd.isna(value) else float(value)


def _open_level_object(level_rows: pd.DataFrame) -> dict[str, Any]:
    """One offered rate of one framework and type: its median repeat, over the merged clients."""
    row = level_rows[level_rows["repeat"] == _median_repeat(level_rows)].iloc[0]
    dropped = row["dropped_iterations"]
    obj: dict[str, Any] = {
        "offeredRps": _number(row["offered_rps"]),
        "achievedRps": _number(row["achieved_rps"]),
        "droppedIterations": None if pd.isna(dropped) else int(dropped),
        "generatorBehind": bool(row["generator_behind"]),
        "totalRequests": int(row["totalRequests"]),
        "latencyAvgMs": _number(row["latencyAvg_ms"]),
        **{f"{column.removesuffix('_ms')}Ms": _number(row[column]) for column in PERCENTILE_COLUMNS.values()},
        "latencyMaxMs": _number(row["latencyMax_ms"]),
    }
    for column, key in _ERROR_KEYS.items():
        if int(row[column]):
            obj[key] = int(row[column])
    return obj


def open_loop_section(clients: pd.DataFrame, run: Mapping[str, Any]) -> dict[str, Any] | None:
    """The ``openLoop`` section from analysis.clients's merged rows (None without an open-loop point)."""
    rows = with_load_model(clients)
    rows = rows[(rows["load_model"] == "open") & rows["test_type"].map(is_tfb_type)]
    if rows.empty:
        return None
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for (test_type, framework), frame in rows.groupby(["test_type", "framework"], sort=True):
        raw.setdefault(tfb_type(str(test_type)), {})[str(framework)] = [
            _open_level_object(frame[frame["level"] == level]) for level in sorted(set(frame["level"]))
        ]
    rates = [int(r) for r in run.get("offered_rates") or sorted({int(level) for level in rows["level"]})]
    return {"offeredRates": rates, "rawData": raw}


def _status_by_type(
    tidy: pd.DataFrame, run: Mapping[str, Any], frameworks: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    succeeded: dict[str, list[str]] = {t: [] for t in TFB_TYPES}
    failed: dict[str, list[str]] = {t: [] for t in TFB_TYPES}
    totals = tidy.groupby(["test_type", "framework"], as_index=False)["totalRequests"].sum()
    measured = {
        (str(row.test_type), str(row.framework))
        for row in totals.itertuples(index=False)
        if row.totalRequests > 0
    }
    test_types = list(run.get("test_types") or sorted(set(tidy["test_type"])))
    names = list(run.get("frameworks") or sorted(set(tidy["framework"]) | set(frameworks)))
    # A type an event failed (the database was unreachable) keeps its numbers in rawData, but did not succeed.
    event_failures = failed_types(frameworks)
    for test_type in filter(is_tfb_type, test_types):
        for framework in names:
            ok = (test_type, framework) in measured and (test_type, framework) not in event_failures
            target = succeeded if ok else failed
            target.setdefault(tfb_type(test_type), []).append(framework)
    return succeeded, failed


def _completed(
    tidy: pd.DataFrame, names: Sequence[str], frameworks: Mapping[str, Mapping[str, Any]]
) -> dict[str, str]:
    completed: dict[str, str] = {}
    for framework in names:
        info = frameworks.get(framework, {})
        ends = tidy.loc[tidy["framework"] == framework, "end_ms"]
        if info.get("status") == "failed" or ends.empty:
            completed[framework] = str(info.get("reason") or "failed: no benchmark data")
        else:
            completed[framework] = time.strftime("%Y%m%d%H%M%S", time.gmtime(int(ends.max()) / 1000))
    return completed


def _test_metadata(names: Sequence[str], frameworks: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    entries = []
    for framework in names:
        metadata = dict(frameworks.get(framework, {}).get("metadata") or {})
        for field in TEST_METADATA_FIELDS:
            metadata.setdefault(field, [] if field == "tags" else "")
        if not metadata["name"]:
            metadata["name"] = framework
        if not metadata["framework"]:
            metadata["framework"] = framework
        entries.append(metadata)
    return entries


def _int_or_none(value: Any) -> int | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return int(value)


def _duration_s(run: Mapping[str, Any], tidy: pd.DataFrame) -> int:
    """Seconds per level: run.json's duration_s, else the longest one in the data. Never null: TFB's results
    site requires it and divides the requests by it."""
    if run.get("duration_s") is not None:
        return int(run["duration_s"])
    if len(tidy):
        return int(tidy["duration_s"].max())
    raise ValueError("results.json needs a duration: run.json has no duration_s and there is no level data")


def build_tfb_results(
    tidy: pd.DataFrame,
    run: Mapping[str, Any],
    frameworks: Mapping[str, Mapping[str, Any]],
    clients: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The results.json object. ``completionTime`` is null when run.json has no end_ms (interrupted run).

    clients: analysis.clients's merged rows of the same points, for the ``openLoop`` section."""
    run_id = str(run.get("run_id") or (tidy["run_id"].iloc[0] if len(tidy) else ""))
    names = [str(f) for f in run.get("frameworks") or sorted(set(tidy["framework"]) | set(frameworks))]
    start_ms = run.get("start_ms")
    if start_ms is None and len(tidy):
        start_ms = int(tidy["start_ms"].min())
    succeeded, failed = _status_by_type(tidy, run, frameworks)
    commit = run.get("git_commit")
    open_loop = open_loop_section(clients, run) if clients is not None else None
    results: dict[str, Any] = {
        "uuid": str(uuid.uuid5(_UUID_NAMESPACE, run_id)),
        "name": str(run.get("name") or run_id),
        "environmentDescription": str(run.get("environment_description") or ""),
        "git": None
        if not commit
        else {
            "commitId": str(commit),
            "repositoryUrl": str(run.get("git_repository_url") or ""),
            "branchName": str(run.get("git_branch") or ""),
        },
        "startTime": _int_or_none(start_ms),
        "completionTime": _int_or_none(run.get("end_ms")),
        "duration": _duration_s(run, tidy),
        "concurrencyLevels": [int(x) for x in run.get("concurrency_levels") or []],
        "pipelineConcurrencyLevels": [int(x) for x in run.get("pipeline_concurrency_levels") or []],
        "queryIntervals": [int(x) for x in run.get("query_levels") or []],
        "cachedQueryIntervals": [],
        "frameworks": names,
        "rawData": _raw_data(tidy, run),
        "completed": _completed(tidy, names, frameworks),
        "succeeded": succeeded,
        "failed": failed,
        "verify": {
            name: {
                tfb_type(t): str(grade)
                for t, grade in (frameworks.get(name, {}).get("verify") or {}).items()
                if is_tfb_type(t)
            }
            for name in names
        },
        "testMetadata": _test_metadata(names, frameworks),
    }
    if open_loop is not None:
        results["openLoop"] = open_loop
    return results


@cache
def load_schema() -> dict[str, Any]:
    schema: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return schema


def validate_tfb_results(results: Mapping[str, Any]) -> None:
    """Raise jsonschema.ValidationError when results does not match schemas/tfb-results.schema.json."""
    jsonschema.validate(instance=results, schema=load_schema())
