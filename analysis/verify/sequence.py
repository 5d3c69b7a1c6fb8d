"""The whole verification of one framework in one process, for a host that can also query the database.

The playbook runs the same steps one by one (roles/benchmark/tasks/verify.yml), because there the database is
only reachable from the db host; the order matters the same way in both:

1. World snapshot, 2. HTTP checks, 3. World snapshot (the update check compares 1 and 3),
4. per database type that passed its HTTP checks: counters, load, counters (nothing else in between),
5. the report.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
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
from .sql import COUNTERS, WORLDS

# Runs one statement of sql.py and returns its `snapshot` value (a JSON object).
Snapshot = Callable[[str], Any]


def _write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")


def db_types_to_load(test_types: Sequence[str], grades: dict[str, str]) -> list[str]:
    return [t for t in test_types if t in DB_TYPES and grades.get(t) != "fail"]


def verify_framework(
    framework: str,
    base_url: str,
    test_types: Sequence[str],
    data_dir: Path,
    snapshot: Snapshot,
    timeout: float = 20.0,
) -> Report:
    data_dir.mkdir(parents=True, exist_ok=True)
    with_updates = "updates" in test_types
    if with_updates:
        _write(data_dir / WORLDS_BEFORE, snapshot(WORLDS))
    http = verify_http(base_url, test_types, timeout)
    _write(data_dir / HTTP, http.to_json())
    if with_updates:
        _write(data_dir / WORLDS_AFTER, snapshot(WORLDS))
    for test_type in db_types_to_load(test_types, http.grades()):
        _write(data_dir / counters_file(test_type, "before"), snapshot(COUNTERS))
        url = base_url.rstrip("/") + DB_HITS[test_type].path
        load = run_load(url, accept_header(test_type))
        _write(data_dir / counters_file(test_type, "after"), snapshot(COUNTERS))
        _write(data_dir / load_file(test_type), load.to_json())
    return build_report(framework, data_dir, test_types)
