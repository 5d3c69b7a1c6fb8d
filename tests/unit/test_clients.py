"""analysis.clients on real two-client output (tests/fixtures/runs/clients, made by make_clients.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.clients import CLIENT_COLUMNS, LATE_START_TOLERANCE_MS, late_start_warnings, merge_clients
from analysis.raw_files import load_raw_points
from analysis.tidy import build_tidy

from .conftest import REPO, SAMPLE_RUN

CLIENTS_RUN = REPO / "tests" / "fixtures" / "runs" / "clients"


def _meta(test_type: str, client: str, level: int) -> dict[str, object]:
    path = CLIENTS_RUN / "raw" / "nginx" / test_type / client / f"level-c{level}-r1.meta.json"
    meta: dict[str, object] = json.loads(path.read_text())
    return meta


def _report(test_type: str, client: str, level: int) -> dict[str, object]:
    path = CLIENTS_RUN / "raw" / "nginx" / test_type / client / f"level-c{level}-r1.json"
    report: dict[str, object] = json.loads(path.read_text())
    return report


@pytest.fixture(scope="module")
def tidy() -> pd.DataFrame:
    loaded = load_raw_points(CLIENTS_RUN)
    assert loaded.warnings == []
    return build_tidy(loaded.points)


@pytest.fixture(scope="module")
def merged(tidy: pd.DataFrame) -> pd.DataFrame:
    return merge_clients(tidy)


def point(merged: pd.DataFrame, test_type: str, level: int) -> pd.Series:
    rows = merged[(merged["test_type"] == test_type) & (merged["level"] == level)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_one_row_per_point_with_the_documented_columns(tidy: pd.DataFrame, merged: pd.DataFrame) -> None:
    assert len(tidy) == 7  # one row per client and point stays in the tidy frame
    assert list(merged.columns) == list(CLIENT_COLUMNS)
    assert [(r.test_type, r.level) for r in merged.itertuples()] == [
        ("json", 8),
        ("json", 16),
        ("json", 32),
        ("plaintext", 16),
    ]
    assert list(merged["clients"]) == [2, 2, 1, 2]
    assert point(merged, "json", 8)["client_names"] == "client-a,client-b"


def test_requests_bytes_and_connections_are_summed(merged: pd.DataFrame) -> None:
    for test_type, level in (("json", 8), ("json", 16), ("plaintext", 16)):
        reports = [_report(test_type, c, level) for c in ("client-a", "client-b")]
        row = point(merged, test_type, level)
        requests = sum(int(str(r["requests"])) for r in reports)
        assert row["totalRequests"] == requests
        assert row["bytes"] == sum(int(str(r["bytes"])) for r in reports)
        assert row["concurrency"] == 2 * level
        assert row["requestsPerSecond"] == pytest.approx(requests / 1.0)  # configured duration: 1 s
        assert row["errors_read"] == 0 and not row["has_errors"]


def test_latency_is_never_averaged_over_clients(tidy: pd.DataFrame, merged: pd.DataFrame) -> None:
    rows = tidy[(tidy["test_type"] == "json") & (tidy["level"] == 8)]
    row = point(merged, "json", 8)
    worst = rows.sort_values("latencyAvg_ms", ascending=False).iloc[0]
    assert row["worst_client"] == worst["client"]
    assert row["latencyAvg_ms_worst_client"] == worst["latencyAvg_ms"]
    assert row["p99_ms_worst_client"] == worst["p99_ms"]
    assert row["latencyMax_ms"] == rows["latencyMax_ms"].max()  # the max of maxima is exact
    assert row["latencyAvg_ms_worst_client"] != pytest.approx(rows["latencyAvg_ms"].mean())
    # The union's own figures need the clients' histograms, which wrk does not keep.
    assert math.isnan(row["latencyAvg_ms"]) and math.isnan(row["p99_ms"])
    single = merged[merged["clients"] == 1].iloc[0]
    own = tidy[(tidy["test_type"] == single["test_type"]) & (tidy["level"] == single["level"])].iloc[0]
    assert (single["latencyAvg_ms"], single["p99_ms"]) == (own["latencyAvg_ms"], own["p99_ms"])


def test_pipelined_points_have_no_latency(merged: pd.DataFrame) -> None:
    row = point(merged, "plaintext", 16)
    assert math.isnan(row["latencyAvg_ms_worst_client"]) and math.isnan(row["latencyMax_ms"])
    assert row["worst_client"] == "client-a"  # none has a latency: the first client, by name


def test_clients_started_together_are_not_flagged(merged: pd.DataFrame) -> None:
    row = point(merged, "json", 8)
    metas = [_meta("json", c, 8) for c in ("client-a", "client-b")]
    assert row["planned_start_ms"] == metas[0]["planned_start_ms"] == metas[1]["planned_start_ms"]
    assert row["start_spread_ms"] == abs(int(str(metas[0]["start_ms"])) - int(str(metas[1]["start_ms"])))
    assert row["start_spread_ms"] <= LATE_START_TOLERANCE_MS
    assert not row["late_start"]


def test_a_late_client_is_flagged(merged: pd.DataFrame) -> None:
    row = point(merged, "json", 16)
    late = _meta("json", "client-b", 16)
    assert int(str(late["start_late_ms"])) > 1000  # real: client-b was called 1.5 s after the planned start
    assert row["start_late_ms"] == late["start_late_ms"]
    assert row["start_spread_ms"] > 1000
    assert row["late_start"]
    (line,) = late_start_warnings(merged)
    assert line.startswith("nginx/json level 16 repeat 1: 2 clients started ")
    assert f"up to {late['start_late_ms']} ms after the planned start" in line


def test_a_run_without_start_schedule_merges_too(sample_run: Path) -> None:
    merged = merge_clients(build_tidy(load_raw_points(sample_run).points))
    row = merged[(merged["framework"] == "nginx") & (merged["test_type"] == "json") & (merged["level"] == 16)]
    assert list(row["clients"]) == [2]
    assert list(row["totalRequests"]) == [133480 + 108405]
    assert row["planned_start_ms"].isna().all() and row["start_late_ms"].isna().all()
    single = merged[merged["clients"] == 1]
    assert not single.empty and (single["start_spread_ms"] == 0).all()
    assert SAMPLE_RUN.is_dir()


def test_empty_tidy_gives_empty_frame_with_columns() -> None:
    empty = merge_clients(build_tidy([]))
    assert empty.empty and list(empty.columns) == list(CLIENT_COLUMNS)
