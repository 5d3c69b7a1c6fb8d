"""Per test type: the summary rows (summary.csv) and the two plain-text tables printed by ``summarize``.

Aggregation, from the tidy frame:
  1. clients of one repeat are combined: requests, requests/s, connections and error counts are SUMMED;
     latency is not averaged across clients: an open-loop point's comes from the clients' merged
     histograms (analysis.clients, given as ``union``); otherwise the worst client's (highest latencyAvg_ms /
     latencyMax_ms) is shown and the row's flags say "latency: worst of N clients". The open model's
     offered_rps, achieved_rps and dropped_iterations are SUMMED too, generator_behind is ANY client's.
  2. repeats of one level: totalRequests, seconds, requestsPerSecond and latencyAvg_ms are MEANS over
     repeats (requestsPerSecond_min/_max give the spread), latencyMax_ms is the MAX over repeats, error
     counts are SUMS over repeats. requestsPerSecond_median, _ci_low/_ci_high (95 % CI of the mean), _cv_pct
     and unstable come from analysis.stats. Percentiles are never averaged: p50_ms ... p999_ms are the MEDIAN
     over repeats of the worst client's value. Resource columns: analysis.resources.level_summary.
     ceiling_fraction: requestsPerSecond_median / the ceiling's at the same type and level (analysis.ceiling).
A level with any error gets has_errors and a "errors: read=3 non2xx=10" flag: it is listed, never hidden.
The level of an open-loop row is the offered rate of the whole lab (level_name "offered_rps"); offered_rps,
achieved_rps are means over repeats, dropped_iterations a sum, and a "generator behind" flag says when the
load generator did not keep its schedule (labcore.k6_report.fell_behind).
Pipelined points have no per-request latency (see analysis.tidy): the tables show "n/a (pipelined)".
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from analysis import balance, resources
from analysis.ceiling import ceiling_fractions
from analysis.stats import repeat_statistics
from analysis.tidy import ERROR_COLUMNS, sum_or_nan, with_load_model
from analysis.units import format_latency_ms
from labcore import test_types

SUMMARY_PERCENTILES = ("p50_ms", "p90_ms", "p99_ms", "p999_ms")
# The types whose levels are queries per request, by the lab's name and by TechEmpower's.
QUERY_SWEEP_TYPES = frozenset(
    name
    for t in test_types.TEST_TYPES.values()
    if t.sweep == "queries"
    for name in (t.name, t.tfb_name)
    if name
)
SUMMARY_COLUMNS = (
    "test_type",
    "framework",
    "level_name",
    "level",
    "repeats",
    "clients",
    "pipeline",
    "totalRequests",
    "seconds",
    "requestsPerSecond",
    "requestsPerSecond_min",
    "requestsPerSecond_max",
    "latencyAvg_ms",
    "latencyMax_ms",
    *ERROR_COLUMNS,
    "has_errors",
    "flags",
    "load_model",
    "offered_rps",
    "achieved_rps",
    "dropped_iterations",
    "generator_behind",
    "requestsPerSecond_median",
    "requestsPerSecond_ci_low",
    "requestsPerSecond_ci_high",
    "requestsPerSecond_cv_pct",
    "unstable",
    *SUMMARY_PERCENTILES,
    *resources.SUMMARY_COLUMNS,
    *balance.SUMMARY_COLUMNS,
    "ceiling_fraction",
)
TABLE_SORTS = (("requestsPerSecond", False), ("latencyAvg", True))


def level_name(test_type: str, load_model: str = "closed") -> str:
    """The sweep variable of a test type: "queries" for queries/updates, else "concurrency"; in the open
    model every type's is the offered rate, "offered_rps"."""
    if load_model == "open":
        return "offered_rps"
    return "queries" if test_type in QUERY_SWEEP_TYPES else "concurrency"


def _is_set(flag: object) -> bool:
    """True for a set flag; False for an unset or unknown (<NA>) one."""
    return isinstance(flag, bool | np.bool_) and bool(flag)


