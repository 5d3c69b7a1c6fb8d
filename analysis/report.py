"""The HTML reports: one self-contained ``report.html`` per run, and a comparison of two runs.

A run's report (analysis/templates/report.html.j2) shows the run's settings and environment, the
verification grades, the summary tables of every test type (sortable in the browser), the plots
(analysis.plots, embedded as PNG data URIs; the PNG and SVG files are also kept under ``plots/``), errors and
warnings, and relative links to the raw files of the run directory. Everything it shows comes from the frames
the analysis built from the raw files and from the run's own files (run.json, frameworks/, environment.json,
resources/samples.csv, verify/); a file that is absent shows as "not recorded", never as an error.

The comparison report (compare.html.j2) puts two runs side by side: settings (differences highlighted),
requests/s per framework x type x level with the change, and one chart per test type. A change gets
the verdict of ``python -m analysis compare`` (Welch's t-test over the repeats, analysis.compare).
"""

from __future__ import annotations

import base64
import io
import json
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
import pandas as pd
from matplotlib.figure import Figure

from analysis.compare import compare_points, points_from_tidy
from analysis.plots import PLOTS_DIR, RESOURCE_COLUMNS, SavedPlot, comparison_figure, run_plots, save_plots
from analysis.raw_files import load_raw_points
from analysis.run_meta import load_frameworks, load_run_json
from analysis.tables import build_summary, level_name
from analysis.tidy import ERROR_COLUMNS, build_tidy, error_warnings
from analysis.units import format_latency_ms

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
REPORT_NAME = "report.html"
NOT_RECORDED = "not recorded"
GRADES = ("pass", "warn", "fail")
# Files of the run directory the report links to, with what each is.
RUN_FILES = (
    ("run.json", "the run's settings, start and end"),
    ("environment.json", "hosts: hardware, OS, software versions"),
    ("tidy.csv", "one row per framework x type x level x repeat x client"),
    ("summary.csv", "the tables' data"),
    ("results.json", "TechEmpower results format"),
    ("resources/samples.csv", "resource samples of every host"),
)


@dataclass
class RunData:
    """What the reports show of one run: its files and the frames the analysis built from raw/."""

    run_dir: Path
    run: dict[str, Any]
    frameworks: dict[str, dict[str, Any]]
    tidy: pd.DataFrame
    summary: pd.DataFrame
    warnings: list[str] = field(default_factory=list)

    @property
    def run_id(self) -> str:
        return str(self.run.get("run_id") or self.run_dir.name)


def load_run(run_dir: Path) -> RunData:
    """Build a run's frames from its raw files, as ``summarize`` does (used by the comparison report)."""
    run, run_warnings = load_run_json(run_dir)
    frameworks, framework_warnings = load_frameworks(run_dir)
    loaded = load_raw_points(run_dir)
    tidy = build_tidy(loaded.points, run_id=str(run.get("run_id") or run_dir.name))
    return RunData(
        run_dir=run_dir,
        run=run,
        frameworks=frameworks,
        tidy=tidy,
        summary=build_summary(tidy),
        warnings=[*run_warnings, *framework_warnings, *loaded.warnings],
    )


def read_environment(run_dir: Path) -> tuple[dict[str, Any] | None, list[str]]:
    """environment.json ({host: {...}}), or None when the run has none."""
    path = run_dir / "environment.json"
    if not path.is_file():
        return None, []
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        return None, [f"{path}: unreadable ({exc})"]
    if not isinstance(value, dict):
        return None, [f"{path}: not a JSON object of hosts"]
    return value, []


def read_samples(run_dir: Path) -> tuple[pd.DataFrame | None, list[str]]:
    """resources/samples.csv, or None when the run has none or it lacks a column the plot needs."""
    path = run_dir / "resources" / "samples.csv"
    if not path.is_file():
        return None, []
    try:
        samples = pd.read_csv(path)
    except (OSError, ValueError) as exc:
        return None, [f"{path}: unreadable ({exc})"]
    missing = [c for c in RESOURCE_COLUMNS if c not in samples.columns]
    if missing:
        return None, [f"{path}: missing column(s) {', '.join(missing)}; resource plot left out"]
    return samples, []


# ------------------------------------------------------------------ formatting


def format_time_ms(value: Any) -> str:
    """Epoch milliseconds as ``2026-11-21 20:01:31 UTC``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(int(value) / 1000))


def format_value(value: Any) -> str:
    """Any cell or setting as short text: numbers with separators, lists joined, NaN and None empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return ""
        if value.is_integer() and abs(value) < 1e15:
            return format_value(int(value))
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.3g}"
    if isinstance(value, list | tuple):
        return ", ".join(format_value(v) for v in value)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}: {format_value(v)}" for k, v in value.items())
    return str(value)


