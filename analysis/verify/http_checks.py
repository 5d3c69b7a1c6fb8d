"""The HTTP part of verification: ask every test type what the rules ask, grade each answer.

Per type: the main request (for queries/updates the first `queries` case), the other cases, then the main
request again once DATE_FRESH_S have passed since the first answer, for the Date freshness check. The types
run side by side, so the wait happens once per framework. When the main request gets no 200, the rest of
that type is not sent: a server that cannot answer once would only add timeouts.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from labcore import test_types

from .checks import Check, failed, type_grade
from .fetch import fetch
from .grading import check_date_fresh, grade_response, parse_json
from .response import Response
from .rules import (
    DATE_FRESH_S,
    LOOKUP_CASES,
    PATHS,
    QUERY_CASES,
    QUERY_TYPES,
    UPDATE_CHECK_CASE,
    LookupCase,
    QueryCase,
    accept_header,
)

Fetcher = Callable[[str, str, float], Response]


@dataclass
class HttpResult:
    base_url: str
    checks: dict[str, list[Check]]
    # The ids the updates request for 501 rows answered with (None when it gave no usable array).
    updates_ids: list[int] | None = None
    seconds: float = 0.0
    started: float = field(default_factory=time.time)

    def grades(self) -> dict[str, str]:
        return {t: type_grade(checks) for t, checks in self.checks.items()}

    def to_json(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "started": round(self.started, 3),
            "seconds": round(self.seconds, 3),
            "grades": self.grades(),
            "checks": {t: [c.to_json() for c in checks] for t, checks in self.checks.items()},
            "updates_ids": self.updates_ids,
        }

    @classmethod
    def from_json(cls, obj: Mapping[str, Any]) -> HttpResult:
        ids = obj.get("updates_ids")
        return cls(
            base_url=str(obj["base_url"]),
            checks={str(t): [Check.from_json(c) for c in cs] for t, cs in obj["checks"].items()},
            updates_ids=None if ids is None else [int(i) for i in ids],
            seconds=float(obj.get("seconds") or 0.0),
            started=float(obj.get("started") or 0.0),
        )


def requests_of(base_url: str, test_type: str) -> list[tuple[str, QueryCase | LookupCase | None]]:
    """The URLs a type is asked, main request first, with the case each stands for."""
    base = base_url.rstrip("/")
    if test_type in QUERY_TYPES:
        return [(f"{base}{PATHS[test_type]}{case.value}", case) for case in QUERY_CASES]
    if test_types.get(test_type).body == "lookup":
        return [(f"{base}{PATHS[test_type]}{case.query}", case) for case in LOOKUP_CASES]
    return [(f"{base}{PATHS[test_type]}", None)]


def _returned_ids(resp: Response) -> list[int] | None:
    if resp.error is not None or resp.status != 200:
        return None
    data, error = parse_json(resp.body)
    if error or not isinstance(data, list):
        return None
    return [o["id"] for o in data if isinstance(o, dict) and type(o.get("id")) is int]


def verify_type(
    base_url: str, test_type: str, timeout: float, fetcher: Fetcher = fetch
) -> tuple[list[Check], list[int] | None]:
    """All HTTP checks of one type, and the ids of the 501 updates request (updates only)."""
    accept = accept_header(test_type)
    (main_url, main_case), *others = requests_of(base_url, test_type)
    first = fetcher(main_url, accept, timeout)
    checks = grade_response(test_type, first, main_case)
    if first.error is not None or first.status != 200:
        checks.append(failed("skipped", main_url, "the other requests of this type were not sent"))
        return checks, None
    ids = None
    for url, case in others:
        resp = fetcher(url, accept, timeout)
        checks += grade_response(test_type, resp, case)
        if test_type == "updates" and isinstance(case, QueryCase) and case.value == UPDATE_CHECK_CASE:
            ids = _returned_ids(resp)
    time.sleep(max(0.0, first.received_at + DATE_FRESH_S - time.monotonic()))
    checks.append(check_date_fresh(first, fetcher(main_url, accept, timeout)))
    return checks, ids


def verify_http(
    base_url: str, test_types: Sequence[str], timeout: float = 20.0, fetcher: Fetcher = fetch
) -> HttpResult:
    start = time.monotonic()
    with ThreadPoolExecutor(max_workers=max(1, len(test_types)), thread_name_prefix="verify-http") as pool:
        outcomes = list(pool.map(lambda t: verify_type(base_url, t, timeout, fetcher), test_types))
    result = HttpResult(base_url, {t: checks for t, (checks, _) in zip(test_types, outcomes, strict=True)})
    if "updates" in test_types:
        result.updates_ids = outcomes[list(test_types).index("updates")][1]
    result.seconds = time.monotonic() - start
    return result
