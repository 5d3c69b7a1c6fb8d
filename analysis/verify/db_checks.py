"""Pure grading of what the database saw: the database-hit check and the update check
(docs/test-types.md §3.5 "Database-hit check" and §3.4 "Update check").

Database-hit check: the pg_stat_statements counters (sql.COUNTERS) before and after a load of 512 requests
at concurrency 512. Fewer statements or rows than expected fail (batched `IN (...)` reads, caching, skipped
writes); more than 5 % above expected warn. For updates the writes may be one bulk statement per request or
one per row: a statement count up to 5 % above the bulk figure is graded as bulk, anything else against the
per-row figure. A lookup (rows_at_most) may read up to its rows and no more, and each of its statements must
be an index lookup, judged by what the reads examined (rules.INDEX_EXAMINED_MAX).

Update check: World before and after the verification requests (sql.WORLDS). Of the rows the 501 request
answered with (500 ids), about all must hold a new value afterwards: 450 or fewer changed fail, 475 or fewer
warn. Counting only those ids keeps the other update requests of the verification out of the count. Like
the reference, the quoted "World" is counted when world shows no change at all.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .checks import Check, failed, passed, warned
from .load import LoadResult
from .rules import (
    APPROXIMATE_COUNT_SLACK,
    DB_HITS,
    HIT_WARN_MARGIN,
    INDEX_EXAMINED_MAX,
    UPDATED_ROWS_EXPECTED,
    UPDATED_ROWS_FAIL_AT,
    UPDATED_ROWS_WARN_AT,
)


def grade_count(
    name: str, url: str, what: str, value: int, expected: int, note: str = "", exact: bool = True
) -> Check:
    note = f" {note}" if note else ""
    floor = expected if exact else expected * (1 - APPROXIMATE_COUNT_SLACK)
    if value < floor:
        return failed(name, url, f"{value:,} {what}, fewer than the {expected:,} expected{note}")
    if value < expected:
        return passed(
            name,
            url,
            f"{value:,} {what} ({expected:,} expected{note}; the server's counters are approximate, and"
            f" miss at most {APPROXIMATE_COUNT_SLACK:.1%} of them under concurrency)",
        )
    if value > expected * (1 + HIT_WARN_MARGIN):
        return warned(
            name,
            url,
            f"{value:,} {what}, more than {HIT_WARN_MARGIN:.0%} above the {expected:,} expected{note}",
        )
    return passed(name, url, f"{value:,} {what} ({expected:,} expected{note})")


def grade_load(load: LoadResult) -> Check:
    what = f"{load.requests} requests at concurrency {load.concurrency} in {load.seconds:.1f} s"
    if load.ok == load.requests:
        return passed("db-hits: load", load.url, f"{what}, all answered 200")
    failures = ", ".join(f"{count}x {kind}" for kind, count in sorted(load.failures.items()))
    return failed(
        "db-hits: load", load.url, f"{what}: {load.requests - load.ok} not answered 200 ({failures})"
    )


def grade_index(url: str, table: str, examined: int, statements: int, unit: str) -> Check:
    """Each statement an index lookup: what the reads examined, per statement, within INDEX_EXAMINED_MAX."""
    bound = INDEX_EXAMINED_MAX[unit]
    what = f"{unit} examined" if unit == "rows" else "buffer pages touched"
    if statements <= 0:
        return failed("db-hits: index", url, f"no statement on {table} to judge")
    per = examined / statements
    reason = (
        f"{per:.2f} {what} per statement on {table} ({examined:,} over {statements:,}; at most {bound:g})"
    )
    if per > bound:
        return failed("db-hits: index", url, reason + ": not an index lookup")
    return passed("db-hits: index", url, reason)


def grade_db_hits(
    test_type: str,
    before: Mapping[str, int],
    after: Mapping[str, int],
    load: LoadResult,
    exact: bool = True,
    examined_unit: str = "blocks",
) -> list[Check]:
    """The checks of one type's load: every request answered, statements and rows as expected (with
    APPROXIMATE_COUNT_SLACK below it when the counters are not exact: MySQL's), and for an indexed type what
    each statement examined (in examined_unit, sql.examined_unit)."""
    rule = DB_HITS[test_type]
    delta = {key: after[key] - before[key] for key in after}
    table, n, url = rule.table, load.requests, load.url
    checks = [grade_load(load)]
    calls = delta[f"{table}_calls"]
    reads = n * rule.queries
    if rule.updates:
        bulk, per_row = reads + n, 2 * reads
        is_bulk = calls <= bulk * (1 + HIT_WARN_MARGIN)
        expected, how = (bulk, "with bulk writes") if is_bulk else (per_row, "with one write per row")
    else:
        expected, how = reads, ""
    checks.append(grade_count("db-hits: queries", url, f"statements on {table}", calls, expected, how, exact))
    rows, rows_read = n * rule.rows, delta[f"{table}_rows_read"]
    if rule.rows_at_most:
        reason = f"{rows_read:,} rows read, at most {rows:,} allowed ({rule.rows} per request)"
        checks.append((failed if rows_read > rows else passed)("db-hits: rows read", url, reason))
    else:
        checks.append(grade_count("db-hits: rows read", url, "rows read", rows_read, rows, "", exact))
    if rule.updates:
        updated = delta[f"{table}_rows_updated"]
        checks.append(grade_count("db-hits: rows updated", url, "rows updated", updated, rows, "", exact))
    if rule.indexed:
        checks.append(grade_index(url, table, delta[f"{table}_examined"], calls, examined_unit))
    return checks


def grade_rows_changed(
    url: str,
    before: Mapping[str, Mapping[int, int]],
    after: Mapping[str, Mapping[int, int]],
    ids: Sequence[int] | None,
) -> Check:
    """How many of the rows the 501 request returned hold a new randomnumber afterwards."""
    counts = []
    for table in ("world", "World"):
        old, new = before.get(table, {}), after.get(table, {})
        candidates = list(dict.fromkeys(ids)) if ids else list(old)
        changed = sum(1 for i in candidates if i in old and i in new and old[i] != new[i])
        counts.append((changed, table, len(candidates)))
    changed, table, considered = next((c for c in counts if c[0]), counts[0])
    scope = f"of the {considered} rows the request answered with" if ids else f"of all {considered} rows"
    reason = f"{changed} {scope} changed in {table} (about {UPDATED_ROWS_EXPECTED} expected)"
    if changed <= UPDATED_ROWS_EXPECTED * UPDATED_ROWS_FAIL_AT:
        return failed("rows-changed", url, reason + ("" if changed else ": the update was not written"))
    if changed <= UPDATED_ROWS_EXPECTED * UPDATED_ROWS_WARN_AT:
        return warned("rows-changed", url, reason)
    return passed("rows-changed", url, reason)
