"""The benchmark role's filters: thin wrappers over labcore, where the work is done (plain Python).

- ``specs | benchmark_sweep_plan(...)``: labcore.sweep.plan, what one client runs for one test type.
- ``framework | benchmark_framework_record(...)``: labcore.framework_record, frameworks/<fw>.json (the
  manifest is read here from apps/<fw>/lab.yml: YAML needs PyYAML, which the controller has and labcore,
  stdlib only, does not).
- ``answers | benchmark_ceiling_grades(expected)``: the grade of each of the ceiling's answers.
- ``results | benchmark_host_grades(urls=..., grades=..., swept=..., reason=...)``: labcore.host_checks,
  each app host's own HTTP checks (behind a balancer) merged into the framework's grades.
- ``peaks | benchmark_slo_start``, ``probes | benchmark_slo_next(...)``,
  ``reports | benchmark_slo_probe(rate)``, ``probes | benchmark_slo_line(...)``: labcore.slo, the SLO
  search's steps.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import yaml

# Ansible loads a filter plugin by path; labcore lives at the repository's root.
_REPO = Path(__file__).resolve().parents[3]
if str(_REPO) not in sys.path:
    sys.path.insert(0, str(_REPO))

from labcore import framework_record, host_checks, slo, sweep  # noqa: E402


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


def benchmark_slo_start(peaks: list[Mapping[str, Any]]) -> float:
    """The type's peak over its levels, each level's requests/s summed over the clients (the registered
    results of `python3 -m labcore.slo peak` on every client)."""
    per_level: dict[str, float] = {}
    for result in peaks:
        for level, rate in json.loads(result.get("stdout") or "{}").items():
            per_level[level] = per_level.get(level, 0.0) + float(rate)
    return max(per_level.values(), default=0.0)


def _probes(probes: list[Mapping[str, Any]]) -> list[slo.Probe]:
    return [slo.Probe(**probe) for probe in probes]


def benchmark_slo_next(probes: list[Mapping[str, Any]], **kwargs: Any) -> int | None:
    return slo.next_rate(
        _probes(probes),
        start_rps=float(kwargs["start_rps"]),
        p99_ms=float(kwargs["p99_ms"]),
        error_pct=float(kwargs["error_pct"]),
        max_steps=int(kwargs["max_steps"]),
    )


def benchmark_slo_probe(reports: list[Mapping[str, Any]], rate: int) -> dict[str, Any]:
    """reports: each client's slurp of the probe's report. A client without one fails the probe."""
    try:
        decoded = [json.loads(base64.b64decode(r["content"])) for r in reports]
        probe = slo.probe_of(int(rate), decoded)
    except (KeyError, ValueError, TypeError):
        probe = slo.Probe(rate=int(rate), p99_ms=float("inf"), error_pct=100.0, behind=True)
    return dataclasses.asdict(probe)


def benchmark_slo_line(probes: list[Mapping[str, Any]], *, p99_ms: float, error_pct: float) -> str:
    """The last probe and its verdict, and the search's answer so far."""
    found = _probes(probes)
    last = found[-1]
    verdict = "pass" if last.passes(float(p99_ms), float(error_pct)) else "fail"
    answer = slo.found(found, float(p99_ms), float(error_pct))
    return (
        f"probe {len(found)}: {last.rate} requests/s: p99 {last.p99_ms:.2f} ms, errors {last.error_pct:.2f} %"
        f"{', generator behind' if last.behind else ''}: {verdict}; highest rate so far under"
        f" p99 {float(p99_ms):g} ms: {answer if answer is not None else 'none'}"
    )


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "benchmark_sweep_plan": benchmark_sweep_plan,
            "benchmark_framework_record": benchmark_framework_record,
            "benchmark_ceiling_grades": benchmark_ceiling_grades,
            "benchmark_host_grades": benchmark_host_grades,
            "benchmark_slo_start": benchmark_slo_start,
            "benchmark_slo_next": benchmark_slo_next,
            "benchmark_slo_probe": benchmark_slo_probe,
            "benchmark_slo_line": benchmark_slo_line,
        }
