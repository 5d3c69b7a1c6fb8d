"""The whole suite's policy on skips: a missing prerequisite fails in CI.

Locally a test may skip when this machine lacks something it needs (no wrk, no root...), and says what. In CI
(``CI=true``) the machine is made for the suite by the project's own files (`make test-deps`, the venv), so
such a skip means the suite tested less than it claims: it is reported as a failure. A test that cannot apply
on a machine whatever is installed (a case of a parametrization that has nothing to check, a feature the
hardware lacks) says so with a reason starting NOT_APPLICABLE, and stays a skip everywhere. The run ends with
a line counting the skips of each kind.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

NOT_APPLICABLE = "not applicable here: "
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _reason(report: pytest.TestReport) -> str:
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return str(longrepr or "")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        reason = _reason(report)
        if not reason.startswith(NOT_APPLICABLE):
            report.outcome = "failed"
            report.longrepr = f"skipped in CI, where every prerequisite must be installed: {reason}"
    return report


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    not_applicable = [r for r in skipped if _reason(r).startswith(NOT_APPLICABLE)]
    terminalreporter.write_line(
        f"skips: {len(skipped)} ({len(not_applicable)} not applicable on this machine,"
        f" {len(skipped) - len(not_applicable)} for a missing prerequisite"
        f"{', each a failure in CI' if IN_CI else ''})"
    )
