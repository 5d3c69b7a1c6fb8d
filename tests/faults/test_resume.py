"""An interrupted sweep resumes (issue 9, point 1): kills by PID in the middle of levels, then -e lab_run_id.

The first run is hit three times: the client's level runner (lab_wrk_run.py) is killed during json
level-c8, wrk alone during json level-c32, and the controller's ansible-playbook during plaintext level-c32.
The second run resumes the same run id. Every point that had finished is kept as it was (same start time, same
files), every interrupted point is measured again, and all of them end up in the one run's results.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ..labrun import HOST_ID, PlaybookRun, run_playbook
from .conftest import (
    CLIENT_RESULTS,
    SHORT,
    alive,
    live_playbook,
    metas,
    point_processes,
    read_json,
    wait_for,
)

FRAMEWORK = "aiohttp"
RUNNER_KILLED = f"{FRAMEWORK}/json/level-c8-r1"
WRK_KILLED = f"{FRAMEWORK}/json/level-c32-r1"
CONTROLLER_KILLED_DURING = f"{FRAMEWORK}/plaintext/level-c32-r1"
ALL_POINTS = {
    f"{FRAMEWORK}/{test_type}/{stem}"
    for test_type, levels in {"json": ["c8", "c32"], "plaintext": ["c32"]}.items()
    for stem in ["primer-r1", "warmup-r1", *(f"level-{level}-r1" for level in levels)]
}


@dataclass
class Scenario:
    settings: dict[str, object]
    run_dir: Path
    kills_ms: dict[str, int]
    before_resume: dict[str, dict[str, Any]]
    run_json_before_resume: dict[str, Any]
    first: PlaybookRun
    resumed: PlaybookRun
    # Whether the host's lock file was there right after the resume (later tests of this module run more).
    lock_left: bool


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _kill_mid_level(point: str, which: str, live: Any) -> int:
    framework, test_type, stem = point.split("/")
    runner, wrk = wait_for(lambda: point_processes(framework, test_type, stem), f"{point} to run", live=live)
    time.sleep(1.0)  # into the level (3 s)
    os.kill(runner if which == "runner" else wrk, signal.SIGKILL)
    return _now_ms()


@pytest.fixture(scope="module")
def scenario(lab: None, tmp_path_factory: pytest.TempPathFactory) -> Scenario:
    results = tmp_path_factory.mktemp("resume-results")
    run_id = f"faults-resume-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    settings = {
        **SHORT,
        "lab_frameworks": [FRAMEWORK],
        "lab_test_types": ["json", "plaintext"],
        "lab_run_id": run_id,
        "lab_results_dir": str(results),
    }
    kills: dict[str, int] = {}
    with live_playbook("benchmark.yml", settings) as first_live:
        kills[RUNNER_KILLED] = _kill_mid_level(RUNNER_KILLED, "runner", first_live)
        kills[WRK_KILLED] = _kill_mid_level(WRK_KILLED, "wrk", first_live)
        framework, test_type, stem = CONTROLLER_KILLED_DURING.split("/")
        wait_for(
            lambda: point_processes(framework, test_type, stem), "plaintext level-c32 to run", live=first_live
        )
        time.sleep(1.0)
        os.kill(first_live.pid, signal.SIGKILL)  # the controller: ansible-playbook itself
        kills["controller"] = _now_ms()
        first = first_live.wait(60)
    # What the client holds when the resume starts (the killed controller's last point may still be going).
    before = metas(CLIENT_RESULTS / run_id / "raw")
    run_json = read_json(results / run_id / "run.json")
    with live_playbook("benchmark.yml", settings) as resumed_live:
        resumed = resumed_live.wait(900)
    assert resumed.returncode == 0, resumed.output[-6000:]
    lock_left = Path(f"/run/lab/{HOST_ID}/lab.lock").exists()
    return Scenario(settings, results / run_id, kills, before, run_json, first, resumed, lock_left)


def test_the_first_run_was_really_killed(scenario: Scenario) -> None:
    assert scenario.first.returncode == -signal.SIGKILL
    assert "PLAY RECAP" not in scenario.first.output
    assert "end_ms" not in scenario.run_json_before_resume


def test_interrupted_points_were_not_taken_as_finished(scenario: Scenario) -> None:
    # The killed runner left no meta file; the point whose wrk was killed says so.
    assert RUNNER_KILLED not in scenario.before_resume
    assert scenario.before_resume[WRK_KILLED]["exit_code"] == -signal.SIGKILL


def test_every_point_ends_up_finished_in_the_same_run(scenario: Scenario) -> None:
    final = metas(scenario.run_dir / "raw")
    assert set(final) == ALL_POINTS
    for point, meta in final.items():
        assert meta["exit_code"] == 0, (point, meta)
        assert meta["run_id"] == scenario.run_dir.name
        framework, test_type, stem = point.split("/")
        point_dir = scenario.run_dir / "raw" / framework / test_type / HOST_ID
        assert (point_dir / f"{stem}.txt").read_text().startswith("Running "), point
        assert (point_dir / f"{stem}.json").stat().st_size > 0, point
    leftovers = [p for p in (scenario.run_dir / "raw").rglob(".*") if p.is_file()]
    assert not leftovers, leftovers


def test_finished_points_were_kept_and_interrupted_ones_measured_again(scenario: Scenario) -> None:
    final = metas(scenario.run_dir / "raw")
    kept = {p for p, meta in scenario.before_resume.items() if meta["exit_code"] == 0}
    # The points finished before the first kill and the ones between the kills.
    assert {f"{FRAMEWORK}/json/primer-r1", f"{FRAMEWORK}/json/warmup-r1"} <= kept
    for point in kept:
        assert final[point]["start_ms"] == scenario.before_resume[point]["start_ms"], point
    for point in (RUNNER_KILLED, WRK_KILLED):
        assert final[point]["start_ms"] > scenario.kills_ms[point], point
    # The level the controller died in: the killed controller's command goes on, so either that run finished
    # it, whole, and the resume kept it (waiting for it if it was still going), or the resume ran it again.
    during = final[CONTROLLER_KILLED_DURING]
    if during["start_ms"] < scenario.kills_ms["controller"]:
        assert during["end_ms"] - during["start_ms"] >= 3000, during
    else:
        assert during["start_ms"] > scenario.kills_ms["controller"], during


def test_the_analysis_has_every_level(scenario: Scenario) -> None:
    tidy = pd.read_csv(scenario.run_dir / "tidy.csv")
    levels = set(zip(tidy["test_type"], tidy["level"].astype(int), strict=True))
    assert levels == {("json", 8), ("json", 32), ("plaintext", 32)}, tidy
    assert (tidy.totalRequests > 0).all()
    run = read_json(scenario.run_dir / "run.json")
    assert len(run["resumed_ms"]) == 1 and run["end_ms"] > run["start_ms"]
    assert run["start_ms"] < scenario.kills_ms[RUNNER_KILLED] < run["resumed_ms"][0]


def test_no_orphan_wrk_is_left(scenario: Scenario) -> None:
    for point in ALL_POINTS:
        framework, test_type, stem = point.split("/")
        running = point_processes(framework, test_type, stem)
        assert running is None or not alive(running[1]), point


def test_a_resume_with_other_settings_is_refused_before_any_change(scenario: Scenario) -> None:
    # The case: a run resumed with other durations would rewrite run.json and mix 3 s and 5 s points.
    run_json = (scenario.run_dir / "run.json").read_bytes()
    refused = run_playbook(
        "benchmark.yml", extra={**scenario.settings, "lab_duration_s": 5, "lab_repeats": 2}, timeout=300
    )
    assert refused.returncode != 0
    assert "Differences (name: recorded -> now): duration_s: 3 -> 5; repeats: 1 -> 2." in refused.text, (
        refused.output[-3000:]
    )
    assert (scenario.run_dir / "run.json").read_bytes() == run_json
    assert "TASK [Start this host's sampler]" not in refused.output  # no host was changed


def test_the_resume_took_over_the_locks_of_the_killed_run(scenario: Scenario) -> None:
    # The killed controller could not release them; its pid is gone, so the resume takes them, and says so.
    run_id = scenario.run_dir.name
    for where in ("localhost", "the results directory"):
        assert (
            f"took over the lock of {where} from benchmark.yml run {run_id} (pid " in scenario.resumed.text
        ), where
    assert not scenario.lock_left  # released at the end of the resume
