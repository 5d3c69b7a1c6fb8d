"""Plots generated from saved runs (analysis.plots): real images with the data of the run in them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection
from matplotlib.container import ErrorbarContainer
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

from analysis.plots import (
    CPU_PER_REQUEST_COLUMN,
    PERCENTILE_LABELS,
    comparison_figure,
    cpu_per_request_figure,
    latency_figure,
    latency_points,
    level_spans,
    resources_figure,
    run_plots,
    save_plots,
    throughput_figure,
)
from analysis.run import load_run
from analysis.tables import build_summary
from analysis.tidy import PERCENTILE_COLUMNS

from .conftest import FULL_RUN, SAMPLE_RUN
from .enrich import with_cpu_columns
from .images import image_stats

FULL_TYPES = ("db", "json", "plaintext", "queries")
FRAMEWORKS = ["aiohttp", "flask"]


def framework_lines(ax: Axes) -> dict[str, Line2D]:
    """The data line of each framework (errorbar containers carry the label, their first line the data)."""
    return {str(c.get_label()): c.lines[0] for c in ax.containers if isinstance(c, ErrorbarContainer)}


def legend_texts(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


def measured(run_dir: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """A saved run's tidy frame as measured (without the resource columns) and its summary."""
    tidy = load_run(run_dir).tidy
    return tidy, build_summary(tidy)


@pytest.fixture(scope="module")
def full() -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    run = load_run(FULL_RUN)
    samples, warnings = run.resources.samples, run.warnings.resources
    assert not samples.empty and warnings == ()
    return run.tidy, build_summary(run.tidy), samples


def test_summarize_saves_every_plot_as_png_and_svg(full_run: Path) -> None:
    plots = full_run / "plots"
    expected = (
        {f"throughput-{t}" for t in FULL_TYPES}
        | {f"latency-{t}" for t in FULL_TYPES if t != "plaintext"}
        | {"resources"}
    )
    tidy = pd.read_csv(full_run / "tidy.csv")
    if CPU_PER_REQUEST_COLUMN in tidy and tidy[CPU_PER_REQUEST_COLUMN].notna().any():
        expected.add("cpu-per-request")
    assert {p.stem for p in plots.glob("*.png")} == expected
    assert {p.stem for p in plots.glob("*.svg")} == expected
    for name in expected:
        stats = image_stats(plots / f"{name}.png")
        assert stats.looks_drawn(), (name, stats)
        assert 5_000 < (plots / f"{name}.png").stat().st_size < 600_000, name
        assert stats.width >= 700 and stats.height >= 300, (name, stats)
        svg = ET.parse(plots / f"{name}.svg").getroot()
        assert svg.tag.endswith("svg")
    throughput = image_stats(plots / "throughput-json.png")
    assert (throughput.width, throughput.height) == (800, 450)
    # Text is kept as text in the SVG: the titles and every framework can be found in it.
    for test_type in FULL_TYPES:
        text = (plots / f"throughput-{test_type}.svg").read_text()
        assert f"{test_type}: requests/s" in text
        measured = ["flask"] if test_type == "queries" else FRAMEWORKS
        assert all(framework in text for framework in measured), test_type


def test_svg_is_the_same_for_the_same_data(tmp_path: Path, full: tuple[pd.DataFrame, ...]) -> None:
    tidy, summary, _samples = full
    json_only = summary[summary["test_type"] == "json"]
    first = save_plots(run_plots(tidy, json_only, None), tmp_path / "a")
    second = save_plots(run_plots(tidy, json_only, None), tmp_path / "b")
    assert [p.name for p in first] == ["throughput-json", "latency-json"]
    for a, b in zip(first, second, strict=True):
        assert a.svg.read_bytes() == b.svg.read_bytes(), a.name


@pytest.mark.parametrize("test_type", FULL_TYPES)
def test_throughput_lines_are_the_summary(full: tuple[pd.DataFrame, ...], test_type: str) -> None:
    tidy, summary, _samples = full
    ax = throughput_figure(summary, test_type, tidy).axes[0]
    lines = framework_lines(ax)
    assert sorted(lines) == (["flask"] if test_type == "queries" else FRAMEWORKS)
    for framework, line in lines.items():
        rows = summary[(summary["test_type"] == test_type) & (summary["framework"] == framework)]
        assert np.asarray(line.get_xdata()).tolist() == rows["level"].tolist()
        assert np.allclose(np.asarray(line.get_ydata(), dtype=float), rows["requestsPerSecond"])
    assert ax.get_ylim()[0] == 0
    assert ax.get_ylim()[1] > summary.loc[summary["test_type"] == test_type, "requestsPerSecond_max"].max()
    if test_type == "queries":
        assert ax.get_xscale() == "linear"
        assert [int(t) for t in ax.get_xticks()] == [1, 10, 20]
        assert ax.get_xlabel() == "queries per request (at 128 connections)"
    else:
        assert ax.get_xscale() == "log"
    if test_type == "plaintext":
        assert ax.get_xlabel() == "connections (pipelined, depth 16)"


def test_levels_with_errors_are_ringed() -> None:
    tidy, summary = measured(SAMPLE_RUN)
    for test_type in ("json", "plaintext", "queries"):
        ax = throughput_figure(summary, test_type, tidy).axes[0]
        ringed = sum(
            len(np.asarray(c.get_offsets())) for c in ax.collections if isinstance(c, PathCollection)
        )
        flagged = summary[(summary["test_type"] == test_type) & summary["has_errors"]]
        assert ringed == len(flagged) > 0, test_type
        assert "level with errors" in legend_texts(ax)


