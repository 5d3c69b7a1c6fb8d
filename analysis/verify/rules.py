"""docs/test-types.md §2 "Test types" and §3 "Verification" as data: what each test type is asked and what
it must answer."""

from __future__ import annotations

from dataclasses import dataclass

from labcore import demo_data, test_types

from .checks import Grade

# The TechEmpower types, from the registry; the scenario types are checked by apps/_common/scenarios.py.
TEST_TYPES = tuple(test_types.names(scenario=False))
# Types that read the database: they also get the database-hit check.
DB_TYPES = tuple(t for t in TEST_TYPES if test_types.get(t).uses_db)
PATHS = {t: test_types.get(t).path for t in TEST_TYPES}
QUERY_TYPES = tuple(t for t in TEST_TYPES if test_types.get(t).sweep == "queries")


def accept_header(test_type: str) -> str:
    """The Accept header wrk sends for the type (docs/test-types.md §4.3 "The wrk command"), so the verifier
    asks exactly what the load will ask."""
    return test_types.get(test_type).accept_header


@dataclass(frozen=True)
class ContentType:
    media_type: str
    charset_required: bool


CONTENT_TYPES = {
    t: ContentType(test_types.get(t).media_type, test_types.get(t).charset_required) for t in TEST_TYPES
}

REQUIRED_HEADERS = ("Server", "Date", "Content-Type")
SIZE_HEADERS = ("Content-Length", "Transfer-Encoding")
# Two requests this far apart must carry different Date values.
DATE_FRESH_S = 3.0

HELLO = "Hello, World!"
MIN_ID, MAX_ID = 1, 10000
MIN_QUERIES, MAX_QUERIES = 1, 500


@dataclass(frozen=True)
class QueryCase:
    """One value of the `queries` parameter, the array length it must give, and the grade if it does not."""

    value: str
    expected_len: int
    length_grade: Grade


# The reference tries 2, 0, foo, 501 and empty; the lab also tries -1. The first case doubles as the type's
# main request (the one repeated for the Date freshness check).
QUERY_CASES = (
    QueryCase("2", 2, "fail"),
    QueryCase("0", 1, "fail"),
    QueryCase("-1", 1, "fail"),
    QueryCase("foo", 1, "fail"),
    QueryCase("", 1, "fail"),
    QueryCase("501", 500, "warn"),
)
UPDATE_CHECK_CASE = "501"


@dataclass(frozen=True)
class LookupCase:
    """One request of the lookup type: the query string it sends, the name that is (None: the app draws one)
    and whether a row has it (None: either answer)."""

    query: str
    name: str | None
    found: bool | None


# The first case (a name the app draws) doubles as the type's main request. The present name is row 1's, which
# a table of any size holds; the same name in swapped case is no row's (names compare byte for byte on both
# engines); a name outside the apps' alphabet (NUL) must be answered, absent.
_PRESENT = demo_data.name(1)
LOOKUP_CASES = (
    LookupCase("", None, None),
    LookupCase("?name=" + _PRESENT, _PRESENT, True),
    LookupCase("?name=" + _PRESENT.swapcase(), _PRESENT.swapcase(), False),
    LookupCase("?name=" + demo_data.absent_name(), demo_data.absent_name(), False),
    LookupCase("?name=%00", "\x00", False),
)

FORTUNES = (
    (1, "fortune: No such file or directory"),
    (2, "A computer scientist is someone who fixes things that aren't broken."),
    (3, "After enough decimal places, nobody gives a damn."),
    (4, "A bad random number generator: 1, 1, 1, 1, 1, 4.33e+67, 1, 1, 1"),
    (5, "A computer program does what you tell it to do, not what you want it to do."),
    (6, "Emacs is a nice operating system, but I prefer UNIX. — Tom Christaensen"),
    (7, "Any program that runs right is obsolete."),
    (8, "A list is only as strong as its weakest link. — Donald Knuth"),
    (9, "Feature: A bug with seniority."),
    (10, "Computers make very fast, very accurate mistakes."),
    (11, '<script>alert("This should not be displayed in a browser alert box.");</script>'),
    (12, "フレームワークのベンチマーク"),
)
EXTRA_FORTUNE = (0, "Additional fortune added at request time.")

# Database-hit check: requests sent at once, and how far above the expected counts is still a pass.
LOAD_REQUESTS = 512
LOAD_CONCURRENCY = 512
HIT_WARN_MARGIN = 0.05
# How far below the expected counts an approximate counter (its snapshot says "exact": false) may fall and
# still pass. MariaDB's performance_schema adds up its statement digests without locks: under the load's 512
# concurrent connections it missed a few statements per load (1 and 3 of 512, 7 of 10,240: 0.6 % at most)
# while every row was counted. The cheats the check is for stay far outside it: a batched IN (...) read sends
# 1 statement per request instead of 20, an update of the old values affects no row.
APPROXIMATE_COUNT_SLACK = 0.02


# An indexed lookup's cost per statement at most, in the unit the engine's counters give (sql.py): MySQL
# counts the rows each statement examined (an index lookup with LIMIT 1 examines 0 or 1); Postgres counts no
# rows examined per statement, but the buffer pages it touched: a B-tree descent of 3 or 4 pages for a million
# names and one heap page when the name is found. A sequential scan of demo_data reads every row and thousands
# of pages, far outside either bound.
INDEX_EXAMINED_MAX = {"rows": 1.0, "blocks": 8.0}


@dataclass(frozen=True)
class DbHitRule:
    """What one request of the load costs the database: statements and rows on `table` (rows_at_most: rows
    is a bound; indexed: each statement must be an index lookup, INDEX_EXAMINED_MAX)."""

    path: str
    table: str
    queries: int
    rows: int
    updates: bool = False
    rows_at_most: bool = False
    indexed: bool = False


def _db_hit_rule(test_type: test_types.TestType, hits: test_types.DbHits) -> DbHitRule:
    level = str(test_types.DB_HIT_QUERIES) if test_type.sweep == "queries" else ""
    return DbHitRule(
        test_type.path + level,
        hits.table,
        hits.queries,
        hits.rows,
        hits.updates,
        hits.rows_at_most,
        hits.indexed,
    )


DB_HITS = {
    t.name: _db_hit_rule(t, t.db_hits) for t in map(test_types.get, TEST_TYPES) if t.db_hits is not None
}

# Update check: a request for 501 rows (clamped to 500) must change about that many rows.
UPDATED_ROWS_EXPECTED = 500
UPDATED_ROWS_FAIL_AT = 0.90  # this share or fewer changed: fail
UPDATED_ROWS_WARN_AT = 0.95  # this share or fewer changed: warn
