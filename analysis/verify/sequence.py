"""The order of one framework's verification, written once; who reads the database decides how it is watched.

1. the HTTP checks, bracketed by World snapshots (the update check compares the two),
2. per database type that passed its HTTP checks: the load, bracketed by counter snapshots (nothing else may
   query the database in between),
3. the report.

Two ways to watch the phases (the ``around`` of run_phases):

- ``snapshots_around``: a process that can query the database takes each snapshot right before and after
  its phase (verify_framework; ``python -m analysis.verify run --psql``, the tests);
- ``QuietGaps``: on the lab's client, which cannot reach the database, each phase's wall-clock start and end
  are marked and a quiet gap follows it, while recorder.py samples the database on the db host; timeline.py
  then picks the snapshots that lie in the gaps (``python -m verify phases``, roles/benchmark).
"""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .http_checks import verify_http
from .load import run_load
from .report import (
    HTTP,
    WORLDS_AFTER,
    WORLDS_BEFORE,
    Report,
    build_report,
    counters_file,
    load_file,
)
from .rules import DB_HITS, DB_TYPES, accept_header
from .sql import statements

# Runs one statement of sql.py and returns its `snapshot` value (a JSON object).
Snapshot = Callable[[str], Any]
# The marks of the phases, written by QuietGaps beside what the phases wrote.
PHASES = "phases.json"


@dataclass(frozen=True)
class Phase:
    """One phase, and the snapshots of the database that bracket it: (statement, file before, file after)."""

    name: str
    test_type: str = ""

    def snapshots(self, test_types: Sequence[str]) -> list[tuple[str, str, str]]:
        if self.name == "http":
            return [("worlds", WORLDS_BEFORE, WORLDS_AFTER)] if "updates" in test_types else []
        return [("counters", counters_file(self.test_type, "before"), counters_file(self.test_type, "after"))]

    def describe(self) -> str:
        return "the HTTP checks" if self.name == "http" else f"the {self.test_type} load"

    @classmethod
    def load(cls, test_type: str) -> Phase:
        return cls("load", test_type)


HTTP_PHASE = Phase("http")
Around = Callable[[Phase], AbstractContextManager[None]]


def _write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def db_types_to_load(test_types: Sequence[str], grades: dict[str, str]) -> list[str]:
    return [t for t in test_types if t in DB_TYPES and grades.get(t) != "fail"]


def run_phases(
    base_url: str, test_types: Sequence[str], data_dir: Path, around: Around, timeout: float = 20.0
) -> None:
    """The HTTP checks, then each database type's load, each inside ``around(phase)``; results in data_dir."""
    data_dir.mkdir(parents=True, exist_ok=True)
    with around(HTTP_PHASE):
        http = verify_http(base_url, test_types, timeout)
    _write(data_dir / HTTP, http.to_json())
    for test_type in db_types_to_load(test_types, http.grades()):
        url = base_url.rstrip("/") + DB_HITS[test_type].path
        with around(Phase.load(test_type)):
            load = run_load(url, accept_header(test_type))
        _write(data_dir / load_file(test_type), load.to_json())


def snapshots_around(
    snapshot: Snapshot, test_types: Sequence[str], data_dir: Path, engine: str = "postgres"
) -> Around:
    sql = statements(engine)

    @contextlib.contextmanager
    def around(phase: Phase) -> Iterator[None]:
        brackets = phase.snapshots(test_types)
        for statement, before, _ in brackets:
            _write(data_dir / before, snapshot(sql[statement]))
        yield
        for statement, _, after in brackets:
            _write(data_dir / after, snapshot(sql[statement]))

    return around


class QuietGaps:
    """Marks each phase's wall-clock start and end (time.time()); the client keeps quiet for gap_s after it.

    The recorder's clock may be off the client's by up to skew_s either way, so a snapshot is known to lie
    between two phases only if it lies more than skew_s inside the gap: a gap longer than twice the skew, plus
    the recorder's own margin (a counters sample, a World snapshot), always holds one.
    """

    def __init__(self, skew_s: float, margin_s: float) -> None:
        self.skew_s = skew_s
        self.gap_s = 2 * skew_s + margin_s
        self.marks: list[dict[str, Any]] = []

    @contextlib.contextmanager
    def __call__(self, phase: Phase) -> Iterator[None]:
        start = time.time()
        try:
            yield
        finally:
            end = time.time()
            self.marks.append({"phase": phase.name, "type": phase.test_type, "start": start, "end": end})
            time.sleep(self.gap_s)

    def to_json(self, test_types: Sequence[str]) -> dict[str, Any]:
        gaps = {"skew_s": self.skew_s, "gap_s": self.gap_s}
        return {"test_types": list(test_types), **gaps, "phases": self.marks}


def verify_framework(
    framework: str,
    base_url: str,
    test_types: Sequence[str],
    data_dir: Path,
    snapshot: Snapshot,
    timeout: float = 20.0,
    engine: str = "postgres",
) -> Report:
    """Every phase with the snapshots of the engine's statements taken around it by `snapshot`, then the
    report."""
    data_dir.mkdir(parents=True, exist_ok=True)
    around = snapshots_around(snapshot, test_types, data_dir, engine)
    run_phases(base_url, test_types, data_dir, around, timeout)
    return build_report(framework, data_dir, test_types)
