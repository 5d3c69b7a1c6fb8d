"""What went wrong during a run: ``<run dir>/events.jsonl``, one JSON object a line, appended by the benchmark
(roles/benchmark/tasks/record_event.yml) as it happens.

Each event has ``framework``, ``event``, ``test_types``, ``message`` and ``time_ms``. Kinds:

- ``app_crashed``: the app server's processes changed during a test type (a worker or the server died under
  load); the app tier was restarted before the next type. The type's levels keep their numbers and are flagged
  by their errors.
- ``app_host_lost``: behind a balancer, an app host (``hosts``) did not answer at its own address after a test
  type; the balancer served its share from the others. The type's levels are flagged by their balance
  (analysis.balance).
- ``database_unreachable``: the app tier could not reach the database before or right after a test type (or
  before the framework started); the types it names failed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

EVENTS_FILE = "events.jsonl"
# The events of the points a resume measured again (analysis.resume moves them there).
SUPERSEDED_EVENTS_FILE = "events-superseded.jsonl"
# Events that fail the test types they name (the other kinds only flag them).
FAILING_EVENTS = frozenset({"database_unreachable"})


def load_events(run_dir: Path, name: str = EVENTS_FILE) -> tuple[list[dict[str, Any]], list[str]]:
    """The run's events in file order ([] when there is no events file), and a warning per unreadable line."""
    path = run_dir / name
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return [], []
    except OSError as exc:
        return [], [f"{path}: unreadable ({exc})"]
    events: list[dict[str, Any]] = []
    warnings: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            warnings.append(f"{path}:{number}: not JSON ({exc})")
            continue
        if not isinstance(event, dict) or not event.get("framework") or not event.get("event"):
            warnings.append(f"{path}:{number}: not an event object with framework and event")
            continue
        events.append(event)
    return events, warnings


def events_by_framework(events: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        grouped.setdefault(str(event["framework"]), []).append(dict(event))
    return grouped


def attach_events(
    frameworks: Mapping[str, Mapping[str, Any]], events: Iterable[Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """The frameworks/<framework>.json objects with ``events`` from events.jsonl, the complete record: a
    framework whose run was killed before its file was written still gets its events."""
    merged = {name: dict(info) for name, info in frameworks.items()}
    for framework, found in events_by_framework(events).items():
        merged.setdefault(framework, {"framework": framework})["events"] = found
    return merged


def failed_types(frameworks: Mapping[str, Mapping[str, Any]]) -> dict[tuple[str, str], str]:
    """{(test_type, framework): message} for the types a failing event names."""
    failed: dict[tuple[str, str], str] = {}
    for framework, info in frameworks.items():
        for event in info.get("events") or []:
            if event.get("event") not in FAILING_EVENTS:
                continue
            for test_type in event.get("test_types") or []:
                failed.setdefault((str(test_type), framework), str(event.get("message", "")))
    return failed


def _when(event: Mapping[str, Any]) -> str:
    time_ms = event.get("time_ms")
    if not isinstance(time_ms, int | float):
        return "?"
    return time.strftime("%H:%M:%S", time.gmtime(time_ms / 1000))


def event_lines(frameworks: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """One line per event: "HH:MM:SS <framework> [<types>] <event>: <message>"."""
    lines = []
    for framework in sorted(frameworks):
        for event in frameworks[framework].get("events") or []:
            types = ", ".join(str(t) for t in event.get("test_types") or []) or "-"
            message = " ".join(str(event.get("message", "")).split())
            lines.append(f"{_when(event)} {framework} [{types}] {event.get('event')}: {message}")
    return lines


def render_events(frameworks: Mapping[str, Mapping[str, Any]]) -> str:
    """The events as text for the end of the tables ("" when there were none)."""
    lines = event_lines(frameworks)
    if not lines:
        return ""
    return "\n".join(["== Events (failures and crashes during the run)", *lines]) + "\n"
