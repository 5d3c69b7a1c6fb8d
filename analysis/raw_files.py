"""Find and load the result triples under ``results/<run-id>/raw/`` (docs/design.md).

Each point is three files with one stem: ``<stem>.txt`` (the generator's stdout), ``<stem>.json`` (report.lua,
or for an open-loop point k6's reduced samples: labcore/k6_report.py) and ``<stem>.meta.json``
(lab_wrk_run.py, written last). A point with a missing or unreadable member, or whose
meta says wrk failed, is skipped and described in the warnings: loading never fails on a bad point. What a
point is (framework, test type, level...) comes from its meta file, never from its path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.units import format_latency_us
from analysis.wrk_report import WrkReport, WrkReportError, parse_wrk_report
from analysis.wrk_text import WrkParseError, WrkTextResult, parse_wrk_text
from labcore.histogram import Histogram

SUFFIXES = {".meta.json": "meta", ".json": "report", ".txt": "text"}
REQUIRED_META = ("framework", "test_type", "phase", "repeat", "client", "duration_s", "start_ms", "end_ms")


@dataclass(frozen=True)
class OpenLoop:
    """What an open-loop point adds (labcore/k6_report.py): its schedule and its whole histogram."""

    offered_rps: float  # this client's share of the offered rate
    offered_rps_total: float  # the whole lab's
    iterations: int  # requests started on schedule (each measured)
    dropped_iterations: int  # due while every VU waited: never sent
    achieved_rps: float  # iterations per configured second
    per_second: tuple[int, ...]
    vus_max: int
    histogram: Histogram


@dataclass(frozen=True)
class RawPoint:
    """One finished run of a load generator: its meta object, its report numbers and its parsed text (for an
    open-loop point, the text's figures are the report's: k6 prints no wrk text), and its schedule and
    histogram when it was open-loop."""

    stem: str  # relative to the run directory, without suffix: raw/<fw>/<type>/<client>/<stem>
    meta: Mapping[str, Any]
    report: WrkReport
    text: WrkTextResult
    open_loop: OpenLoop | None = None


@dataclass
class RawLoad:
    points: list[RawPoint] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _split_name(name: str) -> tuple[str, str] | None:
    for suffix, kind in SUFFIXES.items():  # ".meta.json" is tried before ".json"
        if name.endswith(suffix):
            return name[: -len(suffix)], kind
    return None


def discover(raw_dir: Path) -> tuple[dict[Path, dict[str, Path]], list[str]]:
    """Group the files under raw_dir by stem: {stem path: {"meta"|"report"|"text": file}}."""
    groups: dict[Path, dict[str, Path]] = {}
    warnings: list[str] = []
    for path in sorted(raw_dir.rglob("*")):
        if not path.is_file():
            continue
        if path.name.startswith("."):
            warnings.append(f"{path}: leftover temporary file (interrupted write?), ignored")
            continue
        split = _split_name(path.name)
        if split is None:
            continue
        stem, kind = split
        groups.setdefault(path.with_name(stem), {})[kind] = path
    return groups, warnings


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _load_meta(rel: str, files: Mapping[str, Path]) -> tuple[dict[str, Any] | None, str | None]:
    if "meta" not in files:
        return None, None
    try:
        meta = _read_json(files["meta"])
    except (OSError, ValueError) as exc:
        return None, f"{rel}.meta.json: unreadable ({exc}); skipped"
    if not isinstance(meta, dict):
        return None, f"{rel}.meta.json: not a JSON object; skipped"
    absent = [key for key in REQUIRED_META if key not in meta]
    if absent:
        return None, f"{rel}.meta.json: missing {', '.join(absent)}; skipped"
    if meta.get("exit_code") != 0:
        stderr = str(meta.get("stderr") or "").strip().splitlines()
        detail = f": {stderr[0]}" if stderr else ""
        return None, f"{rel}: wrk failed (exit_code {meta.get('exit_code')!r}){detail}; skipped"
    return meta, None


def _load_point(run_dir: Path, stem: Path, files: Mapping[str, Path]) -> tuple[RawPoint | None, list[str]]:
    rel = str(stem.relative_to(run_dir))
    meta, problem = _load_meta(rel, files)
    if problem is not None:
        return None, [problem]
    missing = [f"{rel}{suffix}" for suffix, kind in SUFFIXES.items() if kind not in files]
    if meta is None or missing:
        hint = " (run killed before it finished?)" if meta is None else ""
        return None, [f"{rel}: incomplete point, missing {', '.join(missing)}{hint}; skipped"]
    try:
        report = parse_wrk_report(_read_json(files["report"]))
    except (OSError, ValueError) as exc:  # WrkReportError and JSONDecodeError are ValueErrors
        kind = "bad report" if isinstance(exc, WrkReportError) else "unreadable"
        return None, [f"{rel}.json: {kind} ({exc}); skipped"]
    if meta.get("load_model") == "open":
        try:
            open_loop = parse_open_loop(_read_json(files["report"]), meta)
        except (OSError, ValueError) as exc:  # HistogramError is a ValueError
            return None, [f"{rel}.json: bad open-loop report ({exc}); skipped"]
        return RawPoint(rel, meta, report, _open_loop_text(report, meta), open_loop), []
    try:
        text = parse_wrk_text(files["text"].read_text(encoding="utf-8"))
    except (OSError, WrkParseError) as exc:
        return None, [f"{rel}.txt: {exc}; skipped"]
    warnings = []
    if text.requests != report.requests:
        warnings.append(
            f"{rel}: requests differ between .txt ({text.requests}) and .json ({report.requests}); "
            "using the .json"
        )
    return RawPoint(stem=rel, meta=meta, report=report, text=text), warnings


def parse_open_loop(obj: Any, meta: Mapping[str, Any]) -> OpenLoop:
    """The open_loop and histogram_us parts of an open-loop point's report; ValueError names what is bad."""
    schedule = obj.get("open_loop") if isinstance(obj, Mapping) else None
    if not isinstance(schedule, Mapping):
        raise ValueError(f"open_loop: expected an object, got {schedule!r}")

    def number(key: str) -> float:
        value = schedule.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"open_loop.{key}: expected a number, got {value!r}")
        return float(value)

    per_second = schedule.get("per_second")
    if not isinstance(per_second, list) or not all(isinstance(n, int) for n in per_second):
        raise ValueError(f"open_loop.per_second: expected a list of counts, got {per_second!r}")
    total = meta.get("offered_rps_total", number("offered_rps"))
    return OpenLoop(
        offered_rps=number("offered_rps"),
        offered_rps_total=float(total),
        iterations=int(number("iterations")),
        dropped_iterations=int(number("dropped_iterations")),
        achieved_rps=number("achieved_rps"),
        per_second=tuple(per_second),
        vus_max=int(number("vus_max")),
        histogram=Histogram.from_dict(obj.get("histogram_us")),
    )


