"""The comparison report's context (compare.html.j2): two loaded runs side by side.

Settings (differences highlighted), requests/s per framework x type x level with the change, and one chart
per test type. A change gets the verdict of ``python -m analysis compare`` (Welch's t-test over the repeats,
analysis.compare). Each run's table is the summary of its tidy frame as measured (analysis.tables).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pandas as pd

from analysis.compare import compare_points, points_from_tidy
from analysis.plots import comparison_figure
from analysis.report.context import framework_names, report_test_types
from analysis.report.formatting import (
    NOT_RECORDED,
    figure_data_uri,
    generated_now,
    latency_cell,
    settings_rows,
    sort_key,
)
from analysis.run import Run
from analysis.tables import build_summary, level_name


def comparison_verdicts(a: pd.DataFrame, b: pd.DataFrame) -> dict[tuple[str, str, int], str]:
    """Per framework, type and level: the verdict of ``python -m analysis compare`` (Welch's t-test)."""
    frame = compare_points(points_from_tidy(a), points_from_tidy(b))
    verdicts = {}
    for row in frame.to_dict("records"):
        text = str(row["verdict"])
        p_value = float(row["p_value"])
        if text == "not testable":
            text = "not testable (fewer than 2 repeats)"
        elif not math.isnan(p_value):
            text = f"{text} (p = {p_value:.3g})"
        verdicts[(str(row["framework"]), str(row["test_type"]), int(row["level"]))] = text
    return verdicts


def comparison_rows(
    a: pd.DataFrame, b: pd.DataFrame, test_type: str, verdicts: Mapping[tuple[str, str, int], str]
) -> list[dict[str, Any]]:
    """One row per framework x level present in either run: A and B requests/s, change, verdict."""
    keys = ["framework", "level"]
    left = a[a["test_type"] == test_type].set_index(keys)
    right = b[b["test_type"] == test_type].set_index(keys)
    rows = []
    for framework, level in sorted(set(left.index) | set(right.index)):
        ra = left.loc[(framework, level)].to_dict() if (framework, level) in left.index else None
        rb = right.loc[(framework, level)].to_dict() if (framework, level) in right.index else None
        change = None
        if ra is not None and rb is not None and float(ra["requestsPerSecond"]) > 0:
            change = (float(rb["requestsPerSecond"]) / float(ra["requestsPerSecond"]) - 1) * 100
        pipelined = int((ra or rb or {}).get("pipeline", 1)) > 1
        rows.append(
            {
                "framework": str(framework),
                "level": int(level),
                "a_rps": f"{float(ra['requestsPerSecond']):,.1f}" if ra else "not measured",
                "b_rps": f"{float(rb['requestsPerSecond']):,.1f}" if rb else "not measured",
                "a_key": sort_key(ra["requestsPerSecond"]) if ra else "",
                "b_key": sort_key(rb["requestsPerSecond"]) if rb else "",
                "change": "" if change is None else f"{change:+.1f} %",
                "change_key": "" if change is None else repr(change),
                "verdict": verdicts.get((str(framework), test_type, int(level)), "") if ra and rb else "",
                "a_latency": latency_cell(ra["latencyAvg_ms"], pipelined) if ra else "",
                "b_latency": latency_cell(rb["latencyAvg_ms"], pipelined) if rb else "",
                "errors": "; ".join(
                    f"{side}: {row['flags']}"
                    for side, row in (("A", ra), ("B", rb))
                    if row and row["has_errors"]
                ),
            }
        )
    return rows


def _settings_diff(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[dict[str, Any]]:
    rows = []
    left, right = dict(settings_rows(a)), dict(settings_rows(b))
    for key in sorted(set(left) | set(right)):
        if key in ("run_id", "start_ms", "end_ms", "resumed_ms", "name"):
            differs = False
        else:
            differs = left.get(key) != right.get(key)
        rows.append(
            {
                "key": key,
                "a": left.get(key, NOT_RECORDED),
                "b": right.get(key, NOT_RECORDED),
                "differs": differs,
            }
        )
    return rows


def _warnings(run: Run) -> list[str]:
    return [*run.warnings.run, *run.warnings.frameworks, *run.warnings.raw]


def comparison_context(a: Run, b: Run) -> dict[str, Any]:
    """The template's context comparing run A (baseline) with run B."""
    summary_a, summary_b = build_summary(a.tidy), build_summary(b.tidy)
    test_types = list(dict.fromkeys([*report_test_types(a, summary_a), *report_test_types(b, summary_b)]))
    label_a, label_b = f"A {a.run_id}", f"B {b.run_id}"
    verdicts = comparison_verdicts(a.tidy, b.tidy)
    sections = []
    for test_type in test_types:
        in_a = bool((summary_a["test_type"] == test_type).any())
        in_b = bool((summary_b["test_type"] == test_type).any())
        plot = (
            figure_data_uri(comparison_figure([(label_a, summary_a), (label_b, summary_b)], test_type))
            if in_a or in_b
            else None
        )
        sections.append(
            {
                "test_type": test_type,
                "level_name": level_name(test_type),
                "in_a": in_a,
                "in_b": in_b,
                "rows": comparison_rows(summary_a, summary_b, test_type, verdicts),
                "plot": plot,
            }
        )
    frameworks_a, frameworks_b = set(framework_names(a, summary_a)), set(framework_names(b, summary_b))
    return {
        "a": {"run_id": a.run_id, "name": str(a.meta.get("name") or a.run_id), "dir": str(a.run_dir)},
        "b": {"run_id": b.run_id, "name": str(b.meta.get("name") or b.run_id), "dir": str(b.run_dir)},
        "generated": generated_now(),
        "settings": _settings_diff(a.meta, b.meta),
        "only_a": sorted(frameworks_a - frameworks_b),
        "only_b": sorted(frameworks_b - frameworks_a),
        "sections": sections,
        "warnings": [f"A: {w}" for w in _warnings(a)] + [f"B: {w}" for w in _warnings(b)],
    }
