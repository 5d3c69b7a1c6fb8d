"""Several client hosts measured one point together: one merged row per framework x type x level x repeat.

The tidy frame keeps one row per client (analysis.tidy). This module merges the clients of each point:

  summed        totalRequests, bytes, concurrency (connections over all clients), errors_* and non2xx
  rate          requestsPerSecond = summed totalRequests / configured duration_s (the same on every client)
  time          start_ms (earliest client start), end_ms (latest end), start_spread_ms (latest start minus
                earliest: how far apart the clients began), planned_start_ms, start_late_ms (the most any
                client missed the planned start by; empty without a start schedule)
  latency       latencyMax_ms is exact: the largest of the clients' maxima. Averages and percentiles of
                different clients cannot be combined from their summaries (a percentile of the union needs the
                samples), so they are never averaged: the merged row carries the WORST client's value under
                a name that says so (latencyAvg_ms_worst_client, p99_ms_worst_client...), and worst_client
                names the client with the highest average. Each client's own latencies stay in tidy.csv.
                The union's own figures (latencyAvg_ms, latencyStdev_ms, p50_ms ... p9999_ms) exist where
                they can be had: an open-loop point's come from the clients' whole histograms merged bucket
                by bucket (labcore/histogram.py); a point measured by one client has that client's; a
                closed-loop point of several clients has none (wrk keeps no mergeable histogram).
  open loop     load_model; offered_rps, achieved_rps and dropped_iterations summed over the clients (the
                offered rate is then the level's, for the whole lab); generator_behind when any client's
                generator fell behind its schedule (analysis.tidy)
  flags         late_start (the clients did not start within LATE_START_TOLERANCE_MS of each other or of the
                planned start: their load windows did not fully overlap, so the summed rate understates)

Written as clients.csv by ``python -m analysis summarize``; a single-client run gets one row per point too.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import pandas as pd

from analysis.tidy import ERROR_COLUMNS, PERCENTILE_COLUMNS, sum_or_nan, with_load_model
from labcore import histogram

POINT_KEYS = ["framework", "test_type", "level", "repeat"]
LATE_START_TOLERANCE_MS = 100
WORST_CLIENT_COLUMNS = {
    column: f"{column}_worst_client"
    for column in ("latencyAvg_ms", "latencyStdev_ms", *PERCENTILE_COLUMNS.values())
}
UNION_COLUMNS = ("latencyAvg_ms", "latencyStdev_ms", *PERCENTILE_COLUMNS.values())
CLIENT_COLUMNS = (
    "run_id",
    *POINT_KEYS,
    "clients",
    "client_names",
    "concurrency",
    "pipeline",
    "queries",
    "duration_s",
    "start_ms",
    "end_ms",
    "start_spread_ms",
    "planned_start_ms",
    "start_late_ms",
    "late_start",
    "totalRequests",
    "requestsPerSecond",
    "bytes",
    *ERROR_COLUMNS,
    "has_errors",
    "latencyMax_ms",
    *UNION_COLUMNS,
    "worst_client",
    *WORST_CLIENT_COLUMNS.values(),
    "load_model",
    "offered_rps",
    "achieved_rps",
    "dropped_iterations",
    "generator_behind",
)


def _worst_rows(tidy: pd.DataFrame) -> pd.DataFrame:
    """Per point, the row of the client with the highest average latency (else the first client by name)."""
    ordered = tidy.sort_values(
        [*POINT_KEYS, "latencyAvg_ms", "client"],
        ascending=[True, True, True, True, False, True],
        na_position="last",
        kind="stable",
    )
    return ordered.drop_duplicates(POINT_KEYS, keep="first")


def _union_latency(
    sources: pd.Series, rows: pd.DataFrame, histograms: Mapping[str, histogram.Histogram]
) -> dict[str, float]:
    """The union's latency figures of one point's client rows (see the module docstring), NaN when none."""
    if len(rows) == 1 and not pd.isna(rows["latencyAvg_ms"].iloc[0]):
        return {column: float(rows[column].iloc[0]) for column in UNION_COLUMNS}
    if all(source in histograms for source in sources):
        union = histogram.merged(histograms[source] for source in sources)
        if union.total:
            figures = {"latencyAvg_ms": union.mean / 1000, "latencyStdev_ms": union.stdev / 1000}
            for percent, column in PERCENTILE_COLUMNS.items():
                figures[column] = union.percentile(float(percent)) / 1000
            return figures
    return dict.fromkeys(UNION_COLUMNS, math.nan)


def merge_clients(
    tidy: pd.DataFrame, histograms: Mapping[str, histogram.Histogram] | None = None
) -> pd.DataFrame:
    """One row per framework x test_type x level x repeat (columns: CLIENT_COLUMNS), sorted by those keys.

    histograms: the open-loop points' whole histograms by their source (analysis.run.Run.histograms)."""
    if tidy.empty:
        return pd.DataFrame(columns=list(CLIENT_COLUMNS))
    planned = tidy["planned_start_ms"] if "planned_start_ms" in tidy else pd.Series(pd.NA, index=tidy.index)
    late = tidy["start_late_ms"] if "start_late_ms" in tidy else pd.Series(pd.NA, index=tidy.index)
    frame = with_load_model(tidy).assign(
        planned_start_ms=planned.astype("Int64"), start_late_ms=late.astype("Int64")
    )
    grouped = frame.groupby(POINT_KEYS, as_index=False, sort=True)
    merged = grouped.agg(
        run_id=("run_id", "first"),
        clients=("client", "nunique"),
        client_names=("client", lambda names: ",".join(sorted(set(names)))),
        concurrency=("concurrency", "sum"),
        pipeline=("pipeline", "max"),
        queries=("queries", "first"),
        duration_s=("duration_s", "max"),
        start_ms=("start_ms", "min"),
        end_ms=("end_ms", "max"),
        latest_start_ms=("start_ms", "max"),
        planned_start_ms=("planned_start_ms", "min"),
        start_late_ms=("start_late_ms", "max"),
        totalRequests=("totalRequests", "sum"),
        bytes=("bytes", "sum"),
        latencyMax_ms=("latencyMax_ms", "max"),
        load_model=("load_model", "first"),
        offered_rps=("offered_rps", sum_or_nan),
        achieved_rps=("achieved_rps", sum_or_nan),
        dropped_iterations=("dropped_iterations", sum_or_nan),
        generator_behind=("generator_behind", "any"),
        **{column: (column, "sum") for column in ERROR_COLUMNS},
    )
    unions = [
        {**dict(zip(POINT_KEYS, key, strict=True)), **_union_latency(rows["source"], rows, histograms or {})}
        for key, rows in frame.groupby(POINT_KEYS, sort=True)
    ]
    merged = merged.merge(pd.DataFrame(unions, columns=[*POINT_KEYS, *UNION_COLUMNS]), on=POINT_KEYS)
    merged["start_spread_ms"] = merged.pop("latest_start_ms") - merged["start_ms"]
    merged["requestsPerSecond"] = merged["totalRequests"] / merged["duration_s"]
    merged["has_errors"] = merged[list(ERROR_COLUMNS)].gt(0).any(axis=1)
    merged["late_start"] = (merged["start_spread_ms"] > LATE_START_TOLERANCE_MS) | (
        merged["start_late_ms"].fillna(0) > LATE_START_TOLERANCE_MS
    ).astype(bool)
    worst = _worst_rows(frame).rename(columns={"client": "worst_client", **WORST_CLIENT_COLUMNS})
    merged = merged.merge(worst[[*POINT_KEYS, "worst_client", *WORST_CLIENT_COLUMNS.values()]], on=POINT_KEYS)
    merged = merged.astype(
        {
            "late_start": "bool",
            "has_errors": "bool",
            "queries": "Int64",
            "generator_behind": "bool",
            "dropped_iterations": "Int64",
        }
    )
    return merged[list(CLIENT_COLUMNS)].reset_index(drop=True)


def late_start_warnings(merged: pd.DataFrame) -> list[str]:
    """One line per point whose clients did not start together, e.g. for the summary's warnings."""
    lines = []
    for row in merged[merged["late_start"]].to_dict("records"):
        late_ms = row["start_late_ms"]
        late = "" if pd.isna(late_ms) else f", up to {int(late_ms)} ms after the planned start"
        lines.append(
            f"{row['framework']}/{row['test_type']} level {row['level']} repeat {row['repeat']}: "
            f"{row['clients']} clients started {int(row['start_spread_ms'])} ms apart{late}; "
            "their load overlapped only partly"
        )
    return lines