def _open_loop_text(report: WrkReport, meta: Mapping[str, Any]) -> WrkTextResult:
    """The text figures of an open-loop point, from its report: k6's stdout is kept as k6 printed it, and the
    strings results.json carries are formatted as wrk formats them."""
    duration_s = report.duration_us / 1e6
    return WrkTextResult(
        requests=report.requests,
        duration_s=duration_s,
        duration_str=f"{duration_s:.2f}s",
        bytes_read=float(report.bytes),
        bytes_read_str=f"{report.bytes}B",
        latency_avg_ms=report.latency_mean_us / 1000,
        latency_stdev_ms=report.latency_stdev_us / 1000,
        latency_max_ms=report.latency_max_us / 1000,
        latency_avg_str=format_latency_us(report.latency_mean_us),
        latency_stdev_str=format_latency_us(report.latency_stdev_us),
        latency_max_str=format_latency_us(report.latency_max_us),
        latency_within_stdev_pct=None,
        requests_per_sec=report.requests / duration_s if duration_s else 0.0,
        transfer_per_sec=report.bytes / duration_s if duration_s else 0.0,
        transfer_per_sec_str="",
        errors_connect=report.errors_connect,
        errors_read=report.errors_read,
        errors_write=report.errors_write,
        errors_timeout=report.errors_timeout,
        non2xx=report.errors_status,
        url=meta.get("url"),
        threads=None,
        connections=meta.get("concurrency"),
        percentiles_ms={p: v / 1000 for p, v in report.percentiles_us.items()},
        percentiles_str={p: format_latency_us(v) for p, v in report.percentiles_us.items()},
    )


def load_raw_points(run_dir: Path) -> RawLoad:
    """Load every complete point under run_dir/raw/, sorted by path, with warnings for the rest."""
    result = RawLoad()
    raw_dir = run_dir / "raw"
    if not raw_dir.is_dir():
        result.warnings.append(f"{raw_dir}: no raw/ directory")
        return result
    groups, result.warnings = discover(raw_dir)
    for stem, files in sorted(groups.items()):
        point, warnings = _load_point(run_dir, stem, files)
        result.warnings.extend(warnings)
        if point is not None:
            result.points.append(point)
    return result
