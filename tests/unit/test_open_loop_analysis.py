"""The analysis of a real open-loop run (tests/fixtures/runs/open-loop/README.md): its points, the merged
latencies in the tables and results.json, and the latency-against-rate plot."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from analysis.plots import run_plots
from analysis.run import Run, load_run
from analysis.summarize import Summary, summarize

RUN = Path(__file__).resolve().parents[1] / "fixtures" / "runs" / "open-loop"


@pytest.fixture(scope="module")
def run() -> Run:
    return load_run(RUN)


@pytest.fixture(scope="module")
def summary(run: Run) -> Summary:
    return summarize(run)


def test_every_open_loop_level_is_read_with_its_histogram(run: Run) -> None:
    assert run.warnings.raw == ()
    assert sorted(run.histograms) == sorted(
        f"raw/{fw}/{t}/localhost/level-o{rate}-r1"
        for fw, t in (("aiohttp", "json"), ("aiohttp", "db"), ("nginx-ceiling", "json"))
        for rate in (250, 1000)
    )
    tidy = run.tidy
    assert set(tidy["load_model"]) == {"open"} and sorted(set(tidy["level"])) == [250, 1000]
    assert (tidy["offered_rps"] == tidy["level"]).all()  # one client: its share is the whole rate
    assert (tidy["dropped_iterations"] == 0).all() and not tidy["generator_behind"].any()
    assert ((tidy["achieved_rps"] / tidy["offered_rps"] - 1).abs() < 0.01).all()
    row = tidy[
        (tidy["framework"] == "aiohttp") & (tidy["test_type"] == "json") & (tidy["level"] == 1000)
    ].iloc[0]
    histogram = run.histograms[row["source"]]
    assert histogram.total == row["totalRequests"] == 5001
    assert row["p99_ms"] == histogram.percentile(99) / 1000 and row["latencyMax_ms"] == histogram.max / 1000
    assert row["latencyAvg"].endswith("us") and pd.isna(row["threads"])


def test_the_tables_name_the_offered_rate(summary: Summary) -> None:
    rows = summary.summary
    assert set(rows["level_name"]) == {"offered_rps"} and set(rows["load_model"]) == {"open"}
    assert "offered_rps" in summary.text and "generator behind" not in summary.text
    assert (rows["offered_rps"] == rows["level"]).all()


def test_results_json_keeps_the_open_loop_levels_in_a_section_of_their_own(summary: Summary) -> None:
    results = summary.results
    assert results["rawData"]["json"] == {} and results["rawData"]["db"] == {}
    section = results["openLoop"]
    assert section["offeredRates"] == [250, 1000]
    assert sorted(section["rawData"]) == ["db", "json"]
    assert list(section["rawData"]["json"]) == ["aiohttp"]  # the ceiling is not a framework
    low, high = section["rawData"]["json"]["aiohttp"]
    assert (low["offeredRps"], high["offeredRps"]) == (250, 1000)
    clients = summary.clients
    merged = clients[(clients["test_type"] == "json") & (clients["framework"] == "aiohttp")]
    assert high["p99Ms"] == merged[merged["level"] == 1000]["p99_ms"].iloc[0]
    assert high["droppedIterations"] == 0 and not high["generatorBehind"]
    assert all(not math.isnan(high[key]) for key in ("p50Ms", "p999Ms", "latencyMaxMs"))


def test_each_open_loop_type_gets_its_latency_against_rate_plot(run: Run, summary: Summary) -> None:
    plots = {plot.name: plot for plot in run_plots(summary.tidy, summary.summary, None, ["json", "db"])}
    assert {"latency-rate-json", "latency-rate-db", "throughput-json"} <= set(plots)
    # The per-client percentile panels give way to the merged curve.
    assert "latency-json" not in plots and "latency-db" not in plots
    axes = plots["throughput-json"].figure.axes[0]
    assert axes.get_xlabel() == "offered requests/s (whole lab)" and axes.get_xscale() == "linear"
    hockey = plots["latency-rate-json"].figure.axes[0]
    assert hockey.get_yscale() == "log" and len(hockey.get_lines()) == 6  # p99, p50, p99.9 x 2
