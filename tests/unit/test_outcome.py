"""The closing verdict of a run (analysis.outcome): every failure named, and the exit status it gives."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from analysis.cli import main
from analysis.outcome import EXIT_FAILED, judge
from analysis.raw_files import RawPoint, load_raw_points

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / "tests" / "fixtures" / "runs"
RUN = {"frameworks": ["aiohttp", "flask"], "test_types": ["json", "db"]}


def _ok(**extra: Any) -> dict[str, Any]:
    return {"status": "ok", "reason": "", "verify": {"json": "pass", "db": "pass"}, **extra}


def _points(*measured: tuple[str, str]) -> list[RawPoint]:
    """Level points of a real saved run, relabelled: the verdict reads only their meta."""
    template = load_raw_points(RUNS / "sample").points
    level = next(p for p in template if p.meta.get("phase") == "level")
    return [
        RawPoint(level.stem, {**level.meta, "framework": fw, "test_type": t}, level.report, level.text)
        for fw, t in measured
    ]


ALL = _points(("aiohttp", "json"), ("aiohttp", "db"), ("flask", "json"), ("flask", "db"))


def test_a_run_where_everything_was_verified_and_measured_succeeds() -> None:
    outcome = judge(RUN, {"aiohttp": _ok(), "flask": _ok()}, ALL, "r1")
    assert outcome.ok and outcome.failures == []
    assert "every framework and type verified and measured" in outcome.render()


def test_each_kind_of_failure_is_named() -> None:
    frameworks = {
        "aiohttp": _ok(
            verify={"json": "pass", "db": "pass"},
            events=[
                {
                    "event": "database_unreachable",
                    "test_types": ["db"],
                    "message": "database unreachable at 10.0.0.10:5432: timed out",
                },
                {"event": "app_crashed", "test_types": ["json"], "message": "a worker died\nrestarted"},
            ],
        ),
        "flask": {
            "status": "failed",
            "reason": "\nfailed to start: Address already in use\nmore",
            "verify": {},
        },
    }
    outcome = judge(RUN, frameworks, _points(("aiohttp", "json")), "r2")
    assert outcome.failures == [
        "aiohttp/db: database unreachable at 10.0.0.10:5432: timed out",
        "flask: failed: failed to start: Address already in use",
    ]
    # A crash that was restarted only flags the numbers.
    assert outcome.notes == ["aiohttp/json: app_crashed: a worker died"]


def test_a_type_that_failed_verification_or_was_never_measured_fails() -> None:
    frameworks = {"aiohttp": _ok(verify={"json": "fail", "db": "pass"}), "flask": _ok()}
    outcome = judge(RUN, frameworks, _points(("flask", "json"), ("flask", "db")), "r3")
    assert outcome.failures == [
        "aiohttp/json: failed verification (not benchmarked)",
        "aiohttp/db: no level was measured",
    ]


def test_a_framework_without_an_outcome_and_a_run_that_measured_nothing_fail() -> None:
    outcome = judge(RUN, {"aiohttp": _ok()}, [], "r4")
    assert outcome.failures == [
        "aiohttp/json: no level was measured",
        "aiohttp/db: no level was measured",
        "flask: no outcome recorded (the run ended before this framework)",
        "nothing was measured: no framework has a finished level",
    ]


def test_a_verification_only_run_needs_no_measurement() -> None:
    assert judge(RUN, {"aiohttp": _ok(), "flask": _ok()}, [], "r5", verify_only=True).ok


@pytest.mark.parametrize(
    ("run", "expected"),
    [
        ("sample", "FAILED  broken: failed: verification failed: json body differs"),
        ("two-frameworks", "FAILED  aiohttp/queries: failed verification (not benchmarked)"),
    ],
)
def test_the_command_prints_the_summary_and_exits_3_on_saved_runs(
    run: str, expected: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / run
    shutil.copytree(RUNS / run, copy)
    assert main(["outcome", str(copy)]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert out.startswith("== Outcome of run ") and expected in out.splitlines()
