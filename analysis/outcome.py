"""The verdict of a run: what failed, in one closing summary, and whether the run succeeded.

A benchmark goes on past a framework that fails (it is recorded and the next one runs), so its exit status
alone used to say nothing. ``python -m analysis outcome RUN_DIR`` judges what the run recorded (run.json,
frameworks/<framework>.json with their events, the raw points) and lists every failure:

- a framework that did not start, or whose every type failed verification (its status is ``failed``);
- a framework of run.json without an outcome file (the run ended before it);
- a test type graded ``fail`` by verification (it was not benchmarked);
- a test type a failing event names (the database was unreachable);
- a type that was to be benchmarked but has no measured level;
- nothing measured at all, when the run was not a verification-only run.

Exit status 0 when there is none, 3 when there is any (the playbook fails then, after everything else ran),
1 when RUN_DIR is not a run. The summary also lists what only flags the numbers (an app that crashed and was
restarted), without failing the run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from analysis.ceiling import CEILING_FRAMEWORK
from analysis.events import FAILING_EVENTS, failed_types
from analysis.raw_files import RawPoint
from analysis.run import Run

EXIT_FAILED = 3


@dataclass
class Outcome:
    run_id: str
    failures: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.failures

    def render(self) -> str:
        head = f"== Outcome of run {self.run_id}: " + (
            "every framework and type verified and measured"
            if self.ok
            else f"{len(self.failures)} failure(s)"
        )
        lines = [
            head,
            *(f"FAILED  {line}" for line in self.failures),
            *(f"note    {line}" for line in self.notes),
        ]
        return "\n".join(lines) + "\n"


def _first_line(text: object) -> str:
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    return lines[0] if lines else "no reason recorded"


def _measured(points: Sequence[RawPoint]) -> set[tuple[str, str]]:
    """(framework, test_type) of every level wrk finished."""
    return {
        (str(p.meta.get("framework")), str(p.meta.get("test_type")))
        for p in points
        if p.meta.get("phase") == "level"
    }


def judge(
    run: Mapping[str, Any],
    frameworks: Mapping[str, Mapping[str, Any]],
    points: Sequence[RawPoint],
    run_id: str,
    verify_only: bool = False,
) -> Outcome:
    """The failures and notes of a run from what it recorded (a pure function of the loaded run)."""
    outcome = Outcome(run_id)
    expected = [str(f) for f in run.get("frameworks") or []]
    types = [str(t) for t in run.get("test_types") or []]
    by_event = failed_types(frameworks)
    measured = _measured(points)
    names = expected + (
        [CEILING_FRAMEWORK] if CEILING_FRAMEWORK in frameworks and CEILING_FRAMEWORK not in expected else []
    )
    for name in names:
        info = frameworks.get(name)
        if info is None or "status" not in info:
            outcome.failures.append(f"{name}: no outcome recorded (the run ended before this framework)")
            continue
        if info.get("status") == "failed":
            outcome.failures.append(f"{name}: failed: {_first_line(info.get('reason'))}")
            continue
        grades: Mapping[str, Any] = info.get("verify") or {}
        own_types = [t for t in types if t in grades] if name == CEILING_FRAMEWORK else types
        for test_type in own_types:
            if (test_type, name) in by_event:
                outcome.failures.append(f"{name}/{test_type}: {_first_line(by_event[test_type, name])}")
            elif grades.get(test_type) == "fail":
                outcome.failures.append(f"{name}/{test_type}: failed verification (not benchmarked)")
            elif not verify_only and (name, test_type) not in measured:
                outcome.failures.append(f"{name}/{test_type}: no level was measured")
        for event in info.get("events") or []:
            if event.get("event") not in FAILING_EVENTS:
                kinds = ", ".join(str(t) for t in event.get("test_types") or []) or "-"
                outcome.notes.append(
                    f"{name}/{kinds}: {event.get('event')}: {_first_line(event.get('message'))}"
                )
    if not verify_only and not any(name != CEILING_FRAMEWORK for name, _ in measured):
        outcome.failures.append("nothing was measured: no framework has a finished level")
    return outcome


def run_outcome(run: Run, verify_only: bool = False) -> Outcome:
    """The outcome of a loaded run (a verification-only run's points, if any, are not looked at)."""
    return judge(run.meta, run.frameworks, [] if verify_only else run.points, run.run_id, verify_only)