def _scalar(value: Any) -> Any:
    """numpy/pandas scalars as plain Python values (NaN and NA as None)."""
    if value is None or value is pd.NA:
        return None
    if hasattr(value, "item"):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _sort_key(value: Any) -> str:
    value = _scalar(value)
    if isinstance(value, bool):
        return str(int(value))
    if isinstance(value, int | float):
        return repr(float(value))
    return "" if value is None else str(value)


def flatten(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """Nested mappings as (dotted key, text) rows, for the environment tables."""
    if isinstance(obj, Mapping):
        rows: list[tuple[str, str]] = []
        for key, value in obj.items():
            rows += flatten(value, f"{prefix}.{key}" if prefix else str(key))
        return rows
    return [(prefix, format_value(obj))]


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


def data_uri(path: Path, mime: str = "image/png") -> str:
    return f"data:{mime};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"


def figure_data_uri(figure: Figure) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return f"data:image/png;base64,{base64.b64encode(buffer.getvalue()).decode('ascii')}"


def href(path: str) -> str:
    """A relative link to a file of the run directory (the report sits at its top)."""
    return quote(path)


# ------------------------------------------------------------------ context of a run's report


def _test_types(data: RunData) -> list[str]:
    configured = [str(t) for t in data.run.get("test_types") or []]
    measured = sorted({str(t) for t in data.summary["test_type"].unique()} - set(configured))
    graded = sorted({str(t) for f in data.frameworks.values() for t in f.get("verify") or {}})
    return list(dict.fromkeys([*configured, *measured, *graded]))


def _framework_names(data: RunData) -> list[str]:
    configured = [str(f) for f in data.run.get("frameworks") or []]
    others = sorted({str(f) for f in data.summary["framework"].unique()} | set(data.frameworks))
    return list(dict.fromkeys([*configured, *others]))


def _verify_files(run_dir: Path, framework: str) -> tuple[list[dict[str, str]], list[dict[str, str]]]:
    """A framework's verification output: its own files (verification.txt first), then its subfolders'."""
    folder = run_dir / "verify" / framework
    if not folder.is_dir():
        return [], []
    files = sorted(
        (p for p in folder.rglob("*") if p.is_file()),
        key=lambda p: (len(p.relative_to(folder).parts), p.suffix != ".txt", str(p)),
    )
    links = [{"name": str(p.relative_to(folder)), "href": href(str(p.relative_to(run_dir)))} for p in files]
    top = [link for link, p in zip(links, files, strict=True) if p.parent == folder]
    return top, [link for link, p in zip(links, files, strict=True) if p.parent != folder]


def framework_rows(data: RunData, test_types: Sequence[str]) -> list[dict[str, Any]]:
    rows = []
    for name in _framework_names(data):
        info = data.frameworks.get(name, {})
        grades = {str(k): str(v) for k, v in (info.get("verify") or {}).items()}
        metadata = info.get("metadata") or {}
        measured = set(data.summary.loc[data.summary["framework"] == name, "test_type"])
        verify_top, verify_data = _verify_files(data.run_dir, name)
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
                    for t in test_types
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


def _latency_cell(value: Any, pipelined: bool) -> str:
    value = _scalar(value)
    if pipelined:
        return "n/a (pipelined)"
    if value is None:
        return "n/a"
    return format_latency_ms(float(value))


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): v for k, v in row.items()} for row in frame.to_dict("records")]


def _number(value: Any, digits: int = 1) -> str:
    value = _scalar(value)
    return "" if value is None else f"{float(value):,.{digits}f}"


def _span(low: Any, high: Any, digits: int = 0) -> str:
    low, high = _scalar(low), _scalar(high)
    return "" if low is None or high is None else f"{_number(low, digits)} to {_number(high, digits)}"


Cell = tuple[str, str]  # (text, sort key)
Formatter = Callable[[Mapping[str, Any], bool], Cell]


def _plain(column: str, digits: int = 1) -> Formatter:
    return lambda row, _pipelined: (_number(row[column], digits), _sort_key(row[column]))


def _latency(column: str) -> Formatter:
    def cell(row: Mapping[str, Any], pipelined: bool) -> Cell:
        return _latency_cell(row[column], pipelined), "" if pipelined else _sort_key(row[column])

    return cell


