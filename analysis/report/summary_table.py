"""The sortable table of one test type in a run's report, from the summary frame (analysis.tables)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from analysis.report.formatting import format_value, latency_cell, number, scalar, sort_key, span
from analysis.tables import level_name
from analysis.tidy import ERROR_COLUMNS


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


Cell = tuple[str, str]  # (text, sort key)
Formatter = Callable[[Mapping[str, Any], bool], Cell]


def _plain(column: str, digits: int = 1) -> Formatter:
    return lambda row, _pipelined: (number(row[column], digits), sort_key(row[column]))


def _latency(column: str) -> Formatter:
    def cell(row: Mapping[str, Any], pipelined: bool) -> Cell:
        return latency_cell(row[column], pipelined), "" if pipelined else sort_key(row[column])

    return cell


def _repeat_range(row: Mapping[str, Any], _pipelined: bool) -> Cell:
    text = span(row["requestsPerSecond_min"], row["requestsPerSecond_max"]) if int(row["repeats"]) > 1 else ""
    return text, sort_key(row["requestsPerSecond_min"])


def _share_range(row: Mapping[str, Any], _pipelined: bool) -> Cell:
    low, high = row["lb_fair_share_min_pct"], row["lb_fair_share_max_pct"]
    if pd.isna(low) or pd.isna(high):
        return "n/a", sort_key(low)
    return f"{low:.0f}-{high:.0f}", sort_key(low)


def _flags(row: Mapping[str, Any], _pipelined: bool) -> Cell:
    text = str(scalar(row["flags"]) or "")
    return text, text


def _confidence(row: Mapping[str, Any], _pipelined: bool) -> Cell:
    return span(row["requestsPerSecond_ci_low"], row["requestsPerSecond_ci_high"]), sort_key(
        row["requestsPerSecond_ci_low"]
    )


# The summary columns a report table shows, in order: (header, kind, the columns it needs, cell). A column
# is shown when the summary has what it needs; summary columns not listed here and not in _FOLDED are shown
# after them as they are, so a column added to the summary later still reaches the report.
_TABLE_COLUMNS: tuple[tuple[str, str, tuple[str, ...], Formatter], ...] = (
    ("requests/s", "number", ("requestsPerSecond",), _plain("requestsPerSecond")),
    ("median", "number", ("requestsPerSecond_median",), _plain("requestsPerSecond_median")),
    ("repeat range", "number", ("requestsPerSecond_min", "requestsPerSecond_max"), _repeat_range),
    ("95 % CI", "number", ("requestsPerSecond_ci_low", "requestsPerSecond_ci_high"), _confidence),
    ("CV %", "number", ("requestsPerSecond_cv_pct",), _plain("requestsPerSecond_cv_pct")),
    ("flags", "text", ("flags",), _flags),
    ("repeats", "number", ("repeats",), _plain("repeats", 0)),
    ("totalRequests", "number", ("totalRequests",), _plain("totalRequests", 0)),
    ("latencyAvg", "number", ("latencyAvg_ms",), _latency("latencyAvg_ms")),
    ("p50", "number", ("p50_ms",), _latency("p50_ms")),
    ("p90", "number", ("p90_ms",), _latency("p90_ms")),
    ("p99", "number", ("p99_ms",), _latency("p99_ms")),
    ("p99.9", "number", ("p999_ms",), _latency("p999_ms")),
    ("latencyMax", "number", ("latencyMax_ms",), _latency("latencyMax_ms")),
    ("app CPU %", "number", ("app_cpu_pct",), _plain("app_cpu_pct")),
    ("db CPU %", "number", ("db_cpu_pct",), _plain("db_cpu_pct")),
    ("client CPU %", "number", ("client_cpu_pct",), _plain("client_cpu_pct")),
    ("app CPU ms / 1k req", "number", ("app_cpu_ms_per_1k_req",), _plain("app_cpu_ms_per_1k_req")),
    ("lb CPU %", "number", ("lb_cpu_pct",), _plain("lb_cpu_pct")),
    ("app hosts, % of fair", "number", ("lb_fair_share_min_pct", "lb_fair_share_max_pct"), _share_range),
    ("of ceiling", "number", ("ceiling_fraction",), _plain("ceiling_fraction", 2)),
)
_WITH_BALANCER = ("lb_cpu_pct", "lb_fair_share_min_pct", "lb_fair_share_max_pct")
# Shown another way: the table's own section and level column, row shading and the flags text (errors,
# unstable, client saturated, database-bound, balancer unbalanced).
_FOLDED = frozenset(
    {
        "test_type",
        "framework",
        "level_name",
        "level",
        "clients",
        "pipeline",
        "seconds",
        "has_errors",
        "unstable",
        "client_saturated",
        "db_bound",
        "lb_unbalanced",
        *ERROR_COLUMNS,
    }
)


def summary_table(summary: pd.DataFrame, test_type: str) -> dict[str, Any]:
    """The sortable table of one test type: header cells and rows of {text, key} cells, by requests/s."""
    rows = summary[summary["test_type"] == test_type].sort_values(
        ["requestsPerSecond", "framework", "level"], ascending=[False, True, True], kind="stable"
    )
    # The balancer's columns only in a run that had one.
    present = set(summary.columns) - {c for c in _WITH_BALANCER if c in summary and summary[c].isna().all()}
    columns = [c for c in _TABLE_COLUMNS if set(c[2]) <= present]
    used = {name for c in columns for name in c[2]} | set(_WITH_BALANCER)
    others = [c for c in summary.columns if c not in used and c not in _FOLDED]
    header = [
        ("framework", "text"),
        (level_name(test_type), "number"),
        *((name, kind) for name, kind, _needs, _cell in columns),
        *((c, "number" if pd.api.types.is_numeric_dtype(summary[c]) else "text") for c in others),
    ]
    table_rows = []
    for record in _records(rows):
        pipelined = int(record.get("pipeline", 1)) > 1
        cells: list[Cell] = [
            (str(record["framework"]), str(record["framework"])),
            (str(int(record["level"])), sort_key(record["level"])),
            *(cell(record, pipelined) for _name, _kind, _needs, cell in columns),
            *((format_value(scalar(record[c])), sort_key(record[c])) for c in others),
        ]
        table_rows.append(
            {
                "framework": str(record["framework"]),
                "level": int(record["level"]),
                "has_errors": bool(record.get("has_errors", False)),
                "cells": [{"text": text, "key": key} for text, key in cells],
            }
        )
    css = {"flags": "flags"}
    columns_view = [
        {"name": n, "kind": k, "css": css.get(n, "num" if k == "number" else "")} for n, k in header
    ]
    return {"header": columns_view, "rows": table_rows}
