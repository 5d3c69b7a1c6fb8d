"""The lookup type's grading, pure (docs/test-types.md §2.6 "The lookup", §3.5 "Database-hit check"): the
answer's body against each case, and the database-hit load's bound on rows and its index check."""

from __future__ import annotations

import json

import pytest

from analysis.verify.db_checks import grade_db_hits
from analysis.verify.grading import check_lookup_body
from analysis.verify.load import LoadResult
from analysis.verify.response import Response
from analysis.verify.rules import INDEX_EXAMINED_MAX, LOOKUP_CASES, LookupCase
from analysis.verify.sql import counter_keys, examined_unit
from labcore import demo_data

ZERO = dict.fromkeys(counter_keys(), 0)
LOAD = LoadResult("http://app/lookup", 512, 512, 512, 1.0)
PRESENT = LOOKUP_CASES[1]


def response(body: object) -> Response:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return Response(url="http://app/lookup", status=200, headers=[], body=raw, error=None, received_at=0.0)


def grade(body: object, case: LookupCase) -> str:
    checks = check_lookup_body(response(body), case)
    return max((c.grade for c in checks), key=["pass", "warn", "fail"].index)


def test_the_cases_ask_a_present_a_case_swapped_an_absent_and_a_bad_name() -> None:
    drawn, present, swapped, absent, bad = LOOKUP_CASES
    assert drawn == LookupCase("", None, None)
    assert present.name == demo_data.name(1) and present.found is True
    assert swapped.name == demo_data.name(1).swapcase() != demo_data.name(1) and swapped.found is False
    assert absent.name == demo_data.absent_name() and absent.found is False
    assert bad.query == "?name=%00" and bad.name == "\x00" and bad.found is False


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"name": demo_data.name(1), "found": True}, "pass"),
        ({"name": demo_data.name(1), "found": False}, "fail"),
        ({"name": demo_data.name(1), "found": 1}, "fail"),
        ({"name": "someone else", "found": True}, "fail"),
        ({"found": True}, "fail"),
        ([{"name": demo_data.name(1), "found": True}], "fail"),
        (b"not json", "fail"),
        ({"name": demo_data.name(1), "found": True, "id": 1}, "warn"),
    ],
)
def test_an_answer_about_the_present_name(body: object, expected: str) -> None:
    assert grade(body, PRESENT) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("a", "pass"),
        ("Z9_-" * 63 + "abc", "pass"),
        ("", "fail"),
        ("a" * 256, "fail"),
        ("a b", "fail"),
        (7, "fail"),
    ],
)
def test_a_drawn_name_is_1_to_255_letters_of_the_alphabet(name: object, expected: str) -> None:
    assert grade({"name": name, "found": False}, LOOKUP_CASES[0]) == expected


def counters(calls: int, rows: int, examined: int) -> dict[str, int]:
    return {**ZERO, "demo_data_calls": calls, "demo_data_rows_read": rows, "demo_data_examined": examined}


def graded(after: dict[str, int], unit: str) -> dict[str, str]:
    return {c.name: c.grade for c in grade_db_hits("lookup", ZERO, after, LOAD, True, unit)}


@pytest.mark.parametrize("unit", ["rows", "blocks"])
def test_one_indexed_statement_per_request_passes(unit: str) -> None:
    # 3 of 512 names found; an index lookup examines at most its bound per statement.
    examined = {"rows": 3, "blocks": 512 * 4 + 3}[unit]
    assert set(graded(counters(512, 3, examined), unit).values()) == {"pass"}


@pytest.mark.parametrize(("unit", "examined"), [("rows", 512 * 20_000), ("blocks", 512 * 400)])
def test_a_scan_fails_the_index_check(unit: str, examined: int) -> None:
    grades = graded(counters(512, 3, examined), unit)
    assert grades["db-hits: index"] == "fail" and grades["db-hits: queries"] == "pass"


def test_more_rows_than_requests_fail() -> None:
    assert graded(counters(512, 513, 513), "rows")["db-hits: rows read"] == "fail"


def test_a_missing_statement_fails() -> None:
    grades = graded(counters(400, 3, 400), "rows")
    assert grades["db-hits: queries"] == "fail"


def test_the_bound_is_in_the_unit_the_snapshot_names() -> None:
    assert examined_unit({"examined": "rows"}) == "rows" and examined_unit({}) == "blocks"
    assert INDEX_EXAMINED_MAX["rows"] == 1.0
    with pytest.raises(ValueError, match="examined"):
        examined_unit({"examined": "pages"})
