"""The database goes down (issue 9, point 3): the postmaster is SIGKILLed by PID, twice.

1. Before aiohttp starts: its database types fail verification, and aiohttp's reason begins "database
   unreachable at <host>:<port>" (also when the app cannot start without it); an event records the failed
   types.
2. The database is started again, and flask goes on. During flask's db sweep it is killed again: the db type
   fails with a "database unreachable" event, and once the database is back the next type, queries, runs.
3. The run is resumed with the database up: the types it failed are measured again and graded from the new
   segment, the run succeeds, and the superseded events are kept aside.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from ..labrun import PlaybookRun, run_playbook
from .conftest import (
    SHORT,
    ensure_postgres_up,
    events,
    kill_postgres,
    live_playbook,
    point_processes,
    read_json,
    start_postgres,
    wait_for,
)

DB_ADDRESS = "127.0.0.1:5432"  # inventory/local.yml's lab_address and group_vars' postgres_port
TYPES = ["json", "db", "queries"]


@dataclass
class Outage:
    run_dir: Path
    run: PlaybookRun
    settings: dict[str, object]


def _unreachable(run_dir: Path, framework: str) -> list[dict[str, Any]]:
    return [
        e for e in events(run_dir) if e["framework"] == framework and e["event"] == "database_unreachable"
    ]


@pytest.fixture(scope="module")
def outage(lab: None, tmp_path_factory: pytest.TempPathFactory) -> Outage:
    results = tmp_path_factory.mktemp("db-down-results")
    run_id = f"faults-db-{time.strftime('%Y%m%dT%H%M%S')}"
    run_dir = results / run_id
    settings = {
        **SHORT,
        "lab_frameworks": ["aiohttp", "flask"],
        "lab_test_types": TYPES,
        "lab_run_id": run_id,
        "lab_results_dir": str(results),
        # Long enough for the test to start the database again before the next type gives up on it.
        "lab_db_wait_s": 12,
    }
    kill_postgres()
    try:
        with live_playbook("benchmark.yml", settings) as live:
            aiohttp_outcome = run_dir / "frameworks" / "aiohttp.json"
            wait_for(aiohttp_outcome.exists, "aiohttp's outcome", live=live)
            start_postgres()
            wait_for(
                lambda: point_processes("flask", "db", "level-c32-r1"), "flask's db level-c32", live=live
            )
            time.sleep(1.0)
            kill_postgres()
            wait_for(lambda: _unreachable(run_dir, "flask"), "the event of flask's db type", live=live)
            start_postgres()
            run = live.wait(600)
    finally:
        ensure_postgres_up()  # whatever happened, leave the database running for the next test
    # Everything that could run ran; the closing summary names the failed types and the run fails.
    assert run.returncode != 0 and "failure(s) in run" in run.text, run.output[-6000:]
    return Outage(run_dir, run, settings)


def test_a_framework_without_its_database_says_the_database_was_unreachable(outage: Outage) -> None:
    outcome = read_json(outage.run_dir / "frameworks" / "aiohttp.json")
    assert outcome["reason"].startswith(f"database unreachable at {DB_ADDRESS}"), outcome["reason"]
    assert outcome["verify"]["db"] == outcome["verify"]["queries"] == "fail", outcome["verify"]
    found = _unreachable(outage.run_dir, "aiohttp")
    assert len(found) == 1 and found[0]["test_types"] == ["db", "queries"], found
    assert f"database unreachable at {DB_ADDRESS}" in found[0]["message"]


def test_a_database_lost_during_a_level_fails_that_type(outage: Outage) -> None:
    found = _unreachable(outage.run_dir, "flask")
    assert len(found) == 1 and found[0]["test_types"] == ["db"], found
    assert f"database unreachable at {DB_ADDRESS}" in found[0]["message"]
    tidy = pd.read_csv(outage.run_dir / "tidy.csv")
    db = tidy[(tidy.framework == "flask") & (tidy.test_type == "db") & (tidy.level == 32)]
    assert len(db) == 1 and bool(db.has_errors.iloc[0]), db.T


def test_the_other_types_and_frameworks_go_on_once_it_is_back(outage: Outage) -> None:
    tidy = pd.read_csv(outage.run_dir / "tidy.csv")
    flask = tidy[tidy.framework == "flask"]
    assert set(flask.test_type) == set(TYPES)
    for test_type in ("json", "queries"):
        rows = flask[flask.test_type == test_type]
        assert (rows.totalRequests > 0).all(), rows.T
    assert not flask[flask.test_type == "json"].has_errors.any()
    assert not set(tidy[tidy.framework == "aiohttp"].test_type) & {"db", "queries"}


def test_results_and_tables_show_the_failed_types(outage: Outage) -> None:
    results = read_json(outage.run_dir / "results.json")
    assert "flask" in results["failed"]["db"] and "flask" not in results["succeeded"]["db"]
    assert "flask" in results["succeeded"]["query"] and "flask" in results["succeeded"]["json"]
    assert {"aiohttp"} <= set(results["failed"]["query"]) & set(results["failed"]["db"])
    assert "== Events" in outage.run.output
    assert "flask [db] database_unreachable: database unreachable at" in outage.run.output
    for failed in ("aiohttp/db", "aiohttp/queries", "flask/db"):
        assert f"FAILED {failed}: database unreachable at {DB_ADDRESS}" in outage.run.text, failed
    assert "FAILED flask/json" not in outage.run.text


@pytest.fixture(scope="module")
def resumed(outage: Outage) -> PlaybookRun:
    # Last in this module: it changes the run the tests above read.
    return run_playbook("benchmark.yml", extra=outage.settings, timeout=900)


def test_a_resume_measures_the_failed_types_again_and_succeeds(outage: Outage, resumed: PlaybookRun) -> None:
    assert resumed.returncode == 0, resumed.output[-6000:]
    assert "every framework and type verified and measured" in resumed.text
    for framework in ("aiohttp", "flask"):
        outcome = read_json(outage.run_dir / "frameworks" / f"{framework}.json")
        assert outcome["status"] == "ok" and set(outcome["verify"].values()) == {"pass"}, outcome
    assert _unreachable(outage.run_dir, "aiohttp") == _unreachable(outage.run_dir, "flask") == []
    superseded = (outage.run_dir / "events-superseded.jsonl").read_text().splitlines()
    assert len(superseded) == 2 and all("database_unreachable" in line for line in superseded)
    tidy = pd.read_csv(outage.run_dir / "tidy.csv")
    for framework in ("aiohttp", "flask"):
        rows = tidy[tidy.framework == framework]
        assert set(rows.test_type) == set(TYPES) and (rows.totalRequests > 0).all(), rows.T
    results = read_json(outage.run_dir / "results.json")
    assert sorted(results["succeeded"]["db"]) == ["aiohttp", "flask"] and results["failed"]["db"] == []
    assert (outage.run_dir / "environment-resume-1.json").is_file()  # the first segment's record is kept
    assert (outage.run_dir / "environment.json").is_file()
