"""playbooks/filter_plugins/lab_schedule.py: planned starts of a sweep shared by several clients."""

from __future__ import annotations

import importlib.util
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

PLUGINS = Path(__file__).resolve().parents[2] / "playbooks" / "filter_plugins"


def _load(name: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"_test_{name}", PLUGINS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


schedule: Callable[..., list[int]] = _load("lab_schedule").lab_sweep_schedule
sweep_points: Callable[..., list[dict[str, Any]]] = _load("lab_sweep").lab_sweep_points

SETTINGS = {
    "concurrency_levels": [16, 64],
    "pipeline_concurrency_levels": [256],
    "query_levels": [1, 20],
    "pipeline_depth": 16,
    "duration_s": 15,
    "primer_duration_s": 5,
    "warmup_duration_s": 10,
    "primer_concurrency": 8,
    "repeats": 2,
}


def test_each_start_follows_the_previous_run_its_pause_and_the_slack() -> None:
    points = [{"duration_s": 5}, {"duration_s": 10}, {"duration_s": 15}]
    assert schedule(points, 1_000_000, 1, 2) == [1_000_000, 1_008_000, 1_021_000]


def test_a_real_sweep_is_scheduled_in_order_and_the_filter_is_registered() -> None:
    points = sweep_points({"path": "/json", "sweep": "concurrency"}, SETTINGS)
    starts = schedule(points, "1763754360000", "5", "2")  # Jinja passes strings as often as numbers
    assert [p["stem"] for p in points] == [
        "primer-r1",
        "warmup-r1",
        "level-c16-r1",
        "level-c64-r1",
        "level-c16-r2",
        "level-c64-r2",
    ]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert gaps == [(5 + 7) * 1000, (10 + 7) * 1000, (15 + 7) * 1000, (15 + 7) * 1000, (15 + 7) * 1000]
    assert starts[0] == 1763754360000
    assert list(_load("lab_schedule").FilterModule().filters()) == ["lab_sweep_schedule"]


def test_no_points_no_starts() -> None:
    assert schedule([], 5, 0, 0) == []


def test_zero_pause_and_slack_put_runs_back_to_back() -> None:
    assert schedule([{"duration_s": 1}, {"duration_s": 1}], 0, 0, 0) == [0, 1000]


@pytest.mark.parametrize(
    ("points", "t0", "pause", "slack", "message"),
    [
        ([{"duration_s": 1}], -1, 0, 0, "must be >= 0"),
        ([{"duration_s": 1}], 0, -1, 0, "must be >= 0"),
        ([{"duration_s": 1}], 0, 0, -2, "must be >= 0"),
        ([{"duration_s": 0}], 0, 0, 0, "duration_s must be > 0"),
    ],
)
def test_bad_input_is_rejected(
    points: list[dict[str, int]], t0: int, pause: int, slack: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        schedule(points, t0, pause, slack)
