"""The verifier's counters on a real MariaDB (analysis/verify/sql.py, the MySQL statements), read the way the
recorder reads them: one mariadb client over a pipe, its own session left out of performance_schema.

The statements an app sends for a load of the database types are run here directly, as the app's user over
TCP, between two counter snapshots, and graded by the same grade_db_hits as on Postgres. The right statements
pass; the two ways of cheating the database-hit check fail on MySQL as they do on Postgres: one batched
``IN (...)`` read for the N rows of /queries, and an /updates that writes the old values back (the server
counts no row as changed).
"""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from analysis.verify.db_checks import grade_db_hits
from analysis.verify.load import LoadResult
from analysis.verify.sql import counters_exact, parse_counters, parse_worlds
from labkit.mariadb import DB_NAME, DB_USER, MariaDB

pytestmark = pytest.mark.needs_mariadb

N = 8  # requests of the simulated load: the counts scale with it, the grading does not depend on it
QUERIES = 20  # /queries?queries=20, the database-hit load's level


def as_app(mariadb: MariaDB, sql: str) -> str:
    """Statements as the app's user over TCP, with hello_world as the default schema, as the apps connect."""
    env = dict(os.environ, MYSQL_PWD=mariadb.password)
    out = subprocess.run(
        ["mariadb", "--no-defaults", f"--host={mariadb.host}", f"--port={mariadb.port}", f"--user={DB_USER}",
         "--batch", "--skip-column-names", DB_NAME, "-e", sql],
        check=True, capture_output=True, text=True, env=env,
    )  # fmt: skip
    return out.stdout


def load(test_type: str) -> LoadResult:
    return LoadResult(url=f"http://app/{test_type}", requests=N, concurrency=N, ok=N, seconds=1.0)


def grades(checks: list[Any]) -> dict[str, str]:
    return {check.name: check.grade for check in checks}


def select_world(world_id: int) -> str:
    return f"SELECT id, randomNumber FROM world WHERE id = {world_id};"


def test_the_right_statements_pass_and_the_counters_ignore_the_reader(
    mariadb: MariaDB, mysql_snapshot: Callable[[str], Any]
) -> None:
    assert not counters_exact(mysql_snapshot("counters"))  # performance_schema's digests: approximate
    before = parse_counters(mysql_snapshot("counters"))
    # The reader's own snapshots (World reads world) leave the counters as they were.
    mysql_snapshot("worlds")
    assert parse_counters(mysql_snapshot("counters")) == before
    as_app(mariadb, "".join(select_world(random.randint(1, 10000)) for _ in range(N)))
    after = parse_counters(mysql_snapshot("counters"))
    assert set(grades(grade_db_hits("db", before, after, load("db"))).values()) == {"pass"}

    before = after
    # /queries: N requests of 20 single-row statements each, sent as one multi-statement text per request.
    for _ in range(N):
        as_app(mariadb, "".join(select_world(random.randint(1, 10000)) for _ in range(QUERIES)))
    after = parse_counters(mysql_snapshot("counters"))
    assert set(grades(grade_db_hits("queries", before, after, load("queries"))).values()) == {"pass"}

    before = after
    as_app(mariadb, "SELECT id, message FROM fortune;" * N)
    after = parse_counters(mysql_snapshot("counters"))
    assert set(grades(grade_db_hits("fortunes", before, after, load("fortunes"))).values()) == {"pass"}


def _updates(mariadb: MariaDB, old_values: bool) -> None:
    """N requests of /updates?queries=20: 20 reads, then one bulk UPDATE of new (or the old) values; no row
    is in two requests."""
    drawn = random.sample(range(1, 10001), N * QUERIES)
    for request in range(N):
        ids = sorted(drawn[request * QUERIES : (request + 1) * QUERIES])
        rows = as_app(mariadb, "".join(select_world(i) for i in ids))
        numbers = {int(i): int(n) for i, n in (line.split("\t") for line in rows.splitlines())}
        new = numbers if old_values else {i: n % 10000 + 1 for i, n in numbers.items()}
        cases = " ".join(f"WHEN {i} THEN {n}" for i, n in new.items())
        id_list = ", ".join(map(str, new))
        as_app(mariadb, f"UPDATE world SET randomNumber = CASE id {cases} END WHERE id IN ({id_list});")


def test_updates_of_new_values_pass_and_the_world_snapshot_sees_them(
    mariadb: MariaDB, mysql_snapshot: Callable[[str], Any]
) -> None:
    before, worlds_before = parse_counters(mysql_snapshot("counters")), parse_worlds(mysql_snapshot("worlds"))
    _updates(mariadb, old_values=False)
    after, worlds_after = parse_counters(mysql_snapshot("counters")), parse_worlds(mysql_snapshot("worlds"))
    checks = grades(grade_db_hits("updates", before, after, load("updates")))
    assert set(checks.values()) == {"pass"}, checks
    changed = sum(worlds_before["world"][i] != worlds_after["world"][i] for i in worlds_before["world"])
    assert changed == N * QUERIES
    assert len(worlds_after["world"]) == len(worlds_after["World"]) == 10000


def test_a_batched_read_fails_the_query_count(mariadb: MariaDB, mysql_snapshot: Callable[[str], Any]) -> None:
    before = parse_counters(mysql_snapshot("counters"))
    for _ in range(N):
        ids = ", ".join(str(random.randint(1, 10000)) for _ in range(QUERIES))
        as_app(mariadb, f"SELECT id, randomNumber FROM world WHERE id IN ({ids});")
    after = parse_counters(mysql_snapshot("counters"))
    checks = grades(grade_db_hits("queries", before, after, load("queries")))
    assert checks["db-hits: queries"] == "fail", checks


def test_writing_the_old_values_back_fails_the_rows_updated(
    mariadb: MariaDB, mysql_snapshot: Callable[[str], Any]
) -> None:
    before = parse_counters(mysql_snapshot("counters"))
    _updates(mariadb, old_values=True)
    after = parse_counters(mysql_snapshot("counters"))
    checks = grades(grade_db_hits("updates", before, after, load("updates")))
    assert checks["db-hits: rows updated"] == "fail", checks
    assert checks["db-hits: queries"] == "pass", checks