def _repeat_range(row: Mapping[str, Any], _pipelined: bool) -> Cell:
    text = (
        _span(row["requestsPerSecond_min"], row["requestsPerSecond_max"]) if int(row["repeats"]) > 1 else ""
    )
    return text, _sort_key(row["requestsPerSecond_min"])


def _flags(row: Mapping[str, Any], _pipelined: bool) -> Cell:
    text = str(_scalar(row["flags"]) or "")
    return text, text


def _confidence(row: Mapping[str, Any], _pipelined: bool) -> Cell:
    return _span(row["requestsPerSecond_ci_low"], row["requestsPerSecond_ci_high"]), _sort_key(
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
    ("of ceiling", "number", ("ceiling_fraction",), _plain("ceiling_fraction", 2)),
)
# Shown another way: the table's own section and level column, row shading and the flags text (errors,
# unstable, client saturated, database-bound).
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
        *ERROR_COLUMNS,
    }
)


def summary_table(summary: pd.DataFrame, test_type: str) -> dict[str, Any]:
    """The sortable table of one test type: header cells and rows of {text, key} cells, by requests/s."""
    rows = summary[summary["test_type"] == test_type].sort_values(
        ["requestsPerSecond", "framework", "level"], ascending=[False, True, True], kind="stable"
    )
    present = set(summary.columns)
    columns = [c for c in _TABLE_COLUMNS if set(c[2]) <= present]
    used = {name for c in columns for name in c[2]}
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
            (str(int(record["level"])), _sort_key(record["level"])),
            *(cell(record, pipelined) for _name, _kind, _needs, cell in columns),
            *((format_value(_scalar(record[c])), _sort_key(record[c])) for c in others),
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


