"""The run's plots, each a view of the tidy frame, its summary or the resource samples; saved as PNG and SVG.

Figures are built with matplotlib's object API on the Agg canvas (no pyplot, no display, no global figure
state), so building plots is safe in any process and any thread.

- ``throughput-<type>``: requests/s against the sweep variable, one line per framework. Concurrency sweeps
  use a log2 axis; the query sweeps (queries, updates) a linear 1…20 axis. Bars span the slowest and
  fastest repeat; levels with errors are ringed in red; when the tidy frame says a level was client-bound
  or database-bound, that is marked too.
- ``latency-<type>``: latency percentiles (50 … 99.99) per framework, one panel per level. Percentiles are
  never averaged: each line is one real measurement, the repeat with the median request count and, within
  it, the worst client (as in results.json). Pipelined types have no per-request latency: no plot.
- ``cpu-per-request``: the app tier's CPU milliseconds per 1,000 requests, when the tidy frame has it.
- ``resources``: CPU, network, memory and context switches of every host over the run, with the measured
  levels shaded and each framework/type labelled.
- ``scaleout-<type>``: peak requests/s against the number of app hosts behind the balancer, one line per
  framework on an engine, beside the ideal N x rps(1) (analysis.scaleout), when the run measured a curve.
- ``compare-<type>``: requests/s of two runs on one chart (comparison report).
"""

from __future__ import annotations

import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, MaxNLocator, NullLocator

from analysis.resources import SAMPLE_COLUMNS
from analysis.tables import level_name
from analysis.tidy import PERCENTILE_COLUMNS

PLOTS_DIR = "plots"
PERCENTILE_LABELS = tuple(PERCENTILE_COLUMNS)  # "50" … "99.99"
# Tidy columns other parts of the analysis may add; each plot uses them only when present.
CPU_PER_REQUEST_COLUMN = "app_cpu_ms_per_1k_req"
# Marker, size and fill of each flag, so that a level with both flags shows both.
BOUND_MARKERS = {
    "client_saturated": ("v", 36, True, "client saturated"),
    "db_bound": ("s", 150, False, "database-bound"),
}
# The contract columns of resources/samples.csv (the sampler adds more; the plots need only these).
RESOURCE_COLUMNS = SAMPLE_COLUMNS[: SAMPLE_COLUMNS.index("cswch_s") + 1]
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_ERROR_RING = "#d62728"


@dataclass(frozen=True)
class Plot:
    """One figure of the report: ``name`` is its file stem under plots/, ``section`` where it belongs."""

    name: str
    title: str
    section: str
    figure: Figure


@dataclass(frozen=True)
class RenderedPlot:
    """A plot drawn to the bytes of its two files."""

    name: str
    title: str
    section: str
    png: bytes
    svg: bytes


@dataclass(frozen=True)
class SavedPlot:
    name: str
    title: str
    section: str
    png: Path
    svg: Path


def framework_colors(frameworks: Sequence[str]) -> dict[str, str]:
    """One color per framework, fixed by sorted name, so a framework looks the same in every plot."""
    return {name: _PALETTE[i % len(_PALETTE)] for i, name in enumerate(sorted(set(frameworks)))}


def _new_figure(width: float, height: float) -> Figure:
    figure = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(figure)
    return figure


def _open_loop(rows: pd.DataFrame) -> bool:
    """The rows are open-loop levels (their level is an offered rate: analysis.tables.level_name)."""
    return "load_model" in rows.columns and bool((rows["load_model"] == "open").any())


def _axis_label(summary_rows: pd.DataFrame, test_type: str) -> str:
    if _open_loop(summary_rows):
        return "offered requests/s (whole lab)"
    if level_name(test_type) == "queries":
        connections = sorted({int(c) for c in summary_rows.get("concurrency", pd.Series(dtype="int64"))})
        at = f" (at {', '.join(map(str, connections))} connections)" if connections else ""
        return f"queries per request{at}"
    depth = int(summary_rows["pipeline"].max()) if len(summary_rows) else 1
    return f"connections (pipelined, depth {depth})" if depth > 1 else "connections"


