"""The report: grading a verification data directory (as the playbook leaves it) and the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.verify.checks import failed, passed, warned
from analysis.verify.cli import main
from analysis.verify.http_checks import HttpResult
from analysis.verify.load import LoadResult
from analysis.verify.report import build_report, write_report
from analysis.verify.sql import COUNTERS, WORLDS, counter_keys
from labkit.paths import REPO

BASE = "http://10.0.0.2:8080"
ZERO = dict.fromkeys(counter_keys(), 0)


def write(path: Path, data: object) -> None:
    path.write_text(json.dumps(data))


def data_dir(tmp_path: Path) -> Path:
    """json passes, plaintext warns, db passes HTTP and its load, queries fails HTTP."""
    result = HttpResult(
        BASE,
        {
            "json": [passed("body", f"{BASE}/json", "ok")],
            "plaintext": [warned("body", f"{BASE}/plaintext", "1 byte(s) beyond the 13 required")],
            "db": [passed("body", f"{BASE}/db", "ok")],
            "queries": [failed("content-type", f"{BASE}/queries?queries=2", "'text/plain': media type")],
        },
    )
    write(tmp_path / "http.json", result.to_json())
    write(tmp_path / "counters-db-before.json", ZERO)
    write(tmp_path / "counters-db-after.json", {**ZERO, "world_calls": 512, "world_rows_read": 512})
    write(tmp_path / "load-db.json", LoadResult(f"{BASE}/db", 512, 512, 512, 1.2).to_json())
    (tmp_path / "app-log.txt").write_text("[INFO] Booting worker\n[ERROR] something\n")
    return tmp_path


def test_grades_reason_and_text(tmp_path: Path) -> None:
    types = ["json", "plaintext", "db", "queries"]
    report = build_report("fw", data_dir(tmp_path), types)
    assert report.grades() == {"json": "pass", "plaintext": "warn", "db": "pass", "queries": "fail"}
    names = [c.name for c in report.checks["db"]]
    assert names == ["body", "db-hits: load", "db-hits: queries", "db-hits: rows read"]
    # A type that failed its HTTP checks gets no load: its db-hit check says so.
    assert [(c.name, c.grade) for c in report.checks["queries"]][-1] == ("db-hits", "fail")
    reason = report.reason()
    assert reason.startswith(
        "queries failed verification: fail content-type http://10.0.0.2:8080/queries?queries=2"
    )
    assert "plaintext" not in reason  # a warning is not a reason to fail
    assert reason.endswith("end of the app's log:\n[INFO] Booting worker\n[ERROR] something")
    out = tmp_path / "out"
    summary = write_report(report, out, BASE)
    assert summary["swept"] == ["json", "plaintext", "db"]
    text = (out / "verification.txt").read_text()
    assert "  queries    fail  (2 fail)" in text and "  plaintext  warn  (1 warn)" in text
    assert "warn  body                   http://10.0.0.2:8080/plaintext\n      1 byte(s) beyond" in text
    assert text.rstrip().endswith("[ERROR] something")


def test_a_server_that_did_not_start_fails_every_type(tmp_path: Path) -> None:
    (tmp_path / "start-error.txt").write_text(
        "lab-appctl: flask did not start; end of its log:\nSyntaxError\n"
    )
    report = build_report("flask", tmp_path, ["json", "db"])
    assert report.grades() == {"json": "fail", "db": "fail"}
    assert "SyntaxError" in report.checks["json"][0].reason


def test_missing_data_fails_with_the_reason_recorded_beside_it(tmp_path: Path) -> None:
    report = build_report("fw", tmp_path, ["json"])
    assert report.grades() == {"json": "fail"} and "http.json: missing" in report.checks["json"][0].reason
    write(tmp_path / "http.json", HttpResult(BASE, {"updates": [passed("body", BASE, "ok")]}).to_json())
    (tmp_path / "worlds-before.json.error.txt").write_text("the snapshot could not be read on db1: refused")
    report = build_report("fw", tmp_path, ["updates"])
    reasons = {c.name: c.reason for c in report.checks["updates"] if c.grade == "fail"}
    assert "worlds-before.json: the snapshot could not be read on db1: refused" in reasons["rows-changed"]
    assert "counters-updates-before.json: missing" in reasons["db-hits"]


def test_sql_command_prints_the_statements(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sql"]) == 0
    assert json.loads(capsys.readouterr().out) == {"counters": COUNTERS, "worlds": WORLDS}
    assert main(["sql", "--engine", "mysql"]) == 0
    mysql = json.loads(capsys.readouterr().out)
    assert "performance_schema.events_statements_summary_by_digest" in mysql["counters"]
    assert "FROM `World`" in mysql["worlds"]
    with pytest.raises(SystemExit):
        main(["sql", "--engine", "oracle"])


def test_dbhits_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = data_dir(tmp_path)
    argv = ["dbhits", "--type", "db", "--before", str(data / "counters-db-before.json")]
    argv += ["--after", str(data / "counters-db-after.json"), "--load", str(data / "load-db.json")]
    assert main(argv) == 0
    assert {c["grade"] for c in json.loads(capsys.readouterr().out)} == {"pass"}


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["http", BASE, "--types", "json,jsn", "--out", "x"], "unknown jsn; allowed: json, plaintext"),
        (["load", BASE, "--type", "json", "--out", "x"], "'json' has no database-hit check; allowed: db"),
    ],
)
def test_bad_arguments_name_the_value_and_what_is_allowed(argv: list[str], message: str) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "analysis.verify", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr
