"""What a run's report shows (the context of report.html.j2), from the loaded run and its Summary.

Everything comes from memory: the run's records as analysis.run loaded them and the frames summarize
derived. A record the run does not have shows as "not recorded", never as an error.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

import pandas as pd

from analysis.host_levels import HOST_LEVELS_FILE
from analysis.plots import PLOTS_DIR, RenderedPlot
from analysis.report.formatting import (
    NOT_RECORDED,
    flatten,
    format_time_ms,
    format_value,
    generated_now,
    href,
    png_data_uri,
    settings_rows,
)
from analysis.report.summary_table import summary_table
from analysis.run import VERIFY_DIR, Run
from analysis.scaleout import SCALEOUT_FILE
from analysis.slo import SLO_FILE, slo_settings
from analysis.summarize import RESULTS_FILE, SAMPLES_FILE, SUMMARY_FILE, TIDY_FILE
from analysis.tidy import error_warnings

# Files of the run directory the report links to, with what each is.
RUN_FILES = (
    ("run.json", "the run's settings, start and end"),
    ("environment.json", "hosts: hardware, OS, software versions"),
    (TIDY_FILE, "one row per framework x type x level x repeat x client"),
    (SUMMARY_FILE, "the tables' data"),
    (SCALEOUT_FILE, "the scale-out curve: peak requests/s on N app hosts, efficiency"),
    (SLO_FILE, "the SLO search: every probe, and the highest rate under the p99 target"),
    (RESULTS_FILE, "TechEmpower results format"),
    (SAMPLES_FILE, "resource samples of every host"),
    (HOST_LEVELS_FILE, "each host's CPU per level, and each app host's requests served and CPU per request"),
)
# Groups of an environment record shown open: what the machine is. The rest (every package, setting and
# sysctl) starts folded, and so does any group longer than a screenful.
_OPEN_GROUPS = frozenset({"hardware", "os", "versions", "limits", "lab"})
_OPEN_GROUP_MAX = 16


def environment_view(environment: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per host: its scalar facts as rows, and each nested group (hardware, os, ...) as a foldable table."""
    hosts = []
    for host, record in environment.items():
        facts: list[tuple[str, str]] = []
        groups: list[dict[str, Any]] = []
        for key, value in record.items() if isinstance(record, Mapping) else [("value", record)]:
            if isinstance(value, Mapping):
                rows = flatten(value)
                is_open = str(key) in _OPEN_GROUPS and len(rows) <= _OPEN_GROUP_MAX
                groups.append({"name": str(key), "rows": rows, "open": is_open})
            else:
                facts.append((str(key), format_value(value)))
        hosts.append({"host": str(host), "facts": facts, "groups": groups})
    return hosts


def report_test_types(run: Run, summary: pd.DataFrame) -> list[str]:
    """The run's test types (run.json), then any other measured or graded one."""
    configured = [str(t) for t in run.meta.get("test_types") or []]
    measured = sorted({str(t) for t in summary["test_type"].unique()} - set(configured))
    graded = sorted({str(t) for f in run.frameworks.values() for t in f.get("verify") or {}})
    return list(dict.fromkeys([*configured, *measured, *graded]))


def framework_names(run: Run, summary: pd.DataFrame) -> list[str]:
    configured = [str(f) for f in run.meta.get("frameworks") or []]
    others = sorted({str(f) for f in summary["framework"].unique()} | set(run.frameworks))
    return list(dict.fromkeys([*configured, *others]))


