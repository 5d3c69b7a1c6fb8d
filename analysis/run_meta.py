"""Read a run's settings (``run.json``) and per-framework files (``frameworks/<framework>.json``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def _read_object(path: Path) -> tuple[dict[str, Any], str | None]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}, f"{path}: missing"
    except (OSError, ValueError) as exc:
        return {}, f"{path}: unreadable ({exc})"
    if not isinstance(value, dict):
        return {}, f"{path}: not a JSON object"
    return value, None


def load_run_json(run_dir: Path) -> tuple[dict[str, Any], list[str]]:
    """run.json as a dict ({} when missing or unreadable, with a warning)."""
    run, problem = _read_object(run_dir / "run.json")
    warnings = [] if problem is None else [problem]
    if run and "end_ms" not in run:
        warnings.append(f"{run_dir / 'run.json'}: no end_ms (the run was interrupted or is still going)")
    return run, warnings


def load_frameworks(run_dir: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """{framework: its frameworks/<framework>.json object}, keyed by the file's "framework" or its name."""
    frameworks: dict[str, dict[str, Any]] = {}
    warnings: list[str] = []
    folder = run_dir / "frameworks"
    if not folder.is_dir():
        return frameworks, [f"{folder}: missing"]
    for path in sorted(folder.glob("*.json")):
        value, problem = _read_object(path)
        if problem is not None:
            warnings.append(problem)
            continue
        frameworks[str(value.get("framework") or path.stem)] = value
    return frameworks, warnings
