"""Pure grading of HTTP responses: a Response in, the checks it earns out (docs/test-types.md §2 "Test types",
§3 "Verification").

Grades follow docs/test-types.md §3.3 "What warns and what fails": warn for extra JSON keys, a plaintext body
longer than 13 bytes, an unparseable Date, a db id outside 1..10000, a wrong array length for the 501 case and
extra keys beside a lookup's name and found; fail for everything else the rules require. A randomNumber
outside 1..10000 is a warn too, like an id (the reference warns on both).
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any

from labcore import demo_data, test_types

from .checks import Check, Grade, failed, passed, warned
from .fortunes import first_difference
from .response import Response
from .rules import (
    CONTENT_TYPES,
    DATE_FRESH_S,
    HELLO,
    MAX_ID,
    MIN_ID,
    REQUIRED_HEADERS,
    SIZE_HEADERS,
    LookupCase,
    QueryCase,
)

_WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_IMF_FIXDATE = re.compile(
    rf"^({'|'.join(_WEEKDAYS)}), (\d\d) ({'|'.join(_MONTHS)}) (\d{{4}}) (\d\d):(\d\d):(\d\d) GMT$"
)
_EXAMPLE_DATE = "Sun, 06 Nov 1994 08:49:37 GMT"
_WORLD_KEYS = ("id", "randomNumber")
# How many bad objects of an array a reason quotes; the count covers all of them.
_QUOTED_OBJECTS = 3


def excerpt(body: bytes, limit: int = 160) -> str:
    text = body[:limit].decode("utf-8", errors="replace")
    return repr(text + ("..." if len(body) > limit else ""))


def parse_http_date(value: str) -> dt.datetime | None:
    """An IMF-fixdate (the HTTP-date format servers must send), or None when it is not one."""
    match = _IMF_FIXDATE.match(value)
    if not match:
        return None
    weekday, day, month, year, hour, minute, second = match.groups()
    try:
        when = dt.datetime(
            int(year), _MONTHS.index(month) + 1, int(day), int(hour), int(minute), int(second), tzinfo=dt.UTC
        )
    except ValueError:
        return None
    return when if _WEEKDAYS[when.weekday()] == weekday else None


# --- headers ----------------------------------------------------------------------------------------------


def check_headers(resp: Response) -> list[Check]:
    """Server, Date, Content-Type, and Content-Length or Transfer-Encoding must all be there."""
    missing = [name for name in REQUIRED_HEADERS if resp.header(name) is None]
    if all(resp.header(name) is None for name in SIZE_HEADERS):
        missing.append(" or ".join(SIZE_HEADERS))
    if missing:
        return [failed("headers", resp.url, f"missing required header(s): {', '.join(missing)}")]
    size = next(f"{n}: {resp.header(n)}" for n in SIZE_HEADERS if resp.header(n) is not None)
    return [passed("headers", resp.url, f"Server: {resp.header('Server')}, {size}")]


def check_date_format(resp: Response) -> list[Check]:
    date = resp.header("Date")
    if date is None:
        return []  # already a failed "headers" check
    if parse_http_date(date) is None:
        return [warned("date-format", resp.url, f"Date {date!r} is not an HTTP-date like {_EXAMPLE_DATE!r}")]
    return [passed("date-format", resp.url, date)]


def check_content_type(resp: Response, test_type: str) -> list[Check]:
    value = resp.header("Content-Type")
    if value is None:
        return []  # already a failed "headers" check
    rule = CONTENT_TYPES[test_type]
    wanted = (
        f"{rule.media_type}; charset=utf-8"
        if rule.charset_required
        else f"{rule.media_type}[; charset=utf-8]"
    )
    media, *params = (part.strip() for part in value.split(";"))
    charsets = [
        p.split("=", 1)[1].strip().strip('"').lower() for p in params if p.lower().startswith("charset=")
    ]
    others = [p for p in params if not p.lower().startswith("charset=")]
    problem = None
    if media.lower() != rule.media_type:
        problem = f"media type {media!r}"
    elif others or len(charsets) > 1:
        problem = "parameters other than one charset"
    elif charsets and charsets[0] != "utf-8":
        problem = f"charset {charsets[0]!r}"
    elif rule.charset_required and not charsets:
        problem = "no charset (required for this type)"
    if problem:
        return [failed("content-type", resp.url, f"{value!r}: {problem}; expected {wanted!r}")]
    return [passed("content-type", resp.url, value)]


# --- bodies -----------------------------------------------------------------------------------------------


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(body: bytes) -> tuple[Any, str | None]:
    """The decoded body, or an error text (empty body, invalid JSON, NaN/Infinity)."""
    if not body.strip():
        return None, "empty body"
    try:
        return json.loads(body, parse_constant=_reject_constant), None
    except ValueError as e:
        return None, f"invalid JSON ({e}): {excerpt(body)}"


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= 60 else text[:57] + "..."


def world_problems(obj: Any) -> list[tuple[Grade, str]]:
    """What is wrong with one {"id": N, "randomNumber": M} object."""
    if not isinstance(obj, dict):
        return [("fail", f'expected an object {{"id": N, "randomNumber": M}}, got {_short(obj)}')]
    problems: list[tuple[Grade, str]] = []
    for key in _WORLD_KEYS:
        if key not in obj:
            problems.append(("fail", f"missing key {key!r} in {_short(obj)}"))
            continue
        value = obj[key]
        if value is None:
            problems.append(("fail", f"{key} is null"))
        elif isinstance(value, bool) or not isinstance(value, int):
            problems.append(("fail", f"{key} is not an integer: {_short(value)}"))
        elif not MIN_ID <= value <= MAX_ID:
            problems.append(("warn", f"{key} {value} is outside {MIN_ID}..{MAX_ID}"))
    extra = sorted(set(obj) - set(_WORLD_KEYS))
    if extra:
        problems.append(("warn", f"extra key(s) {', '.join(map(repr, extra))}"))
    return problems


def check_json_body(resp: Response) -> list[Check]:
    data, error = parse_json(resp.body)
    if error:
        return [failed("body", resp.url, error)]
    if not isinstance(data, dict):
        return [failed("body", resp.url, f'expected the object {{"message": "{HELLO}"}}, got {_short(data)}')]
    if data.get("message") != HELLO:
        return [failed("body", resp.url, f"message is {_short(data.get('message'))}, expected {HELLO!r}")]
    extra = sorted(set(data) - {"message"})
    if extra:
        return [warned("body", resp.url, f"extra key(s) {', '.join(map(repr, extra))} beside 'message'")]
    return [passed("body", resp.url, resp.body.decode("utf-8", errors="replace"))]


def check_plaintext_body(resp: Response) -> list[Check]:
    hello = HELLO.encode()
    if resp.body == hello:
        return [passed("body", resp.url, f"{HELLO!r} ({len(hello)} bytes)")]
    if hello in resp.body:
        extra = len(resp.body) - len(hello)
        return [
            warned(
                "body", resp.url, f"{excerpt(resp.body)}: {extra} byte(s) beyond the {len(hello)} required"
            )
        ]
    return [failed("body", resp.url, f"expected exactly {HELLO!r}, got {excerpt(resp.body)}")]


def check_db_body(resp: Response) -> list[Check]:
    data, error = parse_json(resp.body)
    if error:
        return [failed("body", resp.url, error)]
    if isinstance(data, list):
        return [failed("body", resp.url, f"expected one object, got an array: {_short(data)}")]
    problems = world_problems(data)
    if not problems:
        return [passed("body", resp.url, _short(data))]
    return [Check("body", grade, resp.url, text) for grade, text in problems]


def check_world_list_body(resp: Response, case: QueryCase) -> list[Check]:
    data, error = parse_json(resp.body)
    if error:
        return [failed("body", resp.url, error)]
    if not isinstance(data, list):
        return [
            failed(
                "body", resp.url, f"expected an array of {case.expected_len} object(s), got {_short(data)}"
            )
        ]
    checks = []
    if len(data) != case.expected_len:
        checks.append(
            Check(
                "body",
                case.length_grade,
                resp.url,
                f"array of {len(data)} object(s), expected {case.expected_len} for queries={case.value!r}",
            )
        )
    by_grade: dict[Grade, list[str]] = {}
    for index, obj in enumerate(data):
        for grade, text in world_problems(obj):
            by_grade.setdefault(grade, []).append(f"[{index}] {text}")
    for grade, texts in sorted(by_grade.items()):
        quoted = "; ".join(texts[:_QUOTED_OBJECTS]) + ("; ..." if len(texts) > _QUOTED_OBJECTS else "")
        checks.append(Check("body", grade, resp.url, f"{len(texts)} problem(s) in the objects: {quoted}"))
    if not checks:
        checks.append(passed("body", resp.url, f"array of {len(data)} valid object(s)"))
    return checks


def check_fortunes_body(resp: Response) -> list[Check]:
    try:
        page = resp.body.decode("utf-8")
    except UnicodeDecodeError as e:
        return [failed("body", resp.url, f"not UTF-8: {e}")]
    difference = first_difference(page)
    if difference:
        return [failed("body", resp.url, f"the page differs after normalization at {difference}")]
    return [passed("body", resp.url, "the 13 fortunes, sorted and escaped")]


_LOOKUP_KEYS = ("name", "found")
_NAME_LETTERS = frozenset(demo_data.NAME_ALPHABET)


def check_lookup_body(resp: Response, case: LookupCase) -> list[Check]:
    """{"name": ..., "found": ...}: the name asked (a drawn one of the alphabet, 1..255 long, when the request
    named none) and whether a row has it, as the case expects."""
    data, error = parse_json(resp.body)
    if error:
        return [failed("body", resp.url, error)]
    if not isinstance(data, dict) or any(key not in data for key in _LOOKUP_KEYS):
        return [
            failed("body", resp.url, f'expected {{"name": ..., "found": true|false}}, got {_short(data)}')
        ]
    name, found = data["name"], data["found"]
    if not isinstance(found, bool):
        return [failed("body", resp.url, f"found is {_short(found)}, expected true or false")]
    if case.name is None:
        if not isinstance(name, str) or not 1 <= len(name) <= demo_data.NAME_MAX or set(name) - _NAME_LETTERS:
            return [
                failed(
                    "body",
                    resp.url,
                    f"the drawn name {_short(name)} is not 1..{demo_data.NAME_MAX} characters of"
                    f" {demo_data.NAME_ALPHABET!r}",
                )
            ]
    elif name != case.name:
        return [
            failed("body", resp.url, f"name is {_short(name)}, expected the name asked, {_short(case.name)}")
        ]
    if case.found is not None and found != case.found:
        what = "a row has" if case.found else "no row has"
        return [failed("body", resp.url, f"found is {_short(found)}, but {what} this name")]
    checks = [passed("body", resp.url, _short(data))]
    extra = sorted(set(data) - set(_LOOKUP_KEYS))
    if extra:
        checks = [
            warned("body", resp.url, f"extra key(s) {', '.join(map(repr, extra))} beside name and found")
        ]
    return checks


_BODY_GRADERS = {
    "message": check_json_body,
    "text": check_plaintext_body,
    "world": check_db_body,
    "fortunes": check_fortunes_body,
}


def check_body(test_type: str, resp: Response, case: QueryCase | LookupCase | None = None) -> list[Check]:
    """The body against what the registry says the type answers (labcore/test_types.py, `body`)."""
    body = test_types.get(test_type).body
    if body == "worlds":
        if not isinstance(case, QueryCase):
            raise ValueError(f"{test_type}: a query case is needed to grade the body")
        return check_world_list_body(resp, case)
    if body == "lookup":
        if not isinstance(case, LookupCase):
            raise ValueError(f"{test_type}: a lookup case is needed to grade the body")
        return check_lookup_body(resp, case)
    if body is None:
        raise ValueError(
            f"{test_type}: a scenario type, checked by apps/_common/scenarios.py, not graded here"
        )
    return _BODY_GRADERS[body](resp)


# --- one response, and the Date of two --------------------------------------------------------------------


def grade_response(test_type: str, resp: Response, case: QueryCase | LookupCase | None = None) -> list[Check]:
    """Every check of one response: status, then headers, Date format, Content-Type and body."""
    if resp.error is not None:
        return [failed("request", resp.url, resp.error)]
    if resp.status != 200:
        return [failed("status", resp.url, f"status {resp.status}, expected 200; body {excerpt(resp.body)}")]
    return [
        passed("status", resp.url, "200"),
        *check_headers(resp),
        *check_date_format(resp),
        *check_content_type(resp, test_type),
        *check_body(test_type, resp, case),
    ]


def check_date_fresh(first: Response, second: Response) -> Check:
    """Two responses at least DATE_FRESH_S apart must not carry the same Date (a cached Date fails)."""
    url = second.url
    if second.error is not None or second.status != 200:
        what = second.error or f"status {second.status}"
        return failed("date-fresh", url, f"the second request failed ({what}): nothing to compare")
    dates = first.header("Date"), second.header("Date")
    if dates[0] is None or dates[1] is None:
        return failed("date-fresh", url, "no Date header to compare")
    gap = second.received_at - first.received_at
    if gap < DATE_FRESH_S:
        return failed(
            "date-fresh", url, f"the two requests were only {gap:.1f} s apart (need {DATE_FRESH_S} s)"
        )
    if dates[0] == dates[1]:
        return failed(
            "date-fresh", url, f"the same Date {dates[0]!r} on two requests {gap:.1f} s apart: cached"
        )
    return passed("date-fresh", url, f"{dates[0]!r} then {dates[1]!r}, {gap:.1f} s apart")
