"""labcore/host_checks.py: each app host's own HTTP grades (behind a balancer) merged into the framework's."""

from __future__ import annotations

import json

from labcore.host_checks import merge_host_grades

GRADES = {"json": "pass", "db": "pass", "queries": "warn"}
SWEPT = ["json", "db", "queries"]


def _host(name: str, grades: dict[str, str] | None, rc: int = 0, stderr: str = "") -> dict[str, object]:
    stdout = json.dumps({"grades": grades, "load": []}) if grades is not None else ""
    return {"host": name, "url": f"http://{name}:8080", "rc": rc, "stdout": stdout, "stderr": stderr}


def test_hosts_that_all_pass_change_nothing() -> None:
    merged = merge_host_grades(GRADES, SWEPT, "", [_host("app1", GRADES), _host("app2", GRADES)])
    assert merged == {"grades": GRADES, "swept": SWEPT, "reason": ""}


def test_a_type_one_host_fails_fails_the_framework_naming_the_host() -> None:
    wrong = {**GRADES, "db": "fail"}
    merged = merge_host_grades(GRADES, SWEPT, "", [_host("app1", GRADES), _host("app2", wrong)])
    assert merged["grades"] == {**GRADES, "db": "fail"}
    assert merged["swept"] == ["json", "queries"]
    assert merged["reason"] == (
        "app host app2 (http://app2:8080) fails db when checked alone (verify/<framework>/hosts/app2.json)"
    )


def test_a_host_that_cannot_be_checked_fails_every_type_and_keeps_the_earlier_reason() -> None:
    merged = merge_host_grades(
        {**GRADES, "queries": "fail"},
        ["json", "db"],
        "queries failed: 3 problems",
        [_host("app1", None, rc=1, stderr="Traceback\nConnectionRefusedError: [Errno 111]")],
    )
    assert merged["grades"] == dict.fromkeys(GRADES, "fail")
    assert merged["swept"] == []
    assert merged["reason"].splitlines() == [
        "queries failed: 3 problems",
        "app host app1 (http://app1:8080) could not be checked alone: ConnectionRefusedError: [Errno 111]",
    ]
