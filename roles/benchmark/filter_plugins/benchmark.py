"""The benchmark role's filters: thin wrappers over labcore, where the work is done (plain Python).

- ``specs | benchmark_sweep_plan(...)``: labcore.sweep.plan, what one client runs for one test type.
- ``framework | benchmark_framework_record(...)``: labcore.framework_record, frameworks/<fw>.json (the
  manifest is read here from apps/<fw>/lab.yml: YAML needs PyYAML, which the controller has and labcore,
  stdlib only, does not).
- ``answers | benchmark_ceiling_grades(expected)``: the grade of each of the ceiling's answers.
- ``results | benchmark_host_grades(urls=..., grades=..., swept=..., reason=...)``: labcore.host_checks,
  each app host's own HTTP checks (behind a balancer) merged into the framework's grades.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

# Ansible loads a filter plugin by path; labcore lives at the repository's root.
_REPO = Path(__file__).resolve().parents[3]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from labcore import framework_record, host_checks, sweep  # noqa: E402


def benchmark_sweep_plan(specs: Mapping[str, Mapping[str, Any]], **kwargs: Any) -> dict[str, Any]:
    t0 = kwargs.pop("t0_ms", None)
    return sweep.plan(specs=specs, t0_ms=int(t0) if t0 is not None else None, **kwargs)


def benchmark_framework_record(
    framework: str, *, apps_dir: str | None = None, app: str | None = None, **kwargs: Any
) -> dict[str, Any]:
    """framework: the name in the run (a target's name); app: its apps/<app> (default: the same)."""
    manifest: dict[str, Any] = {}
    if apps_dir is not None:
        path = Path(apps_dir) / (app or framework) / "lab.yml"
        manifest = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return framework_record.framework_record(framework, manifest=manifest, app=app, **kwargs)


def benchmark_ceiling_grades(
    answers: list[Mapping[str, Any]], expected: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    return framework_record.ceiling_grades(answers, expected)


def benchmark_host_grades(
    results: list[Mapping[str, Any]], *, urls: Mapping[str, str], **kwargs: Any
) -> dict[str, Any]:
    """results: the looped `verify http` command's results, one per app host (loop_var __lab_app_host)."""
    hosts = [
        {
            "host": result["__lab_app_host"],
            "url": urls.get(result["__lab_app_host"], ""),
            "rc": result.get("rc", 1),
            "stdout": result.get("stdout", ""),
            "stderr": result.get("stderr") or result.get("msg", ""),
        }
        for result in results
    ]
    return host_checks.merge_host_grades(hosts=hosts, **kwargs)


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "benchmark_sweep_plan": benchmark_sweep_plan,
            "benchmark_framework_record": benchmark_framework_record,
            "benchmark_ceiling_grades": benchmark_ceiling_grades,
            "benchmark_host_grades": benchmark_host_grades,
        }
