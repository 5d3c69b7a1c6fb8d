"""A resume is the same run or nothing (analysis.resume): the differences it names, the points it drops."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from analysis.cli import main
from analysis.resume import SHAPING, SUPERSEDED_FILE, differences, plan, remeasure

RECORDED: dict[str, Any] = {
    "run_id": "r",
    "start_ms": 1,
    "frameworks": ["aiohttp"],
    "test_types": ["json", "db"],
    "profile": "tfb",
    "duration_s": 15,
    "concurrency_levels": [16, 64],
    "servers": {"aiohttp": {"server": "gunicorn", "workers": 2}},
}
EVENTS = [
    {
        "framework": "aiohttp",
        "event": "database_unreachable",
        "test_types": ["db", "queries"],
        "message": "x",
    },
    {"framework": "aiohttp", "event": "app_crashed", "test_types": ["json"], "message": "y"},
    {"framework": "flask", "event": "database_unreachable", "test_types": ["db"], "message": "z"},
]


def _run_dir(tmp_path: Path, recorded: dict[str, Any], events: list[dict[str, Any]]) -> Path:
    (tmp_path / "run.json").write_text(json.dumps(recorded))
    (tmp_path / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    for fw, t in (("aiohttp", "db"), ("aiohttp", "json"), ("flask", "db")):
        (tmp_path / "raw" / fw / t / "c1").mkdir(parents=True)
        (tmp_path / "raw" / fw / t / "c1" / "level-c16-r1.meta.json").write_text("{}")
    return tmp_path


def test_the_same_settings_resume() -> None:
    now = {**RECORDED, "start_ms": 2, "resumed_ms": [3], "git_commit": "other"}  # not shaping
    assert differences(RECORDED, now) == []
    assert differences({}, now) == []  # a new run


def test_every_shaping_difference_is_named_recorded_then_now() -> None:
    now = {
        **RECORDED,
        "profile": "quick",
        "duration_s": 5,
        "servers": {"aiohttp": {"server": "gunicorn", "workers": 4}},
        "apps_digest": "abc",
    }
    assert differences(RECORDED, now) == [
        'profile: "tfb" -> "quick"',
        "duration_s: 15 -> 5",
        'servers: {"aiohttp": {"server": "gunicorn", "workers": 2}} -> {"aiohttp": {"server": "gunicorn",'
        ' "workers": 4}}',
        'apps_digest: (not recorded) -> "abc"',
    ]
    assert set(SHAPING) >= {"duration_s", "repeats", "pipeline_depth", "db_mode", "servers", "apps_digest"}
    # Other counts of app hosts behind the balancer measure other points (the scale-out curve).
    curve = {**RECORDED, "app_host_counts": [1, 2]}
    more = {**curve, "app_host_counts": [1, 2, 3]}
    assert differences(curve, more) == ["app_host_counts: [1, 2] -> [1, 2, 3]"]


def test_types_failed_by_an_unreachable_database_are_measured_again() -> None:
    assert remeasure(EVENTS) == [
        {"framework": "aiohttp", "test_type": "db"},
        {"framework": "aiohttp", "test_type": "queries"},
        {"framework": "flask", "test_type": "db"},
    ]


def test_apply_drops_those_points_and_moves_their_events_aside(tmp_path: Path) -> None:
    run_dir = _run_dir(tmp_path, RECORDED, EVENTS)
    result = plan(run_dir, {**RECORDED, "resumed_ms": [5]}, do_apply=True)
    assert result["differences"] == [] and len(result["remeasure"]) == 3 and result["segment"] == 1
    assert (
        not (run_dir / "raw" / "aiohttp" / "db").exists() and not (run_dir / "raw" / "flask" / "db").exists()
    )
    assert (run_dir / "raw" / "aiohttp" / "json" / "c1" / "level-c16-r1.meta.json").is_file()
    kept = [json.loads(line) for line in (run_dir / "events.jsonl").read_text().splitlines()]
    assert [e["event"] for e in kept] == ["app_crashed"]
    moved = [json.loads(line) for line in (run_dir / SUPERSEDED_FILE).read_text().splitlines()]
    assert [e["framework"] for e in moved] == ["aiohttp", "flask"]


def test_a_refused_resume_changes_nothing(tmp_path: Path, capsys: Any) -> None:
    run_dir = _run_dir(tmp_path, RECORDED, EVENTS)
    now = tmp_path / "now.json"
    now.write_text(json.dumps({**RECORDED, "duration_s": 5}))
    assert main(["resume", str(run_dir), "--now", str(now), "--apply"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"differences": ["duration_s: 15 -> 5"], "remeasure": [], "segment": 1}
    assert (run_dir / "raw" / "aiohttp" / "db" / "c1" / "level-c16-r1.meta.json").is_file()
    assert len((run_dir / "events.jsonl").read_text().splitlines()) == 3
