"""Verification in the real pipeline: the files of a normal run, a run with a framework broken on purpose, and
the verify-only mode with the two types the normal run leaves out (through nginx, on the lab's Postgres)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import E2E_FRAMEWORKS, TINY, PlaybookRun, run_playbook

# The normal run verifies json, plaintext, db and queries of both frameworks; verify-only adds these (one
# framework keeps the added time down: each database type costs a load and a quiet gap).
VERIFY_ONLY_TYPES = ["fortunes", "updates", "lookup"]
DEPLOYED_FLASK_APP = Path("/opt/lab/localhost/apps/flask/app.py")
QUICK = {**TINY, "lab_ceiling": False}


def _latest(results_dir: Path) -> Path:
    return (results_dir / "latest").resolve()


def _summary(run_dir: Path, framework: str) -> dict[str, object]:
    summary: dict[str, object] = json.loads((run_dir / "verify" / framework / "summary.json").read_text())
    return summary


@contextlib.contextmanager
def broken_deployed_flask() -> Iterator[None]:
    """The deployed flask app cannot be imported, so its server does not start; restored byte for byte."""
    original = DEPLOYED_FLASK_APP.read_bytes()
    try:
        DEPLOYED_FLASK_APP.write_bytes(
            original + b"\nthis is not python (broken on purpose by the e2e test)\n"
        )
        yield
    finally:
        DEPLOYED_FLASK_APP.write_bytes(original)


@pytest.fixture(scope="module")
def broken_run(
    provisioned: PlaybookRun, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PlaybookRun, Path]:
    results = tmp_path_factory.mktemp("broken-results")
    with broken_deployed_flask():
        run = run_playbook(
            "benchmark.yml",
            extra={**QUICK, "lab_frameworks": ["aiohttp", "flask"], "lab_test_types": ["json"],
                   "lab_results_dir": str(results)},
        )  # fmt: skip
    return run, _latest(results)


@pytest.fixture(scope="module")
def verify_only_run(
    provisioned: PlaybookRun, tmp_path_factory: pytest.TempPathFactory
) -> tuple[PlaybookRun, Path]:
    results = tmp_path_factory.mktemp("verify-only-results")
    run = run_playbook(
        "benchmark.yml",
        extra={**QUICK, "lab_frameworks": ["flask"], "lab_test_types": VERIFY_ONLY_TYPES,
               "lab_verify_only": True, "lab_results_dir": str(results)},
    )  # fmt: skip
    return run, _latest(results)


def test_a_normal_run_writes_the_verification_of_every_framework(
    benchmark_run: PlaybookRun, results_dir: Path
) -> None:
    run_dir = _latest(results_dir)
    for framework in E2E_FRAMEWORKS:
        text = (run_dir / "verify" / framework / "verification.txt").read_text()
        summary = _summary(run_dir, framework)
        assert summary["grades"] == dict.fromkeys(["json", "plaintext", "db", "queries"], "pass"), text
        for check in ("date-fresh", "db-hits: queries", "db-hits: rows read", "content-type", "body"):
            assert f"pass  {check}" in text, (framework, check)
        outcome = json.loads((run_dir / "frameworks" / f"{framework}.json").read_text())
        assert outcome["status"] == "ok" and outcome["verify"] == summary["grades"]


def test_a_framework_that_does_not_start_fails_and_the_run_goes_on(
    broken_run: tuple[PlaybookRun, Path],
) -> None:
    run, run_dir = broken_run
    # aiohttp was measured all the same; the closing summary names flask, and the run's status says it failed.
    assert run.returncode != 0 and "FAILED flask: failed: " in run.text, run.output[-6000:]
    assert "1 failure(s) in run" in run.text
    flask = json.loads((run_dir / "frameworks" / "flask.json").read_text())
    assert flask["status"] == "failed" and flask["verify"] == {"json": "fail"}
    # The reason is lab-appctl's: the end of the app's log, where the import error is.
    assert "end of its log" in flask["reason"] and "this is not python" in flask["reason"], flask["reason"]
    assert "did not start" in (run_dir / "verify" / "flask" / "verification.txt").read_text()
    results = json.loads((run_dir / "results.json").read_text())
    assert results["failed"]["json"] == ["flask"] and results["succeeded"]["json"] == ["aiohttp"]
    assert results["verify"] == {"aiohttp": {"json": "pass"}, "flask": {"json": "fail"}}
    assert results["completed"]["flask"] == flask["reason"]
    assert list((run_dir / "raw" / "aiohttp" / "json" / "localhost").glob("level-*.meta.json"))
    assert not (run_dir / "raw" / "flask").exists()


def test_the_deployed_app_was_restored(broken_run: tuple[PlaybookRun, Path]) -> None:
    assert b"broken on purpose" not in DEPLOYED_FLASK_APP.read_bytes()


def test_verify_only_grades_every_type_without_load(verify_only_run: tuple[PlaybookRun, Path]) -> None:
    run, run_dir = verify_only_run
    assert run.returncode == 0, run.output[-6000:]
    text = (run_dir / "verify" / "flask" / "verification.txt").read_text()
    assert _summary(run_dir, "flask")["grades"] == dict.fromkeys(VERIFY_ONLY_TYPES, "pass"), text
    assert "pass  rows-changed" in text and "pass  db-hits: rows updated" in text
    assert "6,144 rows read (6,144 expected)" in text
    # The lookup, on the lab's million rows: present, case-swapped and absent names answered right, and every
    # statement served by the name index (a handful of buffer pages each).
    assert "pass  db-hits: index" in text and "buffer pages touched per statement on demo_data" in text, text
    outcome = json.loads((run_dir / "frameworks" / "flask.json").read_text())
    assert outcome["status"] == "ok" and outcome["verify"] == dict.fromkeys(VERIFY_ONLY_TYPES, "pass")
    assert not list((run_dir / "raw").rglob("*.meta.json")), "verify-only must not run wrk"
    assert not (run_dir / "results.json").exists()
