"""The lookup type's index check on real servers (docs/test-types.md §3.5 "Database-hit check"): the
statements a /lookup load sends, run as the apps' user between two counter snapshots of
analysis/verify/sql.py, graded by grade_db_hits. The index lookup passes on both engines; the same answer
read by a scan (the name wrapped in an expression the index cannot serve) fails the index check and nothing
else."""

from __future__ import annotations

import os
import random
import subprocess
from collections.abc import Callable
from typing import Any

import pytest

from analysis.verify.db_checks import grade_db_hits
from analysis.verify.load import LoadResult
from analysis.verify.sql import examined_unit, parse_counters, statements
from labcore import demo_data
from labkit.mariadb import MariaDB
from labkit.postgres import DB_NAME, DB_USER, PostgresCluster

from .test_mysql_counters import as_app

N = 64  # requests of the simulated load
INDEXED = "SELECT id FROM demo_data WHERE name = '{}' LIMIT 1;"
SCANNED = "SELECT id FROM demo_data WHERE name || '' = '{}' LIMIT 1;"


def names() -> list[str]:
    """What a load asks: mostly drawn names, which no row has, and a few present ones."""
    drawn = ["".join(random.choices(demo_data.NAME_ALPHABET, k=random.randint(3, 255))) for _ in range(N - 4)]
    return drawn + [demo_data.name(i) for i in (1, 2, 3, 4)]


def as_app_postgres(pg: PostgresCluster, sql: str) -> None:
    subprocess.run(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", pg.host, "-p", str(pg.port), "-U", DB_USER,
         "-d", DB_NAME, "-f", "-"],
        input=sql, check=True, capture_output=True, text=True, env={**os.environ, "PGPASSWORD": pg.password},
    )  # fmt: skip


def graded(snapshot: Callable[[], Any], run: Callable[[str], object], template: str) -> dict[str, str]:
    first = snapshot()
    run("".join(template.format(name) + "\n" for name in names()))
    last = snapshot()
    load = LoadResult("http://app/lookup", N, N, N, 1.0)
    checks = grade_db_hits(
        "lookup", parse_counters(first), parse_counters(last), load, True, examined_unit(last)
    )
    return {c.name: f"{c.grade}: {c.reason}" for c in checks}


def grades_of(checks: dict[str, str]) -> dict[str, str]:
    return {name: text.split(":")[0] for name, text in checks.items()}


@pytest.mark.needs_postgres
@pytest.mark.parametrize(("template", "index_grade"), [(INDEXED, "pass"), (SCANNED, "fail")])
def test_postgres(
    pg: PostgresCluster, snapshot: Callable[[str], Any], template: str, index_grade: str
) -> None:
    checks = graded(
        lambda: snapshot(statements("postgres")["counters"]), lambda s: as_app_postgres(pg, s), template
    )
    expected = {"db-hits: load": "pass", "db-hits: queries": "pass", "db-hits: rows read": "pass"}
    assert grades_of(checks) == {**expected, "db-hits: index": index_grade}, checks
    assert "buffer pages touched per statement" in checks["db-hits: index"]


@pytest.mark.needs_mariadb
@pytest.mark.parametrize(("template", "index_grade"), [(INDEXED, "pass"), (SCANNED, "fail")])
def test_mariadb(
    mariadb: MariaDB, mysql_snapshot: Callable[[str], Any], template: str, index_grade: str
) -> None:
    checks = graded(lambda: mysql_snapshot("counters"), lambda s: as_app(mariadb, s), template)
    expected = {"db-hits: load": "pass", "db-hits: queries": "pass", "db-hits: rows read": "pass"}
    assert grades_of(checks) == {**expected, "db-hits: index": index_grade}, checks
    assert "rows examined per statement" in checks["db-hits: index"]
