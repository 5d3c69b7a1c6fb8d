"""The tidy frame (analysis.tidy) built from the sample run."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.raw_files import load_raw_points
from analysis.tidy import LATENCY_MS_COLUMNS, TIDY_COLUMNS, build_tidy, error_warnings


@pytest.fixture
def tidy(sample_run: Path) -> pd.DataFrame:
    return build_tidy(load_raw_points(sample_run).points, run_id="fallback")


def one(tidy: pd.DataFrame, framework: str, test_type: str, level: int, repeat: int = 1) -> pd.Series:
    rows = tidy[
        (tidy["framework"] == framework)
        & (tidy["test_type"] == test_type)
        & (tidy["level"] == level)
        & (tidy["repeat"] == repeat)
    ]
    assert len(rows) == 1
    return rows.iloc[0]


def test_shape_columns_and_order(tidy: pd.DataFrame) -> None:
    assert list(tidy.columns) == list(TIDY_COLUMNS)
    assert len(tidy) == 12  # 13 complete points, minus the primer
    keys = list(
        zip(tidy["framework"], tidy["test_type"], tidy["level"], tidy["repeat"], tidy["client"], strict=True)
    )
    assert keys == sorted(keys)
    assert set(tidy["run_id"]) == {"20261121T195000Z"}  # from the meta files, not the fallback
    assert tidy["duration_s"].eq(2.0).all()


def test_one_row_per_framework_type_level_repeat_client(tidy: pd.DataFrame) -> None:
    keys = ["framework", "test_type", "level", "repeat", "client"]
    assert not tidy.duplicated(keys).any()
    two_clients = tidy[(tidy["framework"] == "nginx") & (tidy["test_type"] == "json") & (tidy["level"] == 16)]
    assert list(two_clients["client"]) == ["client-a", "client-b"]
    assert list(two_clients["concurrency"]) == [8, 8]
    assert list(two_clients["totalRequests"]) == [133480, 108405]


def test_requests_per_second_uses_the_configured_duration(tidy: pd.DataFrame) -> None:
    row = one(tidy, "nginx", "json", 8)
    assert row["totalRequests"] == 155215
    assert row["requestsPerSecond"] == pytest.approx(155215 / 2)
    assert row["wrk_duration_s"] == pytest.approx(2.002749)  # wrk ran a little longer than configured
    assert (tidy["requestsPerSecond"] * tidy["duration_s"]).round().astype(int).tolist() == tidy[
        "totalRequests"
    ].tolist()


def test_numbers_from_json_and_strings_from_text(tidy: pd.DataFrame) -> None:
    row = one(tidy, "nginx", "json", 8)
    assert row["latencyAvg_ms"] == pytest.approx(0.33488923487544486)
    assert row["latencyStdev_ms"] == pytest.approx(0.82903083727012495)
    assert row["latencyMax_ms"] == pytest.approx(10.3)
    assert (row["latencyAvg"], row["latencyStdev"], row["latencyMax"]) == ("334.89us", "829.03us", "10.30ms")
    assert [row[c] for c in ("p50_ms", "p75_ms", "p90_ms", "p99_ms", "p999_ms", "p9999_ms")] == pytest.approx(
        [0.081, 0.144, 0.833, 4.238, 8.058, 9.822]
    )
    assert row["bytes"] == 24989615
    assert row["url"] == "http://127.0.0.1:18080/plaintext"
    assert row["source"] == "raw/nginx/json/localhost/level-c8-r1"
    assert not row["has_errors"]


def test_pipelined_latency_is_blank_but_wrk_strings_are_kept(tidy: pd.DataFrame) -> None:
    row = one(tidy, "nginx", "plaintext", 16)
    assert row["pipeline"] == 16
    assert all(math.isnan(row[c]) for c in LATENCY_MS_COLUMNS)
    assert row["latencyAvg"] == "1.87ms"
    assert row["totalRequests"] == 227838


def test_no_latency_samples_gives_blank_latency(tidy: pd.DataFrame) -> None:
    row = one(tidy, "pyfix", "plaintext", 16)
    assert row["totalRequests"] == 0
    assert row["errors_read"] == 15043
    assert all(math.isnan(row[c]) for c in LATENCY_MS_COLUMNS)
    assert row["requestsPerSecond"] == 0.0
    assert row["has_errors"]


def test_error_columns(tidy: pd.DataFrame) -> None:
    assert one(tidy, "nginx", "queries", 1)["non2xx"] == 7278
    assert one(tidy, "nginx", "queries", 5)["errors_connect"] == 7
    assert one(tidy, "pyfix", "json", 16)["errors_read"] == 9872
    timeouts = one(tidy, "pyfix", "queries", 1)
    assert timeouts["errors_timeout"] == 16
    assert timeouts["latencyAvg_ms"] == pytest.approx(15.7299375)  # 32 of 48 responses were in time
    flagged = tidy[tidy["has_errors"]]
    assert sorted(zip(flagged["framework"], flagged["test_type"], flagged["level"], strict=True)) == [
        ("nginx", "queries", 1),
        ("nginx", "queries", 5),
        ("pyfix", "json", 16),
        ("pyfix", "plaintext", 16),
        ("pyfix", "queries", 1),
    ]
    assert error_warnings(tidy)[0] == "nginx/queries level 1 repeat 1 client localhost: errors non2xx=7278"


def test_queries_column_and_dtypes(tidy: pd.DataFrame) -> None:
    queries = tidy[tidy["test_type"] == "queries"]
    assert sorted(queries["queries"].tolist()) == [1, 1, 5, 5]
    assert queries["level"].tolist() == queries["queries"].tolist()
    assert tidy.loc[tidy["test_type"] != "queries", "queries"].isna().all()
    assert str(tidy["totalRequests"].dtype) == "int64"
    assert str(tidy["has_errors"].dtype) == "bool"


def test_run_id_fallback_and_empty_input(sample_run: Path) -> None:
    points = load_raw_points(sample_run).points
    stripped = [
        type(p)(stem=p.stem, meta={**p.meta, "run_id": None}, report=p.report, text=p.text) for p in points
    ]
    assert set(build_tidy(stripped, run_id="fallback")["run_id"]) == {"fallback"}
    empty = build_tidy([])
    assert empty.empty
    assert list(empty.columns) == list(TIDY_COLUMNS)
