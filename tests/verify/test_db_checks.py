"""Database-hit and update checks from counter and World snapshots (docs/test-types.md §3.4 "Update check",
§3.5 "Database-hit check")."""

from __future__ import annotations

import pytest

from analysis.verify.db_checks import grade_db_hits, grade_rows_changed
from analysis.verify.load import LoadResult
from analysis.verify.sql import COUNTERS, WORLDS, counter_keys, counters_exact, parse_counters, parse_worlds

URL = "http://app/x"
ZERO = dict.fromkeys(counter_keys(), 0)


def load(ok: int = 512, failures: dict[str, int] | None = None) -> LoadResult:
    return LoadResult(URL, 512, 512, ok, 1.5, failures or {})


def after(**counts: int) -> dict[str, int]:
    return {**ZERO, **counts}


def graded(test_type: str, counts: dict[str, int], result: LoadResult | None = None) -> dict[str, str]:
    return {c.name: c.grade for c in grade_db_hits(test_type, ZERO, counts, result or load())}


@pytest.mark.parametrize(
    ("test_type", "counts"),
    [
        ("db", after(world_calls=512, world_rows_read=512)),
        ("queries", after(world_calls=10240, world_rows_read=10240)),
        ("fortunes", after(fortune_calls=512, fortune_rows_read=6144)),
        # Bulk writes: 20 reads and one UPDATE per request.
        (
            "updates",
            after(world_calls=10752, world_rows_read=10240, world_updates=512, world_rows_updated=10240),
        ),
        # One UPDATE per row.
        (
            "updates",
            after(world_calls=20480, world_rows_read=10240, world_updates=10240, world_rows_updated=10240),
        ),
    ],
)
def test_expected_counts_pass(test_type: str, counts: dict[str, int]) -> None:
    assert set(graded(test_type, counts).values()) == {"pass"}


@pytest.mark.parametrize(
    ("test_type", "counts", "name"),
    [
        # Batched reads: one `IN (...)` per request.
        ("queries", after(world_calls=512, world_rows_read=10240), "db-hits: queries"),
        # Cached rows: fewer statements and rows than requested.
        ("db", after(world_calls=400, world_rows_read=400), "db-hits: queries"),
        ("fortunes", after(fortune_calls=512, fortune_rows_read=6143), "db-hits: rows read"),
        ("updates", after(world_calls=10240, world_rows_read=10240), "db-hits: queries"),
        (
            "updates",
            after(world_calls=10752, world_rows_read=10240, world_rows_updated=5000),
            "db-hits: rows updated",
        ),
        # Between bulk and per-row: graded against per-row writes.
        (
            "updates",
            after(world_calls=15000, world_rows_read=10240, world_rows_updated=10240),
            "db-hits: queries",
        ),
    ],
)
def test_fewer_than_expected_fails(test_type: str, counts: dict[str, int], name: str) -> None:
    assert graded(test_type, counts)[name] == "fail"


def test_the_5_percent_margin() -> None:
    at_margin = after(world_calls=int(512 * 1.05), world_rows_read=512)
    above = after(world_calls=int(512 * 1.05) + 1, world_rows_read=512)
    assert graded("db", at_margin)["db-hits: queries"] == "pass"
    assert graded("db", above)["db-hits: queries"] == "warn"


def test_requests_that_did_not_get_200_fail_the_load() -> None:
    result = load(ok=500, failures={"status 502": 12})
    checks = {
        c.name: c for c in grade_db_hits("db", ZERO, after(world_calls=512, world_rows_read=512), result)
    }
    assert checks["db-hits: load"].grade == "fail" and "12x status 502" in checks["db-hits: load"].reason


def test_counts_are_differences_of_the_snapshots() -> None:
    before = {**ZERO, "world_calls": 1000, "world_rows_read": 3000}
    later = {**ZERO, "world_calls": 1512, "world_rows_read": 3512}
    assert {c.grade for c in grade_db_hits("db", before, later, load())} == {"pass"}


def worlds(values: dict[int, int]) -> dict[str, dict[int, int]]:
    return {"world": dict(values), "World": {}}


BEFORE = {i: i for i in range(1, 10001)}


def changed(n: int, ids: list[int]) -> dict[int, int]:
    new = dict(BEFORE)
    for i in ids[:n]:
        new[i] = BEFORE[i] % 10000 + 1
    return new


@pytest.mark.parametrize(
    ("n", "grade"), [(500, "pass"), (476, "pass"), (475, "warn"), (451, "warn"), (450, "fail"), (0, "fail")]
)
def test_rows_changed_thresholds(n: int, grade: str) -> None:
    ids = list(range(1, 501))
    check = grade_rows_changed(URL, worlds(BEFORE), worlds(changed(n, ids)), ids)
    assert check.grade == grade, check.reason
    assert f"{n} of the 500 rows" in check.reason


def test_rows_changed_counts_only_the_returned_ids() -> None:
    ids = list(range(1, 501))
    elsewhere = changed(500, list(range(5001, 6001)))  # 500 other rows changed, none of those returned
    assert grade_rows_changed(URL, worlds(BEFORE), worlds(elsewhere), ids).grade == "fail"


def test_rows_changed_falls_back_to_the_quoted_table() -> None:
    ids = list(range(1, 501))
    before = {"world": BEFORE, "World": BEFORE}
    later = {"world": BEFORE, "World": changed(500, ids)}
    check = grade_rows_changed(URL, before, later, ids)
    assert check.grade == "pass" and "World" in check.reason


def test_rows_changed_without_ids_counts_every_row() -> None:
    check = grade_rows_changed(URL, worlds(BEFORE), worlds(changed(480, list(range(1, 501)))), None)
    assert check.grade == "pass" and "of all 10000 rows" in check.reason


def test_snapshot_parsing() -> None:
    assert parse_worlds({"world": "1:5,2:7", "World": None}) == {"world": {1: 5, 2: 7}, "World": {}}
    assert parse_counters({k: 3 for k in counter_keys()}) == dict.fromkeys(counter_keys(), 3)
    with pytest.raises(ValueError, match="world_calls"):
        parse_counters({})


def test_the_statements_name_their_tables() -> None:
    for table in ("world", "fortune"):
        assert f"'{table}_calls'" in COUNTERS
    assert 'FROM "World"' in WORLDS and "FROM world" in WORLDS


def test_approximate_counters_may_fall_short_by_the_slack_and_no_more() -> None:
    """MySQL's digest counts may miss a few statements under concurrency (rules.APPROXIMATE_COUNT_SLACK)."""
    load = LoadResult("http://app/queries", 512, 512, 512, 1.0)
    before = dict.fromkeys(counter_keys(), 0)
    expected = 512 * 20
    within = before | {"world_calls": expected - 7, "world_rows_read": expected}
    below = before | {"world_calls": int(expected * 0.97), "world_rows_read": expected}
    grades = {c.name: c.grade for c in grade_db_hits("queries", before, within, load, exact=False)}
    assert grades["db-hits: queries"] == "pass"
    assert {c.name: c.grade for c in grade_db_hits("queries", before, within, load)}[
        "db-hits: queries"
    ] == "fail"
    assert {c.name: c.grade for c in grade_db_hits("queries", before, below, load, exact=False)}[
        "db-hits: queries"
    ] == "fail"
    assert counters_exact({}) and not counters_exact({"exact": False})
