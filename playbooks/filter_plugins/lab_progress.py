"""Progress of a benchmark run: how long the rest of the run takes, from the configured durations and pauses.

The estimate counts only what the settings fix: each remaining wrk run's duration, the gap between two runs
of a sweep (the pause; with several clients, the pause plus the schedule's slack, see lab_schedule.py) and,
with several clients, the margin before each sweep's first run. Switching frameworks, verifying and fetching
the raw files add time on top, and a resumed run skips finished points at once, so the ETA is a floor for a
fresh run and an upper bound for a resumed one.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def _sibling(name: str) -> Any:
    # Ansible loads each filter plugin file on its own, without its folder on sys.path: load lab_sweep.py
    # by path so both the plugin and the tests use the one definition of a sweep.
    spec = importlib.util.spec_from_file_location(
        f"_lab_progress_{name}", Path(__file__).with_name(f"{name}.py")
    )
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {name}.py next to {__file__}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


lab_sweep_points = _sibling("lab_sweep").lab_sweep_points


def _sweep_seconds(points: Sequence[Mapping[str, Any]], pause_s: int, start_s: int = 0) -> int:
    """A whole sweep loop: the time before its first run, every run, and a pause between consecutive runs."""
    if not points:
        return 0
    return start_s + sum(int(p["duration_s"]) for p in points) + pause_s * (len(points) - 1)


def lab_remaining_s(
    specs: Mapping[str, Mapping[str, Any]],
    settings: Mapping[str, Any],
    *,
    pause_s: int | str,
    frameworks: Sequence[str],
    framework_index: int | str,
    types: Sequence[str],
    type_index: int | str,
    point_index: int | str,
    all_types: Sequence[str] | None = None,
    start_s: int | str = 0,
    ceiling: bool = False,
) -> int:
    """Seconds left in the run once point ``point_index`` of type ``type_index`` of the framework ends.

    specs: lab_test_type_specs. settings: the lab_sweep_points settings. types: the types being swept for
    the current framework (those that passed verification); all_types: the types the later frameworks will
    sweep (lab_test_types; defaults to ``types``), assumed to all pass verification. pause_s: the gap
    between two runs; start_s: the time from a sweep's start to its first run. ceiling: the sweep is the
    hardware ceiling's (benchmarked before every framework, see tasks/ceiling.yml), so all of ``frameworks``
    are still to come and framework_index is not used.
    """
    pause, start = int(pause_s), int(start_s)
    fw_index, t_index, p_index = int(framework_index), int(type_index), int(point_index)
    if ceiling:
        fw_index = -1
    elif not 0 <= fw_index < len(frameworks):
        raise ValueError(f"framework_index {fw_index} is outside the {len(frameworks)} frameworks")
    if not 0 <= t_index < len(types):
        raise ValueError(f"type_index {t_index} is outside the {len(types)} types {list(types)}")
    unknown = [t for t in [*types, *(all_types or [])] if t not in specs]
    if unknown:
        raise ValueError(f"unknown test type(s) {unknown}; known: {sorted(specs)}")

    def sweep(test_type: str) -> list[dict[str, Any]]:
        points: list[dict[str, Any]] = lab_sweep_points(dict(specs[test_type]), dict(settings))
        return points

    current = sweep(types[t_index])
    if not 0 <= p_index < len(current):
        raise ValueError(f"point_index {p_index} is outside the {len(current)} points of {types[t_index]}")
    rest_of_type = current[p_index + 1 :]
    seconds = _sweep_seconds(rest_of_type, pause) + (pause if rest_of_type else 0)
    seconds += sum(_sweep_seconds(sweep(t), pause, start) for t in types[t_index + 1 :])
    per_framework = sum(_sweep_seconds(sweep(t), pause, start) for t in (all_types or types))
    return seconds + per_framework * (len(frameworks) - fw_index - 1)


def lab_duration_text(seconds: int | float | str) -> str:
    """``3725`` → ``"1h02m05s"``, ``65`` → ``"1m05s"``, ``7`` → ``"7s"``."""
    total = max(0, round(float(seconds)))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h{minutes:02d}m{secs:02d}s"
    if minutes:
        return f"{minutes}m{secs:02d}s"
    return f"{secs}s"


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"lab_remaining_s": lab_remaining_s, "lab_duration_text": lab_duration_text}
