"""Find and load the result triples under ``results/<run-id>/raw/`` (docs/design.md).

Each point is three files with one stem: ``<stem>.txt`` (wrk's stdout), ``<stem>.json`` (report.lua) and
``<stem>.meta.json`` (lab_wrk_run.py, written last). A point with a missing or unreadable member, or whose
meta says wrk failed, is skipped and described in the warnings: loading never fails on a bad point. What a
point is (framework, test type, level...) comes from its meta file, never from its path.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.wrk_report import WrkReport, WrkReportError, parse_wrk_report
from analysis.wrk_text import WrkParseError, WrkTextResult, parse_wrk_text

SUFFIXES = {".meta.json": "meta", ".json": "report", ".txt": "text"}
REQUIRED_META = ("framework", "test_type", "phase", "repeat", "client", "duration_s", "start_ms", "end_ms")


@dataclass(frozen=True)
class RawPoint:
    """One finished wrk run: its meta object, its report.lua numbers and its parsed text."""

    stem: str  # relative to the run directory, without suffix: raw/<fw>/<type>/<client>/<stem>
    meta: Mapping[str, Any]
    report: WrkReport
    text: WrkTextResult


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
