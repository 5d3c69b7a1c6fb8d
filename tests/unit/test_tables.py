"""summary.csv rows and the printed tables (analysis.tables)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from analysis.raw_files import load_raw_points
from analysis.tables import SUMMARY_COLUMNS, build_summary, level_name, render_tables, table_frame
from analysis.tidy import build_tidy


@pytest.fixture
def summary(sample_run: Path) -> pd.DataFrame:
    return build_summary(build_tidy(load_raw_points(sample_run).points))


def row(summary: pd.DataFrame, framework: str, test_type: str, level: int) -> pd.Series:
    match = summary[
        (summary["framework"] == framework)
        & (summary["test_type"] == test_type)
        & (summary["level"] == level)
    ]
    assert len(match) == 1
    return match.iloc[0]


def test_summary_shape(summary: pd.DataFrame) -> None:
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
    assert len(summary) == 10  # framework x type x level
    assert set(summary["level_name"]) == {"concurrency", "queries"}


def test_means_over_repeats(summary: pd.DataFrame) -> None:
    r = row(summary, "nginx", "json", 8)
    assert r["repeats"] == 2
    assert r["totalRequests"] == pytest.approx((155215 + 165942) / 2)
    assert r["requestsPerSecond"] == pytest.approx((155215 + 165942) / 2 / 2)
    assert (r["requestsPerSecond_min"], r["requestsPerSecond_max"]) == (155215 / 2, 165942 / 2)
    assert r["latencyAvg_ms"] == pytest.approx((0.33488923487544486 + 0.37500041098996617) / 2)
    assert r["latencyMax_ms"] == pytest.approx(12.15)  # max over repeats, not a mean
    assert r["seconds"] == 2.0


def test_clients_are_summed_and_latency_is_the_worst_client(summary: pd.DataFrame) -> None:
    r = row(summary, "nginx", "json", 16)
    assert r["clients"] == 2
    assert r["totalRequests"] == 133480 + 108405
    assert r["requestsPerSecond"] == pytest.approx((133480 + 108405) / 2)
    assert r["latencyAvg_ms"] == pytest.approx(0.17531702598120509)  # client-b's, the worse one
    assert r["latencyMax_ms"] == pytest.approx(4.748)
    assert r["flags"] == "latency: worst of 2 clients"


def test_errors_are_flagged(summary: pd.DataFrame) -> None:
    assert row(summary, "pyfix", "json", 16)["flags"] == "errors: read=9872"
    assert row(summary, "nginx", "queries", 1)["flags"] == "errors: non2xx=7278"
    assert row(summary, "pyfix", "queries", 1)["flags"] == "errors: timeout=16"
    assert summary["has_errors"].sum() == 5
    assert row(summary, "nginx", "json", 8)["flags"] == ""


def test_level_name() -> None:
    assert [level_name(t) for t in ("json", "plaintext", "db", "fortunes", "queries", "updates")] == [
        "concurrency",
        "concurrency",
        "concurrency",
        "concurrency",
        "queries",
        "queries",
    ]


def test_table_sorted_by_requests_per_second_descending(summary: pd.DataFrame) -> None:
    table = table_frame(summary, "json", "requestsPerSecond")
    assert list(table.columns) == [
        "framework",
        "concurrency",
        "totalRequests",
        "seconds",
        "requestsPerSecond",
        # nginx json 8 has two repeats in the sample run: the spread columns appear.
        "median",
        "95% CI",
        "CV",
        "latencyAvg",
        "p99",
        "latencyMax",
        "flags",
    ]
    assert list(zip(table["framework"], table["concurrency"], strict=True)) == [
        ("nginx", 16),
        ("nginx", 8),
        ("pyfix", 16),
        ("pyfix", 8),
    ]
    assert table["requestsPerSecond"].is_monotonic_decreasing
    assert list(table["latencyAvg"]) == ["175.32us", "354.94us", "1.09ms", "321.37ms"]


def test_table_sorted_by_latency_ascending(summary: pd.DataFrame) -> None:
    table = table_frame(summary, "queries", "latencyAvg")
    assert list(table.columns)[1] == "queries"
    assert list(zip(table["framework"], table["queries"], strict=True)) == [
        ("nginx", 5),
        ("nginx", 1),
        ("pyfix", 1),
        ("pyfix", 5),
    ]
    assert list(table["latencyAvg"]) == ["343.70us", "1.02ms", "15.73ms", "1.11s"]


def test_pipelined_latency_shows_not_applicable(summary: pd.DataFrame) -> None:
    table = table_frame(summary, "plaintext", "requestsPerSecond")
    assert set(table["latencyAvg"]) == {"n/a (pipelined)"}
    assert set(table["latencyMax"]) == {"n/a (pipelined)"}
    assert list(table["framework"]) == ["nginx", "pyfix"]


def test_render_tables_has_both_headers_per_type(summary: pd.DataFrame) -> None:
    text = render_tables(summary)
    for test_type in ("json", "plaintext", "queries"):
        assert f"== {test_type}: Sorted by requestsPerSecond (descending) ==" in text
        assert f"== {test_type}: Sorted by latencyAvg (ascending) ==" in text
    assert text.count("== ") == 6
    json_block = text.split("== json: Sorted by requestsPerSecond (descending) ==")[1].split("==")[0]
    lines = [line.split() for line in json_block.strip().splitlines()]
    assert lines[0][:3] == ["framework", "concurrency", "totalRequests"]
    assert [line[0] for line in lines[1:]] == ["nginx", "nginx", "pyfix", "pyfix"]
    assert "errors: read=9872" in json_block


def test_empty_tidy_gives_empty_summary() -> None:
    summary = build_summary(build_tidy([]))
    assert summary.empty
    assert list(summary.columns) == list(SUMMARY_COLUMNS)