def _level_axis(ax: Axes, test_type: str, levels: Sequence[int], linear: bool = False) -> None:
    """Log2 for connection sweeps (levels double), linear for queries per request and offered rates (linear:
    the open model, where a curve bends at the rate the server can no longer serve); ticks at the levels."""
    ticks = sorted({int(level) for level in levels})
    if not linear and level_name(test_type) != "queries" and ticks and min(ticks) > 0:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_minor_locator(NullLocator())
        if len(ticks) == 1:
            ax.set_xlim(ticks[0] / 1.5, ticks[0] * 1.5)
    elif len(ticks) == 1:
        ax.set_xlim(ticks[0] - 1, ticks[0] + 1)
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda value, _pos: f"{value:g}"))


def _thousands(value: float, _pos: int) -> str:
    return f"{value:,.0f}"


def _zero_based(ax: Axes, values: pd.Series) -> None:
    """Start the y axis at 0 and leave room above the highest value (a flat line would hug the top)."""
    top = float(values.max()) if len(values) and not math.isnan(float(values.max())) else 0.0
    ax.set_ylim(0, top * 1.12 if top > 0 else 1.0)


def _flag_levels(tidy: pd.DataFrame, test_type: str, column: str) -> set[tuple[str, int]]:
    """(framework, level) pairs where any point of the type has the boolean tidy column set."""
    if column not in tidy.columns:
        return set()
    rows = tidy[(tidy["test_type"] == test_type) & tidy[column].fillna(False).astype(bool)]
    return {(str(f), int(level)) for f, level in zip(rows["framework"], rows["level"], strict=True)}


def throughput_figure(summary: pd.DataFrame, test_type: str, tidy: pd.DataFrame | None = None) -> Figure:
    """requests/s by level, one line per framework (see the module docstring)."""
    rows = summary[summary["test_type"] == test_type].sort_values(["framework", "level"])
    colors = framework_colors(summary["framework"].unique().tolist())
    tidy_rows = tidy[tidy["test_type"] == test_type] if tidy is not None else pd.DataFrame()
    figure = _new_figure(8, 4.5)
    ax = figure.add_subplot()
    extra_handles: list[Line2D] = []
    for framework, group in rows.groupby("framework", sort=True):
        color = colors[str(framework)]
        rps = group["requestsPerSecond"].to_numpy(dtype=float)
        spread = np.vstack(
            [
                rps - group["requestsPerSecond_min"].to_numpy(dtype=float),
                group["requestsPerSecond_max"].to_numpy(dtype=float) - rps,
            ]
        )
        ax.errorbar(
            group["level"],
            rps,
            yerr=spread if bool((group["repeats"] > 1).any()) else None,
            color=color,
            marker="o",
            capsize=3,
            label=str(framework),
        )
        errors = group[group["has_errors"].astype(bool)]
        ax.scatter(
            errors["level"],
            errors["requestsPerSecond"],
            s=180,
            facecolors="none",
            edgecolors=_ERROR_RING,
            linewidths=1.8,
            zorder=5,
        )
    if bool(rows["has_errors"].astype(bool).any()):
        extra_handles.append(
            Line2D(
                [],
                [],
                linestyle="",
                marker="o",
                markersize=12,
                markerfacecolor="none",
                markeredgecolor=_ERROR_RING,
                label="level with errors",
            )
        )
    if tidy is not None and len(tidy_rows):
        for column, (marker, size, filled, label) in BOUND_MARKERS.items():
            flagged = _flag_levels(tidy, test_type, column)
            hits = rows[
                [(str(f), int(lv)) in flagged for f, lv in zip(rows["framework"], rows["level"], strict=True)]
            ]
            if len(hits):
                ax.scatter(
                    hits["level"],
                    hits["requestsPerSecond"],
                    marker=marker,
                    s=size,
                    facecolors="black" if filled else "none",
                    edgecolors="black",
                    linewidths=1.2,
                    zorder=6,
                )
                extra_handles.append(
                    Line2D(
                        [],
                        [],
                        linestyle="",
                        marker=marker,
                        markersize=math.sqrt(size),
                        markerfacecolor="black" if filled else "none",
                        markeredgecolor="black",
                        label=label,
                    )
                )
    _level_axis(ax, test_type, rows["level"].tolist(), linear=_open_loop(rows))
    _zero_based(ax, rows["requestsPerSecond_max"])
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlabel(_axis_label(tidy_rows if len(tidy_rows) else rows, test_type))
    ax.set_ylabel("requests/s")
    by = "offered rate" if _open_loop(rows) else level_name(test_type)
    ax.set_title(f"{test_type}: requests/s by {by}")
    ax.grid(True, alpha=0.3)
    handles, _labels = ax.get_legend_handles_labels()
    ax.legend(handles=[*handles, *extra_handles], fontsize=8, loc="best")
    return figure