def _raw_links(run_dir: Path) -> list[dict[str, Any]]:
    """Per framework/type folder under raw/: links to every file, grouped by point."""
    raw = run_dir / "raw"
    if not raw.is_dir():
        return []
    groups: dict[str, list[dict[str, str]]] = {}
    for path in sorted(raw.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        rel = path.relative_to(run_dir)
        group = "/".join(rel.parts[1:3]) if len(rel.parts) > 3 else str(rel.parent)
        groups.setdefault(group, []).append(
            {"name": "/".join(rel.parts[3:]) or rel.name, "href": href(str(rel))}
        )
    return [{"name": name, "files": files} for name, files in groups.items()]


def _settings_rows(run: Mapping[str, Any]) -> list[tuple[str, str]]:
    rows = []
    for key in sorted(run):
        value = run[key]
        text = format_time_ms(value) if key.endswith("_ms") and isinstance(value, int | float) else None
        if key == "resumed_ms" and isinstance(value, list):
            text = ", ".join(format_time_ms(v) for v in value) or "never"
        rows.append((key, text if text is not None else format_value(value)))
    return rows


def _run_duration(run: Mapping[str, Any]) -> str:
    start, end = run.get("start_ms"), run.get("end_ms")
    if not isinstance(start, int | float) or not isinstance(end, int | float):
        return "unfinished" if start else NOT_RECORDED
    seconds = max(0, round((end - start) / 1000))
    return f"{seconds // 60} min {seconds % 60} s" if seconds >= 60 else f"{seconds} s"


def report_context(
    data: RunData,
    plots: Sequence[SavedPlot],
    environment: Mapping[str, Any] | None,
    extra_warnings: Iterable[str] = (),
) -> dict[str, Any]:
    test_types = _test_types(data)
    sections = []
    for test_type in test_types:
        measured = bool((data.summary["test_type"] == test_type).any())
        sections.append(
            {
                "test_type": test_type,
                "measured": measured,
                "table": summary_table(data.summary, test_type) if measured else None,
                "plots": [_plot_view(p) for p in plots if p.section == test_type],
            }
        )
    failed = [
        f"{name}: {info.get('reason') or 'failed'}"
        for name, info in data.frameworks.items()
        if info.get("status") == "failed"
    ]
    files = [
        {"path": path, "what": what, "href": href(path) if (data.run_dir / path).is_file() else None}
        for path, what in RUN_FILES
    ]
    return {
        "run_id": data.run_id,
        "name": str(data.run.get("name") or data.run_id),
        "description": str(data.run.get("environment_description") or ""),
        "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "started": format_time_ms(data.run.get("start_ms")) or NOT_RECORDED,
        "duration": _run_duration(data.run),
        "git_commit": str(data.run.get("git_commit") or NOT_RECORDED),
        "profile": str(data.run.get("profile") or NOT_RECORDED),
        "settings": _settings_rows(data.run),
        "environment": environment_view(environment) if environment else None,
        "test_types": test_types,
        "frameworks": framework_rows(data, test_types),
        "sections": sections,
        "cpu_plots": [_plot_view(p) for p in plots if p.section == "cpu"],
        "resource_plots": [_plot_view(p) for p in plots if p.section == "resources"],
        "failed_frameworks": failed,
        "level_errors": error_warnings(data.tidy),
        "warnings": [*data.warnings, *extra_warnings],
        "files": files,
        "plot_files": [
            {
                "name": p.name,
                "png": href(f"{PLOTS_DIR}/{p.png.name}"),
                "svg": href(f"{PLOTS_DIR}/{p.svg.name}"),
            }
            for p in plots
        ],
        "raw": _raw_links(data.run_dir),
        "not_recorded": NOT_RECORDED,
    }


def _plot_view(plot: SavedPlot) -> dict[str, str]:
    return {
        "name": plot.name,
        "title": plot.title,
        "src": data_uri(plot.png),
        "svg": href(f"{PLOTS_DIR}/{plot.svg.name}"),
    }


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["grade_class"] = lambda grade: f"grade-{grade}" if grade in GRADES else "grade-none"
    return env


def render(template: str, context: Mapping[str, Any]) -> str:
    return _environment().get_template(template).render(**context)


def write_run_report(data: RunData) -> Path:
    """Write plots/ (PNG + SVG) and report.html into the run directory; returns the report's path."""
    environment, environment_warnings = read_environment(data.run_dir)
    samples, sample_warnings = read_samples(data.run_dir)
    plots = save_plots(
        run_plots(data.tidy, data.summary, samples, _test_types(data)), data.run_dir / PLOTS_DIR
    )
    context = report_context(data, plots, environment, [*environment_warnings, *sample_warnings])
    context["resources_recorded"] = samples is not None
    context["cpu_recorded"] = bool(context["cpu_plots"])
    path = data.run_dir / REPORT_NAME
    path.write_text(render("report.html.j2", context), encoding="utf-8")
    return path


# ------------------------------------------------------------------ comparison of two runs


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
                "a_key": _sort_key(ra["requestsPerSecond"]) if ra else "",
                "b_key": _sort_key(rb["requestsPerSecond"]) if rb else "",
                "change": "" if change is None else f"{change:+.1f} %",
                "change_key": "" if change is None else repr(change),
                "verdict": verdicts.get((str(framework), test_type, int(level)), "") if ra and rb else "",
                "a_latency": _latency_cell(ra["latencyAvg_ms"], pipelined) if ra else "",
                "b_latency": _latency_cell(rb["latencyAvg_ms"], pipelined) if rb else "",
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
    left, right = dict(_settings_rows(a)), dict(_settings_rows(b))
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


def write_comparison_report(a: RunData, b: RunData, out: Path) -> Path:
    """Write one self-contained HTML file comparing run A (baseline) with run B."""
    test_types = list(dict.fromkeys([*_test_types(a), *_test_types(b)]))
    label_a, label_b = f"A {a.run_id}", f"B {b.run_id}"
    verdicts = comparison_verdicts(a.tidy, b.tidy)
    sections = []
    for test_type in test_types:
        in_a = bool((a.summary["test_type"] == test_type).any())
        in_b = bool((b.summary["test_type"] == test_type).any())
        plot = (
            figure_data_uri(comparison_figure([(label_a, a.summary), (label_b, b.summary)], test_type))
            if in_a or in_b
            else None
        )
        sections.append(
            {
                "test_type": test_type,
                "level_name": level_name(test_type),
                "in_a": in_a,
                "in_b": in_b,
                "rows": comparison_rows(a.summary, b.summary, test_type, verdicts),
                "plot": plot,
            }
        )
    frameworks_a, frameworks_b = set(_framework_names(a)), set(_framework_names(b))
    context = {
        "a": {"run_id": a.run_id, "name": str(a.run.get("name") or a.run_id), "dir": str(a.run_dir)},
        "b": {"run_id": b.run_id, "name": str(b.run.get("name") or b.run_id), "dir": str(b.run_dir)},
        "generated": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "settings": _settings_diff(a.run, b.run),
        "only_a": sorted(frameworks_a - frameworks_b),
        "only_b": sorted(frameworks_b - frameworks_a),
        "sections": sections,
        "warnings": [f"A: {w}" for w in a.warnings] + [f"B: {w}" for w in b.warnings],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render("compare.html.j2", context), encoding="utf-8")
    return out