def test_latency_is_one_real_measurement_per_framework_and_level(full: tuple[pd.DataFrame, ...]) -> None:
    tidy, _summary, _samples = full
    figure = latency_figure(tidy, "json")
    assert figure is not None
    panels = [ax for ax in figure.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == ["8 connections", "32 connections", "128 connections"]
    points = latency_points(tidy, "json")
    assert len(points) == 2 * 3  # 2 frameworks x 3 levels, out of 2 repeats each
    for ax, level in zip(panels, (8, 32, 128), strict=True):
        for line in ax.get_lines():
            row = points[(points["framework"] == line.get_label()) & (points["level"] == level)].iloc[0]
            assert list(np.asarray(line.get_ydata(), dtype=float)) == [
                row[c] for c in PERCENTILE_COLUMNS.values()
            ]
            # The point is a real row of the tidy frame, not an average of repeats.
            assert ((tidy["source"] == row["source"]) & (tidy["p99_ms"] == row["p99_ms"])).sum() == 1
        assert [t.get_text() for t in ax.get_xticklabels()] == [f"p{p}" for p in PERCENTILE_LABELS]


def test_no_latency_plot_for_pipelined_plaintext(full: tuple[pd.DataFrame, ...]) -> None:
    tidy, _summary, _samples = full
    assert latency_figure(tidy, "plaintext") is None


def test_cpu_per_request_only_when_recorded(full: tuple[pd.DataFrame, ...]) -> None:
    tidy, summary, samples = full
    bare = tidy.drop(columns=[c for c in (CPU_PER_REQUEST_COLUMN, "client_saturated") if c in tidy])
    assert cpu_per_request_figure(bare) is None
    enriched = with_cpu_columns(bare, samples)
    figure = cpu_per_request_figure(enriched)
    assert figure is not None
    assert [ax.get_title() for ax in figure.axes if ax.get_visible()] == sorted(FULL_TYPES)
    for ax in figure.axes:
        for line in ax.get_lines():
            assert np.all(np.asarray(line.get_ydata(), dtype=float) > 0)
    # The client-saturated flag of the tidy frame shows on the throughput plot.
    ax = throughput_figure(summary, "json", enriched).axes[0]
    assert "client saturated" in legend_texts(ax)


def test_resources_show_every_host_metric_and_level(full: tuple[pd.DataFrame, ...]) -> None:
    tidy, _summary, samples = full
    figure = resources_figure(samples, tidy)
    assert figure is not None
    axes = figure.axes
    assert [ax.get_ylabel() for ax in axes] == ["CPU %", "network MB/s", "memory GiB", "ctx switches k/s"]
    spans = level_spans(tidy)
    assert len(spans) == len(tidy.groupby(["framework", "test_type", "level", "repeat"]))
    shaded = [p for p in axes[0].patches if isinstance(p, Rectangle)]
    assert len(shaded) == len(spans)
    labels = {t.get_text() for t in axes[0].texts}
    assert labels == {f"{f}/{t}" for f, t in zip(spans["framework"], spans["test_type"], strict=True)}
    assert len(labels) == 2 * 4 - 1  # aiohttp's queries were not benchmarked
    # Every sample is on the plot: the CPU stack spans the samples' time range.
    seconds = (samples["time_ms"] - min(samples["time_ms"].min(), spans["start_ms"].min())) / 1000
    low, high = axes[0].get_xlim()
    assert low <= seconds.min() and high >= seconds.max()


def test_resources_absent_or_empty() -> None:
    run = load_run(SAMPLE_RUN)
    tidy, summary = run.tidy, build_summary(run.tidy)
    assert run.resources.samples.empty
    assert resources_figure(pd.DataFrame(), tidy) is None
    assert {p.name for p in run_plots(tidy, summary, None)} == {
        "throughput-json",
        "throughput-plaintext",
        "throughput-queries",
        "latency-json",
        "latency-queries",
    }


def test_comparison_has_a_line_per_run_and_framework(full: tuple[pd.DataFrame, ...]) -> None:
    _tidy, summary, _samples = full
    _sample_tidy, sample = measured(SAMPLE_RUN)
    ax = comparison_figure([("A", summary), ("B", sample)], "json").axes[0]
    labels = sorted(
        str(line.get_label()) for line in ax.get_lines() if not str(line.get_label()).startswith("_")
    )
    assert labels == ["aiohttp (A)", "flask (A)", "nginx (B)", "pyfix (B)"]


def test_resources_have_a_block_of_panels_per_host(full: tuple[pd.DataFrame, ...]) -> None:
    # The saved run has one host for every tier; give its samples to three hosts, as three machines report.
    tidy, _summary, samples = full
    hosts = {"labdb": "db", "labapp": "app", "labclient1": "client"}
    spread = pd.concat([samples.assign(host=host, tier=tier) for host, tier in hosts.items()])
    figure = resources_figure(spread, tidy)
    assert figure is not None
    assert len(figure.axes) == 4 * len(hosts)
    titles = [ax.get_title(loc="left") for ax in figure.axes[::4]]
    assert titles == ["labapp (app)", "labclient1 (client)", "labdb (db)"]