def _flags(row: pd.Series) -> str:
    parts = []
    errors = [f"{c.removeprefix('errors_')}={int(row[c])}" for c in ERROR_COLUMNS if row[c]]
    if errors:
        parts.append("errors: " + " ".join(errors))
    if row["clients"] > 1 and not row["latency_merged"]:
        parts.append(f"latency: worst of {int(row['clients'])} clients")
    if _is_set(row["generator_behind"]):
        parts.append(
            f"generator behind: {row['achieved_rps']:.0f} of {row['offered_rps']:.0f} requests/s started,"
            f" {int(row['dropped_iterations'])} dropped"
        )
    if row["unstable"]:
        parts.append(f"unstable: CV {row['requestsPerSecond_cv_pct']:.1f} %")
    # Where the client shares its host with the app or db, one busy machine sets both flags: say that once.
    shared_and_busy = _is_set(row["client_saturated"]) and _is_set(row["client_shares_host"])
    if shared_and_busy:
        parts.append("CPU saturated (wrk shares the host with the app/db)")
    elif _is_set(row["client_saturated"]):
        parts.append("client saturated")
    if _is_set(row["db_bound"]) and not shared_and_busy:
        parts.append("db bound")
    if _is_set(row["lb_unbalanced"]):
        low, high = row["lb_fair_share_min_pct"], row["lb_fair_share_max_pct"]
        parts.append(f"lb unbalanced: app hosts at {low:.0f}-{high:.0f} % of their fair share")
    return "; ".join(parts)


def _with_union_latency(per_repeat: pd.DataFrame, union: pd.DataFrame | None) -> pd.DataFrame:
    """Each repeat's latency from the merged clients where analysis.clients could merge them."""
    latency = ["latencyAvg_ms", *SUMMARY_PERCENTILES]
    merged = pd.Series(False, index=per_repeat.index)
    if union is not None and len(union):
        keys = ["test_type", "framework", "level", "repeat"]
        joined = per_repeat[keys].merge(union[[*keys, *latency]], on=keys, how="left")
        merged = pd.Series(
            (per_repeat["clients"].to_numpy() > 1) & joined["latencyAvg_ms"].notna().to_numpy(),
            index=per_repeat.index,
        )
        for column in latency:
            per_repeat[column] = per_repeat[column].where(~merged, joined[column].to_numpy())
    return per_repeat.assign(latency_merged=merged)