def latency_points(tidy: pd.DataFrame, test_type: str) -> pd.DataFrame:
    """Per framework x level, the one measurement whose percentiles are plotted (module docstring)."""
    rows = tidy[(tidy["test_type"] == test_type) & tidy["p50_ms"].notna()]
    picked = []
    for _key, level_rows in rows.groupby(["framework", "level"], sort=True):
        totals = level_rows.groupby("repeat")["totalRequests"].sum().sort_values(kind="stable")
        ordered = sorted(zip(totals.tolist(), totals.index.tolist(), strict=True))
        repeat = ordered[(len(ordered) - 1) // 2][1]
        chosen = level_rows[level_rows["repeat"] == repeat].sort_values(
            ["latencyAvg_ms", "client"], ascending=[False, True]
        )
        picked.append(chosen.iloc[0])
    return pd.DataFrame(picked).reset_index(drop=True)


def latency_figure(tidy: pd.DataFrame, test_type: str) -> Figure | None:
    """Latency percentiles per framework, a panel per level; None when the type has no per-request latency."""
    points = latency_points(tidy, test_type)
    if points.empty:
        return None
    colors = framework_colors(tidy["framework"].unique().tolist())
    levels = sorted(int(level) for level in points["level"].unique())
    ncols = min(len(levels), 3)
    nrows = math.ceil(len(levels) / ncols)
    figure = _new_figure(3.6 * ncols + 0.6, 3.0 * nrows + 0.6)
    axes = figure.subplots(nrows, ncols, sharey=True, squeeze=False).ravel()
    positions = np.arange(len(PERCENTILE_LABELS))
    unit = "queries" if level_name(test_type) == "queries" else "connections"
    for ax, level in zip(axes, levels, strict=False):
        for row in points[points["level"] == level].itertuples(index=False):
            values = [float(getattr(row, column)) for column in PERCENTILE_COLUMNS.values()]
            ax.plot(positions, values, marker="o", color=colors[str(row.framework)], label=str(row.framework))
        ax.set_yscale("log")
        ax.set_xticks(positions, [f"p{p}" for p in PERCENTILE_LABELS], fontsize=8)
        ax.set_title(f"{level} {unit}", fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    for ax in axes[len(levels) :]:
        ax.set_visible(False)
    for ax in axes[::ncols]:
        ax.set_ylabel("latency (ms)")
    axes[0].legend(fontsize=8)
    figure.suptitle(f"{test_type}: latency percentiles (median repeat, worst client)")
    return figure


def open_loop_latency_figure(
    summary: pd.DataFrame, test_type: str, slo: pd.DataFrame | None = None, p99_target_ms: float | None = None
) -> Figure | None:
    """Latency against offered rate (the "hockey stick"), one colour per framework: for open-loop levels p99
    solid, p50 dotted, p99.9 dashed, from the clients' merged histograms (median repeat); the SLO search's
    probes (analysis.slo) as squares at their p99, failed ones hollow, beside the target. None when the type
    has neither."""
    rows = summary[(summary["test_type"] == test_type) & (summary["load_model"] == "open")]
    rows = rows[rows["p99_ms"].notna()].sort_values(["framework", "level"])
    probes = slo[slo["test_type"] == test_type] if slo is not None and len(slo) else pd.DataFrame()
    probes = probes[np.isfinite(probes["p99_ms"].astype(float))] if len(probes) else probes
    if rows.empty and probes.empty:
        return None
    colors = framework_colors(summary["framework"].unique().tolist())
    figure = _new_figure(8, 4.5)
    ax = figure.add_subplot()
    for framework, group in rows.groupby("framework", sort=True):
        color = colors[str(framework)]
        ax.plot(group["level"], group["p99_ms"], color=color, marker="o", label=f"{framework} p99")
        ax.plot(
            group["level"], group["p50_ms"], color=color, linestyle=":", marker=".", label=f"{framework} p50"
        )
        ax.plot(
            group["level"],
            group["p999_ms"],
            color=color,
            linestyle="--",
            alpha=0.6,
            label=f"{framework} p99.9",
        )
        behind = group[group["generator_behind"].astype(bool)]
        ax.scatter(
            behind["level"], behind["p99_ms"], s=180, facecolors="none", edgecolors=_ERROR_RING, zorder=5
        )
    for framework, group in probes.groupby("framework", sort=True) if len(probes) else ():
        color = colors.get(str(framework), "black")
        group = group.sort_values("rate")
        passed = group["passes"].astype(bool)
        ax.scatter(group["rate"][passed], group["p99_ms"][passed], marker="s", color=color, zorder=6)
        ax.scatter(
            group["rate"][~passed],
            group["p99_ms"][~passed],
            marker="s",
            facecolors="none",
            edgecolors=color,
            zorder=6,
            label=f"{framework} SLO probes (hollow: failed)",
        )
    if p99_target_ms is not None and len(probes):
        ax.axhline(
            p99_target_ms, color="grey", linestyle="-.", linewidth=1, label=f"p99 target {p99_target_ms:g} ms"
        )
    levels = [*rows["level"].tolist(), *(probes["rate"].tolist() if len(probes) else [])]
    _level_axis(ax, test_type, levels, linear=True)
    if len(probes) and len(set(levels)) > 8:
        ax.xaxis.set_major_locator(MaxNLocator(8))
    ax.xaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_yscale("log")
    ax.set_xlabel("offered requests/s (whole lab)")
    ax.set_ylabel("latency (ms), from each request's scheduled start")
    ax.set_title(f"{test_type}: latency against offered rate (open loop; ringed: generator behind)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=7, loc="best", ncols=2)
    return figure


def cpu_per_request_figure(tidy: pd.DataFrame, order: Sequence[str] = ()) -> Figure | None:
    """App-tier CPU ms per 1,000 requests by level, a panel per test type (in ``order``, then by name); None
    when not recorded."""
    if CPU_PER_REQUEST_COLUMN not in tidy.columns:
        return None
    rows = tidy[tidy[CPU_PER_REQUEST_COLUMN].notna()]
    if rows.empty:
        return None
    means = rows.groupby(["test_type", "framework", "level"], as_index=False)[CPU_PER_REQUEST_COLUMN].mean()
    colors = framework_colors(tidy["framework"].unique().tolist())
    types = _ordered(means["test_type"].unique(), order)
    ncols = min(len(types), 2)
    nrows = math.ceil(len(types) / ncols)
    figure = _new_figure(5 * ncols + 0.6, 3.2 * nrows + 0.6)
    axes = figure.subplots(nrows, ncols, squeeze=False).ravel()
    for ax, test_type in zip(axes, types, strict=False):
        of_type = means[means["test_type"] == test_type]
        for framework, group in of_type.groupby("framework", sort=True):
            ax.plot(
                group["level"],
                group[CPU_PER_REQUEST_COLUMN],
                marker="o",
                color=colors[str(framework)],
                label=str(framework),
            )
        _level_axis(ax, test_type, of_type["level"].tolist())
        _zero_based(ax, of_type[CPU_PER_REQUEST_COLUMN])
        ax.set_title(test_type, fontsize=10)
        ax.set_xlabel(level_name(test_type))
        ax.set_ylabel("app CPU ms / 1,000 requests")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    for ax in axes[len(types) :]:
        ax.set_visible(False)
    figure.suptitle("CPU per request (app tier, all cores)")
    return figure


def _ordered(values: Iterable[object], order: Sequence[str]) -> list[str]:
    names = {str(v) for v in values}
    return [t for t in order if t in names] + sorted(names - set(order))


def level_spans(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per measured level (framework, test_type, level, repeat): start_ms, end_ms over its clients."""
    spans = tidy.groupby(["framework", "test_type", "level", "repeat"], as_index=False).agg(
        start_ms=("start_ms", "min"), end_ms=("end_ms", "max")
    )
    return spans.sort_values("start_ms", kind="stable").reset_index(drop=True)


def _mark_levels(
    ax: Axes, spans: pd.DataFrame, origin_ms: float, colors: Mapping[str, str], label: bool
) -> None:
    for index, (framework, start_ms, end_ms) in enumerate(
        zip(spans["framework"], spans["start_ms"], spans["end_ms"], strict=True)
    ):
        ax.axvspan(
            (float(start_ms) - origin_ms) / 1000,
            (float(end_ms) - origin_ms) / 1000,
            color=colors[str(framework)],
            alpha=0.10 if index % 2 else 0.18,
            linewidth=0,
        )
    starts = spans.groupby(["framework", "test_type"], sort=False, as_index=False).agg(
        start_ms=("start_ms", "min")
    )
    starts = starts.sort_values("start_ms", kind="stable")
    for framework, test_type, start in zip(
        starts["framework"], starts["test_type"], starts["start_ms"], strict=True
    ):
        x = (float(start) - origin_ms) / 1000
        ax.axvline(x, color=colors[str(framework)], linewidth=0.8, alpha=0.7)
        if label:
            ax.annotate(
                f"{framework}/{test_type}",
                xy=(x, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(2, -2),
                textcoords="offset points",
                rotation=90,
                fontsize=7,
                va="top",
                ha="left",
            )


def resources_figure(samples: pd.DataFrame, tidy: pd.DataFrame) -> Figure | None:
    """Four rows per host (CPU, network, memory, context switches) over the run, levels shaded."""
    if samples.empty:
        return None
    samples = samples.sort_values(["host", "time_ms"], kind="stable")
    spans = level_spans(tidy) if len(tidy) else pd.DataFrame(columns=["framework", "test_type", "start_ms"])
    origin_ms = float(min(samples["time_ms"].min(), spans["start_ms"].min() if len(spans) else math.inf))
    colors = framework_colors(tidy["framework"].unique().tolist() if len(tidy) else [])
    hosts = list(dict.fromkeys(samples["host"].astype(str)))
    metrics = 4
    figure = _new_figure(12, 1.7 * metrics * len(hosts) + 0.8)
    axes = figure.subplots(metrics * len(hosts), 1, sharex=True, squeeze=False).ravel()
    for block, host in enumerate(hosts):
        rows = samples[samples["host"].astype(str) == host]
        tiers = ", ".join(sorted({str(t) for t in rows["tier"].dropna()})) if "tier" in rows else ""
        seconds = (rows["time_ms"].to_numpy(dtype=float) - origin_ms) / 1000
        cpu, net, mem, cs = axes[block * metrics : (block + 1) * metrics]
        cpu.stackplot(
            seconds,
            rows["cpu_user_pct"].to_numpy(dtype=float),
            rows["cpu_system_pct"].to_numpy(dtype=float),
            rows["cpu_iowait_pct"].to_numpy(dtype=float),
            labels=["user", "system", "iowait"],
            colors=["#4c72b0", "#dd8452", "#937860"],
            alpha=0.85,
        )
        cpu.set_ylim(0, 100)
        cpu.set_ylabel("CPU %")
        cpu.set_title(f"{host} ({tiers})" if tiers else host, fontsize=10, loc="left")
        cpu.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        net.plot(seconds, rows["net_rx_bytes_s"].to_numpy(dtype=float) / 1e6, label="rx", color="#55a868")
        net.plot(seconds, rows["net_tx_bytes_s"].to_numpy(dtype=float) / 1e6, label="tx", color="#c44e52")
        net.set_ylabel("network MB/s")
        net.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        mem.plot(seconds, rows["mem_used_bytes"].to_numpy(dtype=float) / 2**30, color="#8172b3")
        mem.set_ylabel("memory GiB")
        cs.plot(seconds, rows["cswch_s"].to_numpy(dtype=float) / 1000, color="#64b5cd")
        cs.set_ylabel("ctx switches k/s")
        for index, ax in enumerate((cpu, net, mem, cs)):
            _mark_levels(ax, spans, origin_ms, colors, label=index == 0)
            ax.grid(True, alpha=0.3)
            if index:
                ax.set_ylim(bottom=0)
    axes[-1].set_xlabel(
        "seconds since the first sample (shaded: measured levels; lines: start of a framework/type)"
    )
    figure.suptitle("Resource use over the run")
    return figure


def comparison_figure(summaries: Sequence[tuple[str, pd.DataFrame]], test_type: str) -> Figure:
    """requests/s by level of several runs: one color per framework, one line style per run."""
    styles = ("--", "-", ":", "-.")
    markers = ("o", "s", "^", "D")
    frameworks = sorted({str(f) for _label, s in summaries for f in s["framework"].unique()})
    colors = framework_colors(frameworks)
    figure = _new_figure(8, 4.5)
    ax = figure.add_subplot()
    levels: list[int] = []
    for index, (label, summary) in enumerate(summaries):
        rows = summary[summary["test_type"] == test_type].sort_values(["framework", "level"])
        levels += rows["level"].astype(int).tolist()
        for framework, group in rows.groupby("framework", sort=True):
            ax.plot(
                group["level"],
                group["requestsPerSecond"],
                linestyle=styles[index % len(styles)],
                marker=markers[index % len(markers)],
                markerfacecolor="none" if index == 0 else colors[str(framework)],
                color=colors[str(framework)],
                label=f"{framework} ({label})",
            )
    _level_axis(ax, test_type, levels)
    _zero_based(
        ax, pd.concat([s.loc[s["test_type"] == test_type, "requestsPerSecond"] for _l, s in summaries])
    )
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlabel(level_name(test_type))
    ax.set_ylabel("requests/s")
    ax.set_title(f"{test_type}: requests/s, " + " vs ".join(label for label, _s in summaries))
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    return figure


def scaleout_figure(scaleout: pd.DataFrame, test_type: str) -> Figure:
    """Peak requests/s against N app hosts, each curve with its ideal (dashed) from its N = 1 point."""
    rows = scaleout[scaleout["test_type"] == test_type]
    colors = framework_colors(rows["curve"].unique().tolist())
    figure = _new_figure(8, 4.5)
    ax = figure.add_subplot()
    for curve, group in rows.groupby("curve", sort=True):
        group = group.sort_values("app_hosts")
        color = colors[str(curve)]
        ax.plot(group["app_hosts"], group["requestsPerSecond"], color=color, marker="o", label=str(curve))
        one = group[group["app_hosts"] == 1]["requestsPerSecond"]
        if len(one):
            ideal = group["app_hosts"] * float(one.iloc[0])
            ax.plot(
                group["app_hosts"], ideal, color=color, linestyle="--", alpha=0.5, label=f"{curve}, ideal"
            )
    hosts = sorted({int(n) for n in rows["app_hosts"]})
    ax.xaxis.set_major_locator(FixedLocator(hosts))
    ax.set_ylim(bottom=0)
    ax.yaxis.set_major_formatter(FuncFormatter(_thousands))
    ax.set_xlabel("app hosts behind the balancer")
    ax.set_ylabel("peak requests/s")
    ax.set_title(f"{test_type}: scale-out")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    return figure


def run_plots(
    tidy: pd.DataFrame,
    summary: pd.DataFrame,
    samples: pd.DataFrame | None,
    order: Sequence[str] = (),
    scaleout: pd.DataFrame | None = None,
    slo: pd.DataFrame | None = None,
    p99_target_ms: float | None = None,
) -> list[Plot]:
    """Every plot a run's data allows; test types in ``order`` (the run's), then by name."""
    plots = []
    for test_type in _ordered(summary["test_type"].unique(), order):
        plots.append(
            Plot(
                f"throughput-{test_type}",
                f"{test_type}: requests/s",
                str(test_type),
                throughput_figure(summary, test_type, tidy),
            )
        )
        hockey = open_loop_latency_figure(summary, str(test_type), slo, p99_target_ms)
        if hockey is not None:
            plots.append(
                Plot(
                    f"latency-rate-{test_type}",
                    f"{test_type}: latency against offered rate",
                    str(test_type),
                    hockey,
                )
            )
        # Per-client percentiles: for open-loop levels the merged ones above say it better.
        latency = None if hockey is not None else latency_figure(tidy, test_type)
        if latency is not None:
            plots.append(
                Plot(f"latency-{test_type}", f"{test_type}: latency percentiles", str(test_type), latency)
            )
    if scaleout is not None:
        for test_type in _ordered(scaleout["test_type"].unique(), order):
            plots.append(
                Plot(
                    f"scaleout-{test_type}",
                    f"{test_type}: scale-out",
                    "scaleout",
                    scaleout_figure(scaleout, str(test_type)),
                )
            )
    cpu = cpu_per_request_figure(tidy, order)
    if cpu is not None:
        plots.append(Plot("cpu-per-request", "CPU per request", "cpu", cpu))
    if samples is not None:
        resources = resources_figure(samples, tidy)
        if resources is not None:
            plots.append(Plot("resources", "Resource use over the run", "resources", resources))
    return plots


def render_plot(plot: Plot) -> RenderedPlot:
    """The plot as PNG and SVG bytes, identical for identical data."""
    png, svg = io.BytesIO(), io.BytesIO()
    plot.figure.savefig(png, format="png", dpi=100, metadata={"Software": None})
    # A fixed date and hash salt keep the SVG identical when the data is; text stays text (searchable,
    # smaller) instead of glyph outlines.
    with matplotlib.rc_context({"svg.hashsalt": plot.name, "svg.fonttype": "none"}):
        plot.figure.savefig(svg, format="svg", metadata={"Date": None, "Creator": None})
    return RenderedPlot(plot.name, plot.title, plot.section, png.getvalue(), svg.getvalue())


def write_plots(plots: Sequence[RenderedPlot], out_dir: Path) -> list[SavedPlot]:
    """Write each rendered plot as <name>.png and <name>.svg into out_dir (created if needed)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    saved = []
    for plot in plots:
        png, svg = out_dir / f"{plot.name}.png", out_dir / f"{plot.name}.svg"
        png.write_bytes(plot.png)
        svg.write_bytes(plot.svg)
        saved.append(SavedPlot(plot.name, plot.title, plot.section, png, svg))
    return saved


def save_plots(plots: Sequence[Plot], out_dir: Path) -> list[SavedPlot]:
    """Write each plot as <name>.png and <name>.svg into out_dir (created if needed)."""
    return write_plots([render_plot(plot) for plot in plots], out_dir)