def _verify_files(run: Run, framework: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A framework's verification output: its own files (verification.txt first), then its subfolders'."""
    verification = run.verification.get(framework)
    if verification is None:
        return [], []
    folder = PurePosixPath(VERIFY_DIR, framework)
    files = sorted(
        verification.files,
        key=lambda p: (len(p.relative_to(folder).parts), p.suffix != ".txt", str(p)),
    )
    links = [{"name": str(p.relative_to(folder)), "href": href(str(p))} for p in files]
    top = [link for link, p in zip(links, files, strict=True) if p.parent == folder]
    return top, [link for link, p in zip(links, files, strict=True) if p.parent != folder]


def framework_rows(run: Run, summary: pd.DataFrame, types: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for name in framework_names(run, summary):
        info = run.frameworks.get(name, {})
        grades = {str(k): str(v) for k, v in (info.get("verify") or {}).items()}
        metadata = info.get("metadata") or {}
        measured = set(summary.loc[summary["framework"] == name, "test_type"])
        verify_top, verify_data = _verify_files(run, name)
        rows.append(
            {
                "name": name,
                "display_name": str(metadata.get("display_name") or name),
                "status": str(info.get("status") or NOT_RECORDED),
                "reason": str(info.get("reason") or ""),
                "grades": [
                    {
                        "test_type": t,
                        "grade": grades.get(t, ""),
                        "measured": t in measured,
                    }
                    for t in types
                ],
                "setup": [
                    (key, format_value(metadata[key]))
                    for key in (
                        "server",
                        "worker_class",
                        "workers",
                        "db_mode",
                        "orm",
                        "platform",
                        "webserver",
                    )
                    if key in metadata and metadata[key] not in ("", None)
                ],
                "verify_files": verify_top,
                "verify_data": verify_data,
            }
        )
    return rows


def _raw_links(run: Run) -> list[dict[str, Any]]:
    """Per framework/type folder under raw/: links to every file, grouped by point."""
    groups: dict[str, list[dict[str, str]]] = {}
    for rel in run.files:
        if rel.parts[0] != "raw" or len(rel.parts) < 2 or rel.name.startswith("."):
            continue
        group = "/".join(rel.parts[1:3]) if len(rel.parts) > 3 else str(rel.parent)
        groups.setdefault(group, []).append(
            {"name": "/".join(rel.parts[3:]) or rel.name, "href": href(str(rel))}
        )
    return [{"name": name, "files": files} for name, files in groups.items()]


def _run_duration(run: Mapping[str, Any]) -> str:
    start, end = run.get("start_ms"), run.get("end_ms")
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        return "unfinished" if start else NOT_RECORDED
    seconds = max(0, round((end - start) / 1000))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def plot_view(plot: RenderedPlot) -> dict[str, str]:
    return {
        "name": plot.name,
        "title": plot.title,
        "src": png_data_uri(plot.png),
        "svg": href(f"{PLOTS_DIR}/{plot.name}.svg"),
    }


def _scaleout_rows(scaleout: pd.DataFrame) -> list[dict[str, str]]:
    return [
        {
            "test_type": str(row["test_type"]),
            "curve": str(row["curve"]),
            "app_hosts": str(int(row["app_hosts"])),
            "level": str(int(row["level"])),
            "rps": f"{float(row['requestsPerSecond']):,.0f}",
            "efficiency": "n/a" if pd.isna(row["efficiency"]) else f"{float(row['efficiency']):.2f}",
            "flags": str(row["flags"] or ""),
        }
        for row in scaleout.to_dict("records")
    ]


def _slo_rows(slo: pd.DataFrame) -> list[dict[str, str]]:
    """One row per framework and type: the highest rate under the target and the probes that found it."""
    rows = []
    for (test_type, framework), group in slo.groupby(["test_type", "framework"], sort=True):
        answer = group["found"].iloc[0]
        ordered = group.sort_values("rate").to_dict("records")
        verdicts = ("fail", "pass")
        rows.append(
            {
                "test_type": str(test_type),
                "framework": str(framework),
                "found": "none passed" if pd.isna(answer) else f"{int(answer):,}",
                "probes": ", ".join(
                    f"{int(r['rate']):,} ({verdicts[bool(r['passes'])]}: p99 {float(r['p99_ms']):.1f} ms)"
                    for r in ordered
                ),
            }
        )
    return rows


def report_context(
    run: Run,
    tidy: pd.DataFrame,
    summary: pd.DataFrame,
    plots: Sequence[RenderedPlot],
    warnings: Sequence[str],
    present: frozenset[str],
    scaleout: pd.DataFrame | None = None,
    slo: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """The template's context; ``present`` are the files the run directory holds beside the report."""
    types = report_test_types(run, summary)
    sections = []
    for test_type in types:
        measured = bool((summary["test_type"] == test_type).any())
        sections.append(
            {
                "test_type": test_type,
                "measured": measured,
                "table": summary_table(summary, test_type) if measured else None,
                "plots": [plot_view(p) for p in plots if p.section == test_type],
            }
        )
    failed = [
        f"{name}: {info.get('reason') or 'failed'}"
        for name, info in run.frameworks.items()
        if info.get("status") == "failed"
    ]
    files = [
        {"path": path, "what": what, "href": href(path) if path in present else None}
        for path, what in RUN_FILES
    ]
    return {
        "run_id": run.run_id,
        "name": str(run.meta.get("name") or run.run_id),
        "description": str(run.meta.get("environment_description") or ""),
        "generated": generated_now(),
        "started": format_time_ms(run.meta.get("start_ms")) or NOT_RECORDED,
        "duration": _run_duration(run.meta),
        "git_commit": str(run.meta.get("git_commit") or NOT_RECORDED),
        "profile": str(run.meta.get("profile") or NOT_RECORDED),
        "settings": settings_rows(run.meta),
        "environment": environment_view(run.environment) if run.environment else None,
        "test_types": types,
        "frameworks": framework_rows(run, summary, types),
        "sections": sections,
        "scaleout": _scaleout_rows(scaleout) if scaleout is not None else [],
        "scaleout_plots": [plot_view(p) for p in plots if p.section == "scaleout"],
        "slo": _slo_rows(slo) if slo is not None and len(slo) else [],
        "slo_target": slo_settings(run.meta),
        "cpu_plots": [plot_view(p) for p in plots if p.section == "cpu"],
        "resource_plots": [plot_view(p) for p in plots if p.section == "resources"],
        "failed_frameworks": failed,
        "level_errors": error_warnings(tidy),
        "warnings": list(warnings),
        "files": files,
        "plot_files": [
            {
                "name": p.name,
                "png": href(f"{PLOTS_DIR}/{p.name}.png"),
                "svg": href(f"{PLOTS_DIR}/{p.name}.svg"),
            }
            for p in plots
        ],
        "raw": _raw_links(run),
        "not_recorded": NOT_RECORDED,
    }
