"""apps/_common/scenarios.py without servers: the parameter rule, the workload, the answer checks."""

from __future__ import annotations

import asyncio
import json

import pytest

from .scenario_support import import_scenarios

scenarios = import_scenarios()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, 3), ("", 3), ("foo", 3), ("2", 3), ("-1", 3), ("3", 3), ("7", 7), ("+7", 7), ("10", 10),
        ("11", 10), ("9" * 5000, 10), ("-" + "9" * 5000, 3), ("2.5", 3), (" 5", 3), ("5 ", 3), ("1_0", 3),
        ("\uff15", 3), ("\u0665", 3), ("0x5", 3),
    ],
)  # fmt: skip
def test_clamped_int(raw: str | None, expected: int) -> None:
    assert scenarios.clamped_int(raw, 3, 10) == expected


def test_bounds_of_each_parameter() -> None:
    assert (scenarios.sleep_ms("-1"), scenarios.sleep_ms("123456")) == (0, scenarios.SLEEP_MS_MAX)
    assert (scenarios.cpu_n("0"), scenarios.cpu_n("123456789")) == (1, scenarios.CPU_N_MAX)
    assert (scenarios.upstream_ms("x"), scenarios.upstream_ms("99999")) == (0, scenarios.UPSTREAM_MS_MAX)


def test_cpu_work_is_fixed() -> None:
    assert [scenarios.cpu_work(n) for n in (1, 2, 3, 4)] == [0, 1, 33, 1026]
    assert scenarios.cpu_work(20000) == scenarios.cpu_work(20000)
    assert json.loads(scenarios.cpu("4")) == {"n": 4, "result": 1026}


def test_sleep_handlers() -> None:
    assert json.loads(scenarios.sleep_sync("1")) == {"slept_ms": 1}
    assert json.loads(asyncio.run(scenarios.sleep_async("junk"))) == {"slept_ms": 0}


def test_upstream_without_a_url_is_a_503() -> None:
    """The controller's environment has no LAB_UPSTREAM_URL: the route says so instead of failing."""
    assert scenarios.UPSTREAM_URL == ""
    status, body = scenarios.upstream_sync("5")
    assert status == 503 and "LAB_UPSTREAM_URL" in json.loads(body)["error"]
    status, body = asyncio.run(scenarios.upstream_async("5", "sync"))
    assert status == 503
    assert asyncio.run(scenarios.upstream_async("5"))[0] == 503


def test_upstream_url_from_the_environment() -> None:
    assert scenarios.upstream_url({"LAB_UPSTREAM_URL": "http://10.0.0.5:8091/"}) == "http://10.0.0.5:8091"
    assert scenarios.upstream_url({}) == ""


@pytest.mark.parametrize(
    ("native", "client", "expected"),
    [("sync", None, "sync"), ("sync", "async", "sync"), ("async", None, "async"), ("async", "sync", "sync"),
     ("async", "other", "async")],
)  # fmt: skip
def test_expected_upstream_client(native: str, client: str | None, expected: str) -> None:
    body = scenarios.expected_body("/upstream", {"ms": "7", "client": client}, native)
    assert body == {"client": expected, "ms": 7}


def test_answer_problems() -> None:
    good = b'{"client":"async","ms":5,"upstream":{"delay_ms":5,"message":"Hello from upstream"}}'
    check = scenarios.answer_problems
    assert check("/upstream", {"ms": "5"}, "async", 200, "application/json", good) == []
    assert check("/upstream", {"ms": "6"}, "async", 200, "application/json", good)
    assert check("/upstream", {"ms": "5"}, "sync", 200, "application/json", good)
    assert (
        check("/sleep", {"ms": "5"}, "sync", 200, "application/json; charset=utf-8", b'{"slept_ms":5}') == []
    )
    assert check("/sleep", {"ms": "5"}, "sync", 200, "text/plain", b'{"slept_ms":5}')
    assert check("/sleep", {"ms": "5"}, "sync", 500, "application/json", b'{"slept_ms":5}')
    assert check("/sleep", {"ms": "5"}, "sync", 200, "application/json", b"not json")
    assert check("/cpu", {"n": "4"}, "sync", 200, "application/json", b'{"n":4,"result":1026}') == []
    assert check("/cpu", {"n": "4"}, "sync", 200, "application/json", b'{"n":4,"result":1025}')
    with pytest.raises(ValueError, match="route must be one of"):
        scenarios.expected_body("/json", {}, "sync")


def test_check_command_without_a_server() -> None:
    """The check names the route and the address when nothing answers (no exception, a fail grade)."""
    problems = scenarios.check_routes("http://127.0.0.1:9", {"sleep": "/sleep?ms=1"}, "sync", timeout=2)
    assert problems["sleep"] and "/sleep: no answer from http://127.0.0.1:9" in problems["sleep"][0]
    with pytest.raises(SystemExit):
        scenarios.main(["check", "http://127.0.0.1:9", "--native", "sync", "no-equals-sign"])
