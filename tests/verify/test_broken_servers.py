"""The verifier against small real servers that each break one rule, on a real throwaway Postgres.

Each server (tests/verify/broken_app.py) is right except for its one break, so the test can say exactly
which checks must not pass and with which grade (docs/test-types.md §3.3 "What warns and what fails"); every
other check must pass. The types verified per break are the ones the break touches, to keep the run short;
the unbroken server is verified on all of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from analysis.verify.checks import Check, type_grade
from analysis.verify.rules import TEST_TYPES
from analysis.verify.sequence import verify_framework
from labkit.paths import REPO
from labkit.postgres import PostgresCluster

from .conftest import broken_server

pytestmark = pytest.mark.needs_postgres

# break -> (types verified, {type: {check name: grade}} of every check that does not pass)
EXPECTED: dict[str, tuple[list[str], dict[str, dict[str, str]]]] = {
    "no-server-header": (
        ["json", "db"],
        {"json": {"headers": "fail"}, "db": {"headers": "fail", "db-hits": "fail"}},
    ),
    "cached-date": (
        ["json", "plaintext"],
        {"json": {"date-fresh": "fail"}, "plaintext": {"date-fresh": "fail"}},
    ),
    "json-as-text": (["json"], {"json": {"content-type": "fail"}}),
    "extra-json-key": (["json"], {"json": {"body": "warn"}}),
    "plaintext-newline": (["plaintext"], {"plaintext": {"body": "warn"}}),
    "no-lower-clamp": (["queries"], {"queries": {"body": "fail", "db-hits": "fail"}}),
    "no-upper-clamp": (["queries"], {"queries": {"body": "warn"}}),
    "unescaped-fortune": (["fortunes"], {"fortunes": {"body": "fail", "db-hits": "fail"}}),
    "batched-queries": (["queries"], {"queries": {"db-hits: queries": "fail"}}),
    "updates-old-value": (["updates"], {"updates": {"rows-changed": "fail"}}),
    "lookup-unindexed": (["lookup"], {"lookup": {"db-hits: index": "fail"}}),
    # Found in swapped case (the database-hit load is then not run).
    "lookup-case-blind": (["lookup"], {"lookup": {"body": "fail", "db-hits": "fail"}}),
}


def not_passing(checks: Mapping[str, Sequence[Check]]) -> dict[str, dict[str, str]]:
    out: dict[str, dict[str, str]] = {}
    for test_type, type_checks in checks.items():
        by_name: dict[str, list[Check]] = {}
        for check in type_checks:
            by_name.setdefault(check.name, []).append(check)
        bad = {name: str(type_grade(cs)) for name, cs in by_name.items() if type_grade(cs) != "pass"}
        if bad:
            out[test_type] = bad
    return out


@pytest.mark.parametrize("broken", sorted(EXPECTED))
def test_each_break_is_graded_as_the_rules_say(
    broken: str,
    pg: PostgresCluster,
    snapshot: Callable[[str], Any],
    driver_python: Path,
    tmp_path: Path,
) -> None:
    types, expected = EXPECTED[broken]
    with broken_server(driver_python, broken, pg, tmp_path / "server.log") as url:
        report = verify_framework(broken, url, types, tmp_path / "data", snapshot)
    assert not_passing(report.checks) == expected, report.text()
    worst = {t: max(g.values(), key=["pass", "warn", "fail"].index) for t, g in expected.items()}
    assert report.grades() == {t: worst.get(t, "pass") for t in types}


def test_the_unbroken_server_passes_everything_through_the_command_line(
    pg: PostgresCluster, driver_python: Path, tmp_path: Path
) -> None:
    """`python -m analysis.verify run`: every step, psql reading the snapshots, the files it writes."""
    with broken_server(driver_python, "none", pg, tmp_path / "server.log") as url:
        psql = f"psql -h {pg.socket_dir} -p {pg.port} -U postgres -d hello_world"
        out = subprocess.run(
            [sys.executable, "-m", "analysis.verify", "run", url, "--framework", "unbroken",
             "--types", ",".join(TEST_TYPES), "--out", str(tmp_path / "out"), "--psql", psql],
            cwd=REPO, capture_output=True, text=True, check=False, timeout=300,
        )  # fmt: skip
    assert out.returncode == 0, out.stderr
    summary = json.loads(out.stdout)
    text = (tmp_path / "out" / "verification.txt").read_text()
    assert summary["grades"] == dict.fromkeys(TEST_TYPES, "pass"), text
    assert summary["swept"] == list(TEST_TYPES) and summary["problems"] == {}
    assert json.loads((tmp_path / "out" / "summary.json").read_text()) == summary
    for name in (
        "db-hits: queries",
        "db-hits: rows read",
        "db-hits: rows updated",
        "rows-changed",
        "date-fresh",
    ):
        assert f"pass  {name}" in text
    assert "10,752 statements on world (10,752 expected with bulk writes)" in text
    assert "500 of the 500 rows the request answered with changed in world" in text
