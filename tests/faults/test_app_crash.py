"""The app crashes under load (issue 9, point 2): its gunicorn workers are SIGKILLed by PID mid-level.

The level keeps its numbers (flagged by its errors when requests failed), an "app_crashed" event is recorded
for the framework and type, the app tier is restarted before the next type, the run goes on, and the analysis
shows the crash.
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

from ..labrun import PlaybookRun
from .conftest import SHORT, app_processes, events, live_playbook, point_processes, read_json, wait_for

FRAMEWORK = "aiohttp"


@dataclass
class Crash:
    run_dir: Path
    master: int
    killed: list[int]
    after_run: tuple[int, list[int]]
    run: PlaybookRun


@pytest.fixture(scope="module")
def crash(lab: None, tmp_path_factory: pytest.TempPathFactory) -> Crash:
    results = tmp_path_factory.mktemp("crash-results")
    settings = {
        **SHORT,
        "lab_frameworks": [FRAMEWORK],
        "lab_test_types": ["json", "plaintext"],
        "lab_results_dir": str(results),
    }
    with live_playbook("benchmark.yml", settings) as live:
        wait_for(
            lambda: point_processes(FRAMEWORK, "json", "level-c32-r1"), "json level-c32 to run", live=live
        )
        time.sleep(1.0)  # into the 3 s level, under load
        master, workers = app_processes(FRAMEWORK)
        assert master and workers, "no app workers to kill"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        run = live.wait(600)
    assert run.returncode == 0, run.output[-6000:]
    return Crash(results / "latest", master, workers, app_processes(FRAMEWORK), run)


def _crash_events(run_dir: Path) -> list[dict[str, Any]]:
    return [e for e in events(run_dir) if e["event"] == "app_crashed"]


def test_the_crash_is_recorded_for_the_framework_and_type(crash: Crash) -> None:
    found = _crash_events(crash.run_dir)
    assert len(found) == 1, events(crash.run_dir)
    event = found[0]
    assert event["framework"] == FRAMEWORK and event["test_types"] == ["json"]
    assert event["restarted"] is True
    before = event["processes"][0]["before"]
    assert f"master={crash.master}" in before
    assert all(str(pid) in before for pid in crash.killed), (before, crash.killed)
    assert "restarted" in event["message"]
    outcome = read_json(crash.run_dir / "frameworks" / f"{FRAMEWORK}.json")
    assert [e["event"] for e in outcome["events"]] == ["app_crashed"]


def test_the_app_tier_was_restarted_before_the_next_type(crash: Crash) -> None:
    master, workers = crash.after_run
    assert master and master != crash.master, "the app server was not restarted"
    assert workers and not set(workers) & set(crash.killed)
    # The restart happened between the two types: in the log, after json's sweep and before plaintext's.
    output = crash.run.output
    restart = output.index("Restart the app tier after the crash")
    assert output.index("Sweep | aiohttp / json") < restart < output.index("Sweep | aiohttp / plaintext")


def test_the_crashed_level_keeps_its_numbers_and_the_run_went_on(crash: Crash) -> None:
    """Killed workers need not cost a request: gunicorn's master keeps the listen socket and respawns them,
    and nginx retries a request whose kept-alive upstream connection died. When some did fail, the level is
    flagged with its errors; either way the event names the type."""
    tidy = pd.read_csv(crash.run_dir / "tidy.csv")
    crashed = tidy[(tidy.test_type == "json") & (tidy.level == 32)]
    assert len(crashed) == 1 and int(crashed.totalRequests.iloc[0]) > 0
    if bool(crashed.has_errors.iloc[0]):
        assert "level with errors: aiohttp/json level 32" in crash.run.output
    plaintext = tidy[tidy.test_type == "plaintext"]
    assert len(plaintext) == 1 and int(plaintext.totalRequests.iloc[0]) > 0
    assert not plaintext.has_errors.any(), plaintext.T


def test_the_report_shows_the_crash(crash: Crash) -> None:
    output = crash.run.output
    assert "== Events" in output
    assert f"{FRAMEWORK} [json] app_crashed" in output
    assert f"{FRAMEWORK} [json] app_crashed: the app server" in (crash.run_dir / "report.html").read_text()
