"""A resumed run is the same run, or nothing: ``python -m analysis resume RUN_DIR --now FILE [--apply]``.

A run interrupted halfway is resumed with ``-e lab_run_id=<id>``: the points it finished are kept, the rest
are measured. That is only honest when the resume measures what the first segment measured. run.json records
every setting that shapes a point (SHAPING, below: durations, levels, pipeline depth, repeats, db mode, the
test types, each framework's effective server configuration, a digest of the app code); the resume computes
the same record now (FILE, the run.json it would write) and every difference refuses it, before any host
changes, as ``name: recorded -> now``.

A point measured while the database was unreachable (a ``database_unreachable`` event, analysis.events) is
not kept: with ``--apply``, the resume removes those types' raw output on the controller and moves their
events to ``events-superseded.jsonl``, so they are measured again and graded from the new segment. The
clients' copies are removed by the playbook, from the ``remeasure`` list printed here.

Prints one JSON object: {"differences": [...], "remeasure": [{"framework": F, "test_type": T}, ...],
"segment": n} (n: how many times the run was resumed before this one; 0 for a new run). Exit status 0,
or 1 when RUN_DIR is missing.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from analysis.events import EVENTS_FILE, FAILING_EVENTS, SUPERSEDED_EVENTS_FILE

SUPERSEDED_FILE = SUPERSEDED_EVENTS_FILE
# The keys of run.json that decide what a point measures. A resume must match every one.
SHAPING = (
    "frameworks",
    "db_engines",
    "test_types",
    "profile",
    "concurrency_levels",
    "pipeline_concurrency_levels",
    "query_levels",
    "pipeline_depth",
    "duration_s",
    "primer_duration_s",
    "primer_concurrency",
    "warmup_duration_s",
    "repeats",
    "wrk_timeout_s",
    "load_model",
    "offered_rates",
    "open_vus",
    "slo",
    "db_mode",
    "scenario_params",
    "ceiling",
    "app_host_counts",
    "servers",
    "apps_digest",
)
NOT_RECORDED = "(not recorded)"


def _text(value: Any) -> str:
    return NOT_RECORDED if value is None else json.dumps(value, sort_keys=True)


def differences(recorded: Mapping[str, Any], now: Mapping[str, Any]) -> list[str]:
    """``name: recorded -> now`` for every shaping setting that differs (a new run has none)."""
    if not recorded:
        return []
    return [
        f"{key}: {_text(recorded.get(key))} -> {_text(now.get(key))}"
        for key in SHAPING
        if _text(recorded.get(key)) != _text(now.get(key))
    ]


def _read_events(run_dir: Path) -> list[dict[str, Any]]:
    path = run_dir / EVENTS_FILE
    if not path.is_file():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def remeasure(events: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The framework x type pairs a failing event (the database was unreachable) invalidated, in order."""
    found: dict[tuple[str, str], None] = {}
    for event in events:
        if event.get("event") in FAILING_EVENTS:
            for test_type in event.get("test_types") or []:
                found[str(event.get("framework")), str(test_type)] = None
    return [{"framework": fw, "test_type": t} for fw, t in found]


def apply(run_dir: Path, events: list[dict[str, Any]]) -> None:
    """Drop the invalidated points and move their events aside (kept, appended, never overwritten)."""
    superseded = [e for e in events if e.get("event") in FAILING_EVENTS]
    if not superseded:
        return
    for pair in remeasure(events):
        shutil.rmtree(run_dir / "raw" / pair["framework"] / pair["test_type"], ignore_errors=True)
    with (run_dir / SUPERSEDED_FILE).open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(e) + "\n" for e in superseded)
    kept = [e for e in events if e.get("event") not in FAILING_EVENTS]
    tmp = run_dir / f".{EVENTS_FILE}.tmp"
    tmp.write_text("".join(json.dumps(e) + "\n" for e in kept), encoding="utf-8")
    tmp.replace(run_dir / EVENTS_FILE)


def plan(run_dir: Path, now: Mapping[str, Any], do_apply: bool) -> dict[str, Any]:
    path = run_dir / "run.json"
    recorded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    diffs = differences(recorded, now)
    events = _read_events(run_dir) if recorded else []
    pairs = remeasure(events) if not diffs else []
    if do_apply and not diffs:
        apply(run_dir, events)
    return {
        "differences": diffs,
        "remeasure": pairs,
        "segment": len(recorded.get("resumed_ms") or []) + 1 if recorded else 0,
    }
