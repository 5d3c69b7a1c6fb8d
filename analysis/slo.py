"""The SLO search's outcome (labcore/slo.py): every probe, and per framework and type the highest offered rate
with p99 under the run's target (run.json's ``slo``: p99_ms, error_pct, max_steps).

A probe is a point of phase ``slo`` on every client (raw/<fw>/<type>/<client>/slo-o<rate>-r1.*); its clients'
histograms are merged and judged by labcore.slo's rule, the same the search followed while it ran.

Columns of slo.csv (one row per probe): framework, test_type, rate (offered requests/s, whole lab), clients,
p99_ms (of the merged histogram), error_pct, generator_behind, passes (the rule), found (the framework and
type's answer: the highest rate that passed; empty when none did).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from analysis.raw_files import OpenLoop, RawPoint
from analysis.wrk_report import WrkReport
from labcore import slo

SLO_FILE = "slo.csv"
SLO_COLUMNS = (
    "framework",
    "test_type",
    "rate",
    "clients",
    "p99_ms",
    "error_pct",
    "generator_behind",
    "passes",
    "found",
)


def slo_settings(run_meta: Mapping[str, Any]) -> tuple[float, float] | None:
    """(p99_ms, error_pct) of the run's search; None when the run did not search."""
    settings = run_meta.get("slo")
    if not isinstance(settings, Mapping):
        return None
    return float(settings["p99_ms"]), float(settings["error_pct"])


def slo_probes(points: Sequence[RawPoint], run_meta: Mapping[str, Any]) -> pd.DataFrame:
    """slo.csv's frame (see the module docstring); empty without a search."""
    settings = slo_settings(run_meta)
    groups: dict[tuple[str, str, int], list[tuple[WrkReport, OpenLoop]]] = {}
    for point in points:
        if point.meta.get("phase") == "slo" and point.open_loop is not None:
            key = (str(point.meta["framework"]), str(point.meta["test_type"]), int(point.meta["level"]))
            groups.setdefault(key, []).append((point.report, point.open_loop))
    if settings is None or not groups:
        return pd.DataFrame(columns=list(SLO_COLUMNS))
    p99_ms, error_pct = settings
    rows = []
    for (framework, test_type, rate), clients in sorted(groups.items()):
        probe = slo.probe_from(
            rate,
            (schedule.histogram for _, schedule in clients),
            requests=sum(report.requests for report, _ in clients),
            errors=sum(
                r.errors_connect + r.errors_read + r.errors_write + r.errors_timeout + r.errors_status
                for r, _ in clients
            ),
            offered=sum(schedule.offered_rps for _, schedule in clients),
            achieved=sum(schedule.achieved_rps for _, schedule in clients),
        )
        rows.append(
            {
                "framework": framework,
                "test_type": test_type,
                "rate": rate,
                "clients": len(clients),
                "p99_ms": probe.p99_ms,
                "error_pct": probe.error_pct,
                "generator_behind": probe.behind,
                "passes": probe.passes(p99_ms, error_pct),
                "_probe": probe,
            }
        )
    frame = pd.DataFrame(rows)
    answers = {
        key: slo.found(list(group["_probe"]), p99_ms, error_pct)
        for key, group in frame.groupby(["framework", "test_type"], sort=True)
    }
    frame["found"] = [answers[(f, t)] for f, t in zip(frame["framework"], frame["test_type"], strict=True)]
    frame = frame.astype({"found": "Int64", "passes": "bool", "generator_behind": "bool"})
    return frame[list(SLO_COLUMNS)].reset_index(drop=True)


def slo_results(frame: pd.DataFrame, run_meta: Mapping[str, Any]) -> dict[str, Any] | None:
    """results.json's ``sloSearch`` section: the target, each framework's answer per type, every probe."""
    settings = slo_settings(run_meta)
    if settings is None or frame.empty:
        return None
    found: dict[str, dict[str, int | None]] = {}
    probes: dict[str, dict[str, list[dict[str, Any]]]] = {}
    for (framework, test_type), group in frame.groupby(["framework", "test_type"], sort=True):
        answer = group["found"].iloc[0]
        found.setdefault(str(test_type), {})[str(framework)] = None if pd.isna(answer) else int(answer)
        probes.setdefault(str(test_type), {})[str(framework)] = [
            {
                "offeredRps": int(row["rate"]),
                "p99Ms": None if math.isinf(row["p99_ms"]) else float(row["p99_ms"]),
                "errorPct": float(row["error_pct"]),
                "generatorBehind": bool(row["generator_behind"]),
                "passes": bool(row["passes"]),
            }
            for row in group.to_dict("records")
        ]
    return {"p99TargetMs": settings[0], "errorPctLimit": settings[1], "found": found, "probes": probes}


def render_slo(frame: pd.DataFrame, run_meta: Mapping[str, Any]) -> str:
    """The summary's table: per type, each framework's highest rate under the target and its probes."""
    settings = slo_settings(run_meta)
    if settings is None or frame.empty:
        return ""
    lines = [f"== Highest offered rate with p99 <= {settings[0]:g} ms and errors < {settings[1]:g} % =="]
    for (test_type, framework), group in frame.groupby(["test_type", "framework"], sort=True):
        answer = group["found"].iloc[0]
        probes = ", ".join(
            f"{int(r['rate'])}{'' if r['passes'] else ' x'}"
            for r in group.sort_values("rate").to_dict("records")
        )
        shown = "none passed" if pd.isna(answer) else f"{int(answer)} requests/s"
        lines.append(f"  {test_type:<10} {framework:<24} {shown:<20} probes (x: failed): {probes}")
    return "\n".join(lines) + "\n"
