"""The pure grading functions of analysis.verify on hand-made responses, rule by rule (docs/test-types.md
§3.3 "What warns and what fails")."""

from __future__ import annotations

import json

import pytest

from analysis.verify.checks import Check, type_grade, worst
from analysis.verify.grading import (
    check_date_fresh,
    grade_response,
    parse_http_date,
)
from analysis.verify.response import Response
from analysis.verify.rules import QUERY_CASES, QueryCase

URL = "http://app/x"
DATE = "Sat, 21 Nov 2026 19:58:11 GMT"
GOOD_HEADERS = {
    "json": "application/json",
    "plaintext": "text/plain",
    "db": "application/json",
    "queries": "application/json",
    "updates": "application/json",
    "fortunes": "text/html; charset=utf-8",
}
CASE_2 = QUERY_CASES[0]
CASE_501 = next(c for c in QUERY_CASES if c.value == "501")


def response(test_type: str, body: bytes | str, *, drop: tuple[str, ...] = (), **headers: str) -> Response:
    if isinstance(body, str):
        body = body.encode()
    values = {
        "Server": "test",
        "Date": DATE,
        "Content-Type": GOOD_HEADERS[test_type],
        "Content-Length": str(len(body)),
    }
    values |= {k.replace("_", "-"): v for k, v in headers.items()}
    return Response(URL, 200, [(k, v) for k, v in values.items() if k not in drop], body, 1.0)


def grades(checks: list[Check]) -> dict[str, str]:
    """The worst grade per check name."""
    by_name: dict[str, list[Check]] = {}
    for check in checks:
        by_name.setdefault(check.name, []).append(check)
    return {name: type_grade(cs) for name, cs in by_name.items()}


def non_passing(checks: list[Check]) -> dict[str, str]:
    return {name: grade for name, grade in grades(checks).items() if grade != "pass"}


def world(i: int = 5, n: int = 77) -> dict[str, int]:
    return {"id": i, "randomNumber": n}


def test_worst_and_type_grade() -> None:
    assert worst([]) == "pass"
    assert worst(["pass", "warn"]) == "warn"
    assert worst(["warn", "fail", "pass"]) == "fail"
    assert type_grade([]) == "fail"  # nothing checked is not a pass


# --- headers ------------------------------------------------------------------------------------------------


def test_a_correct_json_response_passes_every_check() -> None:
    checks = grade_response("json", response("json", '{"message":"Hello, World!"}'))
    assert grades(checks) == {n: "pass" for n in ("status", "headers", "date-format", "content-type", "body")}


@pytest.mark.parametrize("header", ["Server", "Date", "Content-Type"])
def test_a_missing_required_header_fails(header: str) -> None:
    checks = grade_response("json", response("json", '{"message":"Hello, World!"}', drop=(header,)))
    assert non_passing(checks) == {"headers": "fail"}
    assert header in next(c.reason for c in checks if c.name == "headers")


def test_no_size_header_fails_but_transfer_encoding_is_enough() -> None:
    body = '{"message":"Hello, World!"}'
    assert non_passing(grade_response("json", response("json", body, drop=("Content-Length",)))) == {
        "headers": "fail"
    }
    chunked = response("json", body, drop=("Content-Length",), Transfer_Encoding="chunked")
    assert non_passing(grade_response("json", chunked)) == {}


def test_a_non_200_status_fails_and_stops_there() -> None:
    resp = Response(URL, 500, [("Server", "x")], b"Internal Server Error", 1.0)
    checks = grade_response("json", resp)
    assert [(c.name, c.grade) for c in checks] == [("status", "fail")]
    assert "500" in checks[0].reason and "Internal Server Error" in checks[0].reason


def test_a_transport_error_fails() -> None:
    checks = grade_response("db", Response(URL, error="no response within 20 s"))
    assert [(c.name, c.grade, c.reason) for c in checks] == [("request", "fail", "no response within 20 s")]


@pytest.mark.parametrize(
    "value",
    [
        "Sat, 21 Nov 2026 19:58:11 UTC",  # not GMT
        "Saturday, 21-Nov-26 19:58:11 GMT",  # RFC 850, obsolete
        "Sat Nov 21 19:58:11 2026",  # asctime
        "Mon, 21 Nov 2026 19:58:11 GMT",  # wrong weekday
        "Sat, 31 Nov 2026 19:58:11 GMT",  # no such day
        "1763755091",
    ],
)
def test_an_unparseable_date_warns(value: str) -> None:
    assert parse_http_date(value) is None
    checks = grade_response("json", response("json", '{"message":"Hello, World!"}', Date=value))
    assert non_passing(checks) == {"date-format": "warn"}


def test_http_date_parses() -> None:
    parsed = parse_http_date(DATE)
    assert parsed is not None and (parsed.year, parsed.hour, parsed.second) == (2026, 19, 11)


@pytest.mark.parametrize(
    ("test_type", "value", "grade"),
    [
        ("json", "application/json", "pass"),
        ("json", "application/json; charset=utf-8", "pass"),
        ("json", "application/json;charset=UTF-8", "pass"),
        ("json", "text/plain", "fail"),
        ("json", "application/json; charset=iso-8859-1", "fail"),
        ("json", "application/json; charset=utf-8; x=y", "fail"),
        ("json", "application/problem+json", "fail"),
        ("plaintext", "text/plain", "pass"),
        ("plaintext", "text/plain; charset=utf-8", "pass"),
        ("plaintext", "text/html", "fail"),
        ("db", "text/html; charset=utf-8", "fail"),
        ("fortunes", "text/html; charset=utf-8", "pass"),
        ("fortunes", "text/html;charset=UTF-8", "pass"),
        ("fortunes", "text/html", "fail"),  # the charset is required here
        ("fortunes", "application/json; charset=utf-8", "fail"),
    ],
)
def test_content_type_per_type(test_type: str, value: str, grade: str) -> None:
    bodies = {
        "json": '{"message":"Hello, World!"}',
        "plaintext": "Hello, World!",
        "db": json.dumps(world()),
    }
    if test_type == "fortunes":
        from analysis.verify.fortunes import expected_page

        body = expected_page()
    else:
        body = bodies[test_type]
    checks = grade_response(test_type, response(test_type, body, Content_Type=value))
    assert grades(checks)["content-type"] == grade
    assert non_passing(checks) == ({} if grade == "pass" else {"content-type": "fail"})


