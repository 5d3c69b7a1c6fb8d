"""The ETA in the sweep's progress label (playbooks/filter_plugins/lab_progress.py), alone and in Ansible."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from labcore import test_types

REPO = Path(__file__).resolve().parents[2]
PLUGINS = REPO / "playbooks" / "filter_plugins"
SPECS: dict[str, Any] = test_types.specs()
# The quick profile: 5 s levels, 2 s primer, 5 s warm-up, 1 s pauses.
QUICK = {
    "concurrency_levels": [16, 64, 256],
    "pipeline_concurrency_levels": [256, 1024],
    "query_levels": [1, 10, 20],
    "pipeline_depth": 16,
    "duration_s": 5,
    "primer_duration_s": 2,
    "primer_concurrency": 8,
    "warmup_duration_s": 5,
    "repeats": 1,
}
TYPES = ["json", "plaintext", "db", "queries"]
# Seconds of one whole sweep at QUICK with 1 s pauses: runs + a pause between consecutive runs.
JSON_SWEEP = 2 + 5 + 3 * 5 + 4  # primer, warm-up, 3 levels; 5 runs -> 4 pauses
PLAINTEXT_SWEEP = 2 + 5 + 2 * 5 + 3  # 2 pipelined levels
FRAMEWORK = JSON_SWEEP + PLAINTEXT_SWEEP + JSON_SWEEP + JSON_SWEEP  # db and queries sweep 3 levels too


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("lab_progress_under_test", PLUGINS / "lab_progress.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


progress = _load()


def remaining(**position: Any) -> int:
    args: dict[str, Any] = {
        "pause_s": 1,
        "frameworks": ["aiohttp", "flask"],
        "framework_index": 0,
        "types": TYPES,
        "type_index": 0,
        "point_index": 0,
        **position,
    }
    return int(progress.lab_remaining_s(SPECS, QUICK, **args))


def test_after_the_first_point_of_the_run() -> None:
    # json's 4 remaining runs (5+5+5+5) with a pause before each, the other 3 types, then all of flask.
    rest_of_json = 5 + 3 * 5 + 4
    assert remaining() == rest_of_json + PLAINTEXT_SWEEP + 2 * JSON_SWEEP + FRAMEWORK


def test_last_point_of_a_type_leaves_the_later_types() -> None:
    assert remaining(point_index=4) == PLAINTEXT_SWEEP + 2 * JSON_SWEEP + FRAMEWORK


def test_last_point_of_the_run_is_zero() -> None:
    assert remaining(framework_index=1, type_index=3, point_index=4) == 0


def test_counts_down_through_a_framework() -> None:
    values = [
        remaining(type_index=t, point_index=p)
        for t, test_type in enumerate(TYPES)
        for p in range(5 if test_type != "plaintext" else 4)
    ]
    assert values == sorted(values, reverse=True)
    assert len(set(values)) == len(values)


def test_later_frameworks_sweep_all_configured_types() -> None:
    # The current framework swept only json (the others failed verification); flask will try all four.
    only_json = remaining(types=["json"], point_index=4, all_types=TYPES)
    assert only_json == FRAMEWORK


def test_repeats_and_pauses_count() -> None:
    settings = {**QUICK, "repeats": 3}
    seconds = progress.lab_remaining_s(
        SPECS,
        settings,
        pause_s="0",
        frameworks=["a"],
        framework_index="0",
        types=["json"],
        type_index="0",
        point_index="0",
    )
    assert seconds == 5 + 3 * 3 * 5  # warm-up + 9 levels, no pauses; Ansible passes numbers as strings too


@pytest.mark.parametrize(
    ("position", "message"),
    [
        ({"framework_index": 2}, "framework_index 2 is outside the 2 frameworks"),
        ({"type_index": 4}, "type_index 4 is outside"),
        ({"point_index": 5}, "point_index 5 is outside the 5 points of json"),
        ({"types": ["json", "nope"]}, "unknown test type(s) ['nope']"),
    ],
)
def test_bad_positions_are_named(position: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[")):
        remaining(**position)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (7, "7s"), (60, "1m00s"), (65, "1m05s"), (3725, "1h02m05s"), ("90", "1m30s")],
)
def test_duration_text(seconds: int | str, text: str) -> None:
    assert progress.lab_duration_text(seconds) == text


def test_ansible_loads_the_filters_and_renders_the_label(tmp_path: Path) -> None:
    """The plugin loads its sibling lab_sweep.py by path, which only a real Ansible run proves."""
    playbook = tmp_path / "eta.yml"
    playbook.write_text(
        yaml.safe_dump(
            [
                {
                    "name": "ETA",
                    "hosts": "localhost",
                    "gather_facts": False,
                    "vars_files": [str(REPO / "playbooks" / "vars" / "test_types.yml")],
                    "vars": {"lab_scenario_params": {"sleep_ms": 50, "cpu_n": 1000, "upstream_ms": 50}},
                    "tasks": [
                        {
                            "name": "Render",
                            "ansible.builtin.debug": {
                                "msg": "ETA {{ lab_test_type_specs | lab_remaining_s(settings, pause_s=1, "
                                "frameworks=['a', 'b'], framework_index=0, types=types, type_index=0, "
                                "point_index=0) | lab_duration_text }}"
                            },
                            "vars": {"settings": QUICK, "types": TYPES},
                        }
                    ],
                }
            ]
        )
    )
    env = {
        **os.environ,
        "ANSIBLE_FILTER_PLUGINS": str(PLUGINS),
        "ANSIBLE_STDOUT_CALLBACK": "ansible.builtin.default",
        "ANSIBLE_NOCOLOR": "1",
    }
    proc = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            "localhost,",
            "-c",
            "local",
            str(playbook),
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    expected = progress.lab_duration_text(remaining())
    assert f"ETA {expected}" in proc.stdout, proc.stdout


def test_several_clients_add_the_schedule_slack_and_margin() -> None:
    # With several clients the gap between runs is pause + slack (1 + 2 s) and every later sweep starts
    # after the start margin (5 s); the rest of the current sweep has no margin.
    synced = remaining(framework_index=1, type_index=2, point_index=0, pause_s=3, start_s=5)
    rest_of_db = 5 + 3 * 5 + 4 * 3
    queries = 5 + 2 + 5 + 3 * 5 + 4 * 3
    assert synced == rest_of_db + queries


def test_the_ceiling_comes_before_every_framework() -> None:
    # The ceiling sweeps json and plaintext first; after its last point, both frameworks are still to come.
    ceiling = {"types": ["json", "plaintext"], "all_types": TYPES, "ceiling": True}
    after_ceiling = remaining(type_index=1, point_index=3, **ceiling)
    assert after_ceiling == 2 * FRAMEWORK
    during = remaining(type_index=0, point_index=4, **ceiling)
    assert during == PLAINTEXT_SWEEP + 2 * FRAMEWORK
