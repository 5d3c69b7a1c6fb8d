"""Per test type: the summary rows (summary.csv) and the two plain-text tables printed by ``summarize``.

Aggregation, from the tidy frame:
  1. clients of one repeat are combined: requests, requests/s, connections and error counts are SUMMED;
     latency is not averaged across clients: the worst client's (highest latencyAvg_ms / latencyMax_ms) is
     shown and the row's flags say "latency: worst of N clients".
  2. repeats of one level: totalRequests, seconds, requestsPerSecond and latencyAvg_ms are MEANS over
     repeats (requestsPerSecond_min/_max give the spread), latencyMax_ms is the MAX over repeats, error
     counts are SUMS over repeats. Percentiles are never averaged (they are not in the summary).
A level with any error gets has_errors and a "errors: read=3 non2xx=10" flag: it is listed, never hidden.
Pipelined points have no per-request latency (see analysis.tidy): the tables show "n/a (pipelined)".
"""

from __future__ import annotations

import math

import pandas as pd

from analysis.tidy import ERROR_COLUMNS
from analysis.units import format_latency_ms

QUERY_SWEEP_TYPES = frozenset({"queries", "updates", "query", "update"})
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
)
TABLE_SORTS = (("requestsPerSecond", False), ("latencyAvg", True))


def level_name(test_type: str) -> str:
    """The sweep variable of a test type: "queries" for queries/updates, else "concurrency"."""
    return "queries" if test_type in QUERY_SWEEP_TYPES else "concurrency"


def _flags(row: pd.Series) -> str:
    parts = []
    errors = [f"{c.removeprefix('errors_')}={int(row[c])}" for c in ERROR_COLUMNS if row[c]]
    if errors:
        parts.append("errors: " + " ".join(errors))
    if row["clients"] > 1:
        parts.append(f"latency: worst of {int(row['clients'])} clients")
    return "; ".join(parts)


def build_summary(tidy: pd.DataFrame) -> pd.DataFrame:
    """One row per test_type x framework x level (columns: SUMMARY_COLUMNS)."""
    if tidy.empty:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    keys = ["test_type", "framework", "level"]
    per_repeat = tidy.groupby([*keys, "repeat"], as_index=False).agg(
        clients=("client", "nunique"),
        pipeline=("pipeline", "max"),
        totalRequests=("totalRequests", "sum"),
        seconds=("duration_s", "max"),
        requestsPerSecond=("requestsPerSecond", "sum"),
        latencyAvg_ms=("latencyAvg_ms", "max"),
        latencyMax_ms=("latencyMax_ms", "max"),
        **{c: (c, "sum") for c in ERROR_COLUMNS},
    )
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
        **{c: (c, "sum") for c in ERROR_COLUMNS},
    )
    summary["level_name"] = summary["test_type"].map(level_name)
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


def table_frame(summary: pd.DataFrame, test_type: str, sort_by: str) -> pd.DataFrame:
    """The display table of one test type, sorted by "requestsPerSecond" (desc.) or "latencyAvg" (asc.)."""
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
    return pd.DataFrame(
        {
            "framework": rows["framework"],
            level_name(test_type): rows["level"],
            "totalRequests": rows["totalRequests"].round().astype("int64"),
            "seconds": rows["seconds"],
            "requestsPerSecond": rows["requestsPerSecond"].round(2),
            "latencyAvg": [
                _latency_text(v, p) for v, p in zip(rows["latencyAvg_ms"], pipelined, strict=True)
            ],
            "latencyMax": [
                _latency_text(v, p) for v, p in zip(rows["latencyMax_ms"], pipelined, strict=True)
            ],
            "flags": rows["flags"],
        }
    )


def render_tables(summary: pd.DataFrame) -> str:
    """Both tables for every test type, as plain text with one header line per table."""
    blocks = []
    for test_type in sorted(summary["test_type"].unique()):
        for sort_by, ascending in TABLE_SORTS:
            order = "ascending" if ascending else "descending"
            header = f"== {test_type}: Sorted by {sort_by} ({order}) =="
            table = table_frame(summary, test_type, sort_by)
            blocks.append(header + "\n" + table.to_string(index=False))
    return "\n\n".join(blocks) + "\n"