# --- bodies -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "grade"),
    [
        ('{"message":"Hello, World!"}', "pass"),
        ('{"message": "Hello, World!"}', "pass"),
        ('{"message":"Hello, World!","extra":1}', "warn"),
        ('{"message":"hello, world!"}', "fail"),
        ('{"message":null}', "fail"),
        ('{"msg":"Hello, World!"}', "fail"),
        ('["Hello, World!"]', "fail"),
        ('{"message":"Hello, World!"', "fail"),
        ("", "fail"),
    ],
)
def test_json_body(body: str, grade: str) -> None:
    assert grades(grade_response("json", response("json", body)))["body"] == grade


@pytest.mark.parametrize(
    ("body", "grade"),
    [
        (b"Hello, World!", "pass"),
        (b"Hello, World!\n", "warn"),
        (b"Hello, World!\r\n", "warn"),
        (b"Hello, World", "fail"),
        (b"hello, world!", "fail"),
        (b"", "fail"),
    ],
)
def test_plaintext_body(body: bytes, grade: str) -> None:
    checks = grade_response("plaintext", response("plaintext", body))
    assert non_passing(checks) == ({} if grade == "pass" else {"body": grade})


@pytest.mark.parametrize(
    ("obj", "grade"),
    [
        (world(1, 1), "pass"),
        (world(10000, 10000), "pass"),
        (world(10001, 5), "warn"),
        (world(0, 5), "warn"),
        (world(5, 10001), "warn"),
        ({**world(), "extra": 1}, "warn"),
        ({"id": 5}, "fail"),
        ({"id": 5, "randomnumber": 5}, "fail"),
        ({"id": None, "randomNumber": 5}, "fail"),
        ({"id": 5, "randomNumber": None}, "fail"),
        ({"id": "5", "randomNumber": 5}, "fail"),
        ({"id": 5.5, "randomNumber": 5}, "fail"),
        ({"id": True, "randomNumber": 5}, "fail"),
        ([world()], "fail"),  # one object, not an array
    ],
)
def test_db_body(obj: object, grade: str) -> None:
    checks = grade_response("db", response("db", json.dumps(obj)))
    assert non_passing(checks) == ({} if grade == "pass" else {"body": grade})


def test_db_body_rejects_nan() -> None:
    checks = grade_response("db", response("db", '{"id": NaN, "randomNumber": 5}'))
    assert non_passing(checks) == {"body": "fail"}


@pytest.mark.parametrize(
    ("case", "length", "grade"),
    [
        (CASE_2, 2, "pass"),
        (CASE_2, 1, "fail"),
        (CASE_2, 3, "fail"),
        (QueryCase("0", 1, "fail"), 0, "fail"),
        (QueryCase("-1", 1, "fail"), 0, "fail"),
        (QueryCase("foo", 1, "fail"), 1, "pass"),
        (QueryCase("", 1, "fail"), 2, "fail"),
        (CASE_501, 500, "pass"),
        (CASE_501, 501, "warn"),  # a wrong length warns only for 501
        (CASE_501, 499, "warn"),
    ],
)
def test_query_array_length(case: QueryCase, length: int, grade: str) -> None:
    body = json.dumps([world(i + 1) for i in range(length)])
    checks = grade_response("queries", response("queries", body), case)
    assert non_passing(checks) == ({} if grade == "pass" else {"body": grade})


def test_query_array_objects_are_each_checked() -> None:
    body = json.dumps([world(1), {"id": 2, "randomNumber": None}, world(3, 20000)])
    checks = grade_response("queries", response("queries", body), QueryCase("3", 3, "fail"))
    bad = {c.grade: c.reason for c in checks if c.name == "body"}
    assert set(bad) == {"fail", "warn"}
    assert "[1] randomNumber is null" in bad["fail"] and "[2] randomNumber 20000" in bad["warn"]


def test_query_object_instead_of_array_fails() -> None:
    checks = grade_response("updates", response("updates", json.dumps(world())), CASE_2)
    assert non_passing(checks) == {"body": "fail"}


# --- Date freshness -----------------------------------------------------------------------------------------


def test_date_fresh() -> None:
    first = response("json", "{}", Date="Sat, 21 Nov 2026 19:58:11 GMT")
    later = Response(URL, 200, [("Date", "Sat, 21 Nov 2026 19:58:14 GMT")], b"", first.received_at + 3.01)
    same = Response(URL, 200, [("Date", first.header("Date") or "")], b"", first.received_at + 3.01)
    too_soon = Response(URL, 200, later.headers, b"", first.received_at + 1)
    assert check_date_fresh(first, later).grade == "pass"
    cached = check_date_fresh(first, same)
    assert cached.grade == "fail" and "cached" in cached.reason
    assert check_date_fresh(first, too_soon).grade == "fail"
    assert check_date_fresh(first, Response(URL, error="refused")).grade == "fail"
