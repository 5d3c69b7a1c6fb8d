"""All checks of one framework, gathered from its verification data directory, graded and written out.

The data directory holds what the steps before produced (file names below); the report grades it with the
same pure functions and writes ``verification.txt`` (every check: grade, name, URL, reason) and returns the
summary (grades per type, the problems) that goes into frameworks/<framework>.json.

    start-error.txt                          the server did not start: every type fails with this reason
    http.json                                `http` output
    worlds-before.json, worlds-after.json    sql.WORLDS snapshots around `http` (updates)
    counters-<type>-before.json, -after.json sql.COUNTERS snapshots around `load` of that type
    load-<type>.json                         `load` output
    <snapshot>.error.txt                     why a snapshot could not be read (instead of the snapshot)
    phases.json, recording.jsonl             the lab's way: the client's phase marks and the db host's
                                             recording, from which cli.py's `report` first writes the
                                             snapshot files (timeline.py)
    app-log.txt                              the end of the app's log, shown when a type fails
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .checks import Check, Grade, failed, type_grade
from .db_checks import grade_db_hits, grade_rows_changed
from .http_checks import HttpResult
from .load import LoadResult
from .rules import DB_HITS, DB_TYPES, PATHS, UPDATE_CHECK_CASE
from .sql import counters_exact, examined_unit, parse_counters, parse_worlds

START_ERROR = "start-error.txt"
HTTP = "http.json"
APP_LOG = "app-log.txt"
WORLDS_BEFORE, WORLDS_AFTER = "worlds-before.json", "worlds-after.json"
# Problems per type quoted in the summary's reason (verification.txt has them all).
_REASON_PROBLEMS = 3


def counters_file(test_type: str, when: str) -> str:
    return f"counters-{test_type}-{when}.json"


def load_file(test_type: str) -> str:
    return f"load-{test_type}.json"


def _read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _missing(paths: Sequence[Path]) -> str | None:
    """None when every file is there, else which are missing and why (from <name>.error.txt)."""
    missing = [p for p in paths if not p.exists()]
    if not missing:
        return None
    reasons = []
    for path in missing:
        error = path.with_name(path.name + ".error.txt")
        why = error.read_text(encoding="utf-8", errors="replace").strip() if error.exists() else "missing"
        reasons.append(f"{path.name}: {why}")
    return "not measured: " + "; ".join(reasons)


def _db_checks(data_dir: Path, test_type: str, base_url: str) -> list[Check]:
    url = base_url.rstrip("/") + DB_HITS[test_type].path
    paths = [data_dir / counters_file(test_type, "before"), data_dir / counters_file(test_type, "after")]
    paths.append(data_dir / load_file(test_type))
    missing = _missing(paths)
    if missing:
        return [failed("db-hits", url, missing)]
    snapshots = [_read_json(p) for p in paths[:2]]
    before, after = (parse_counters(snapshot) for snapshot in snapshots)
    exact = all(counters_exact(snapshot) for snapshot in snapshots)
    load = LoadResult.from_json(_read_json(paths[2]))
    return grade_db_hits(test_type, before, after, load, exact, examined_unit(snapshots[1]))


def _rows_changed(data_dir: Path, http: HttpResult) -> Check:
    url = http.base_url.rstrip("/") + PATHS["updates"] + UPDATE_CHECK_CASE
    paths = [data_dir / WORLDS_BEFORE, data_dir / WORLDS_AFTER]
    missing = _missing(paths)
    if missing:
        return failed("rows-changed", url, missing)
    before, after = (parse_worlds(_read_json(p)) for p in paths)
    return grade_rows_changed(url, before, after, http.updates_ids)


def collect_checks(data_dir: Path, test_types: Sequence[str]) -> dict[str, list[Check]]:
    """Every check of every type, from the files in data_dir."""
    start_error = data_dir / START_ERROR
    if start_error.exists():
        reason = (
            "the server did not start:\n" + start_error.read_text(encoding="utf-8", errors="replace").strip()
        )
        return {t: [failed("start", "", reason)] for t in test_types}
    missing = _missing([data_dir / HTTP])
    if missing:
        return {t: [failed("http", "", missing)] for t in test_types}
    http = HttpResult.from_json(_read_json(data_dir / HTTP))
    checks: dict[str, list[Check]] = {}
    for test_type in test_types:
        type_checks = list(http.checks.get(test_type) or [failed("http", "", "not in http.json")])
        http_failed = type_grade(type_checks) == "fail"
        if test_type == "updates":
            type_checks.append(_rows_changed(data_dir, http))
        if test_type in DB_TYPES:
            if http_failed:
                url = http.base_url.rstrip("/") + DB_HITS[test_type].path
                type_checks.append(failed("db-hits", url, "not run: the type failed its HTTP checks"))
            else:
                type_checks.extend(_db_checks(data_dir, test_type, http.base_url))
        checks[test_type] = type_checks
    return checks


@dataclass(frozen=True)
class Report:
    framework: str
    checks: Mapping[str, Sequence[Check]]
    # The end of the app's log when the verification kept it (shown when a type fails).
    app_log: str = ""

    def grades(self) -> dict[str, Grade]:
        return {t: type_grade(cs) for t, cs in self.checks.items()}

    def problems(self) -> dict[str, list[str]]:
        return {
            t: [
                " ".join(filter(None, (c.grade, c.name, c.url))) + f": {c.reason}"
                for c in cs
                if c.grade != "pass"
            ]
            for t, cs in self.checks.items()
            if any(c.grade != "pass" for c in cs)
        }

    def failed_types(self) -> list[str]:
        return [t for t, g in self.grades().items() if g == "fail"]

    def reason(self) -> str:
        """Why types failed: a line per failed type with its first problems, then the end of the app's log."""
        lines = []
        for test_type in self.failed_types():
            problems = [p for p in self.problems()[test_type] if p.startswith("fail")]
            shown = problems[:_REASON_PROBLEMS]
            more = f" (+{len(problems) - len(shown)} more)" if len(problems) > len(shown) else ""
            lines.append(f"{test_type} failed verification: {' | '.join(shown)}{more}")
        if lines and self.app_log.strip():
            lines += ["end of the app's log:", self.app_log.rstrip()]
        return "\n".join(lines)

    def summary(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "grades": self.grades(),
            "swept": [t for t, g in self.grades().items() if g != "fail"],
            "reason": self.reason(),
            "problems": self.problems(),
        }

    def text(self, target: str = "") -> str:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        grades = self.grades()
        out = [
            f"Verification of {self.framework}{' at ' + target if target else ''}, {now}",
            'Rules: docs/test-types.md §2 "Test types" and §3 "Verification".',
            "A type's grade is the worst of its checks; a type graded fail is not benchmarked.",
            "",
        ]
        width = max(map(len, self.checks), default=4)
        for test_type, checks in self.checks.items():
            counts = {g: sum(c.grade == g for c in checks) for g in ("warn", "fail")}
            tally = ", ".join(f"{n} {g}" for g, n in counts.items() if n)
            out.append(f"  {test_type:<{width}}  {grades[test_type]}{'  (' + tally + ')' if tally else ''}")
        for test_type, checks in self.checks.items():
            out += ["", f"== {test_type}: {grades[test_type]}"]
            for check in checks:
                out.append(f"{check.grade:<4}  {check.name:<21}  {check.url}".rstrip())
                out += [f"      {line}" for line in check.reason.splitlines() or [""]]
        if self.failed_types() and self.app_log.strip():
            out += ["", "== the end of the app's log", self.app_log.rstrip()]
        return "\n".join(out) + "\n"


def build_report(framework: str, data_dir: Path, test_types: Sequence[str]) -> Report:
    log = data_dir / APP_LOG
    app_log = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return Report(framework, collect_checks(data_dir, test_types), app_log)


def write_report(report: Report, out_dir: Path, target: str = "") -> dict[str, Any]:
    """verification.txt and summary.json into out_dir; returns the summary."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "verification.txt").write_text(report.text(target), encoding="utf-8")
    summary = report.summary()
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    return summary