def build_summary(tidy: pd.DataFrame, union: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per test_type x framework x level (columns: SUMMARY_COLUMNS).

    union: analysis.clients.merge_clients's frame, whose merged latencies replace the worst client's."""
    if tidy.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS)).astype({"unstable": "bool"})
    tidy = with_load_model(tidy)
    keys = ["test_type", "framework", "level"]
    per_repeat = tidy.groupby([*keys, "repeat"], as_index=False).agg(
        clients=("client", "nunique"),
        pipeline=("pipeline", "max"),
        totalRequests=("totalRequests", "sum"),
        seconds=("duration_s", "max"),
        requestsPerSecond=("requestsPerSecond", "sum"),
        latencyAvg_ms=("latencyAvg_ms", "max"),
        latencyMax_ms=("latencyMax_ms", "max"),
        load_model=("load_model", "first"),
        offered_rps=("offered_rps", sum_or_nan),
        achieved_rps=("achieved_rps", sum_or_nan),
        dropped_iterations=("dropped_iterations", sum_or_nan),
        generator_behind=("generator_behind", "any"),
        **{c: (c, "max") for c in SUMMARY_PERCENTILES},
        **{c: (c, "sum") for c in ERROR_COLUMNS},
    )
    per_repeat = _with_union_latency(per_repeat, union)
    summary = per_repeat.groupby(keys, as_index=False).agg(
        repeats=("repeat", "nunique"),
        clients=("clients", "max"),
        pipeline=("pipeline", "max"),
        totalRequests=("totalRequests", "mean"),
        seconds=("seconds", "mean"),
        requestsPerSecond=("requestsPerSecond", "mean"),
        requestsPerSecond_min=("requestsPerSecond", "min"),
        requestsPerSecond_max=("requestsPerSecond", "max"),
        latencyAvg_ms=("latencyAvg_ms", "mean"),
        latencyMax_ms=("latencyMax_ms", "max"),
        latency_merged=("latency_merged", "all"),
        load_model=("load_model", "first"),
        offered_rps=("offered_rps", "mean"),
        achieved_rps=("achieved_rps", "mean"),
        dropped_iterations=("dropped_iterations", sum_or_nan),
        generator_behind=("generator_behind", "any"),
        **{c: (c, "median") for c in SUMMARY_PERCENTILES},
        **{c: (c, "sum") for c in ERROR_COLUMNS},
    )
    summary = summary.merge(repeat_statistics(per_repeat, keys, "requestsPerSecond"), on=keys, how="left")
    summary = summary.merge(resources.level_summary(tidy, keys), on=keys, how="left")
    summary = summary.merge(balance.level_summary(tidy, keys), on=keys, how="left")
    summary["ceiling_fraction"] = ceiling_fractions(summary)
    summary["level_name"] = [
        level_name(str(t), str(m)) for t, m in zip(summary["test_type"], summary["load_model"], strict=True)
    ]
    summary["has_errors"] = summary[list(ERROR_COLUMNS)].gt(0).any(axis=1)
    summary["flags"] = summary.apply(_flags, axis=1) if len(summary) else ""
    summary = summary.sort_values(keys, kind="stable").reset_index(drop=True)
    return summary[list(SUMMARY_COLUMNS)]


def _latency_text(millis: float, pipelined: bool) -> str:
    if pipelined:
        return "n/a (pipelined)"
    if math.isnan(millis):
        return "n/a"
    return format_latency_ms(millis)


def table_frame(
    summary: pd.DataFrame, test_type: str, sort_by: str, labels: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The display table of one test type, sorted by "requestsPerSecond" (desc.) or "latencyAvg" (asc.).

    labels: what the framework column shows for a framework (its configuration), default its name.
    """
    rows = summary[summary["test_type"] == test_type]
    ascending = dict(TABLE_SORTS)[sort_by]
    sort_column = "latencyAvg_ms" if sort_by == "latencyAvg" else sort_by
    rows = rows.sort_values(
        [sort_column, "framework", "level"],
        ascending=[ascending, True, True],
        na_position="last",
        kind="stable",
    )
    pipelined = rows["pipeline"] > 1
    columns: dict[str, object] = {
        "framework": [(labels or {}).get(f, f) for f in rows["framework"]],
        (rows["level_name"].iloc[0] if len(rows) else level_name(test_type)): rows["level"],
        "totalRequests": rows["totalRequests"].round().astype("int64"),
        "seconds": rows["seconds"],
        "requestsPerSecond": rows["requestsPerSecond"].round(2),
    }
    # Columns that only carry information when the run has it: repeats, a ceiling, resource samples.
    if (rows["repeats"] > 1).any():
        columns["median"] = rows["requestsPerSecond_median"].round(2)
        columns["95% CI"] = [
            _interval_text(lo, hi)
            for lo, hi in zip(
                rows["requestsPerSecond_ci_low"], rows["requestsPerSecond_ci_high"], strict=True
            )
        ]
        columns["CV"] = [_percent_text(v) for v in rows["requestsPerSecond_cv_pct"]]
    if rows["ceiling_fraction"].notna().any():
        columns["ofCeiling"] = [_percent_text(v * 100.0) for v in rows["ceiling_fraction"]]
    columns["latencyAvg"] = [
        _latency_text(v, p) for v, p in zip(rows["latencyAvg_ms"], pipelined, strict=True)
    ]
    columns["p99"] = [_latency_text(v, p) for v, p in zip(rows["p99_ms"], pipelined, strict=True)]
    columns["latencyMax"] = [
        _latency_text(v, p) for v, p in zip(rows["latencyMax_ms"], pipelined, strict=True)
    ]
    if rows["app_cpu_pct"].notna().any():
        columns["appCPU"] = [_percent_text(v) for v in rows["app_cpu_pct"]]
        columns["cpuMsPer1k"] = rows["app_cpu_ms_per_1k_req"].round(1)
        columns["clientCPU"] = [_percent_text(v) for v in rows["client_cpu_pct"]]
    columns["flags"] = rows["flags"]
    return pd.DataFrame(columns)


def _percent_text(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.1f}%"


def _interval_text(low: float, high: float) -> str:
    return "n/a" if math.isnan(low) else f"{low:.0f}..{high:.0f}"


def render_tables(summary: pd.DataFrame, labels: Mapping[str, str] | None = None) -> str:
    """Both tables for every test type, as plain text with one header line per table."""
    blocks = []
    for test_type in sorted(summary["test_type"].unique()):
        for sort_by, ascending in TABLE_SORTS:
            order = "ascending" if ascending else "descending"
            header = f"== {test_type}: Sorted by {sort_by} ({order}) =="
            table = table_frame(summary, test_type, sort_by, labels)
            blocks.append(header + "\n" + table.to_string(index=False))
    return "\n\n".join(blocks) + "\n"
