"""Database access with raw SQL on Django's own connection on MySQL (LAB_DB_ENGINE=mysql): PyMySQL under
Django's MySQL backend.

Django keeps one persistent connection per worker thread (CONN_MAX_AGE=None), in autocommit mode. Statements
go over PyMySQL's text protocol. The N reads of /queries and /updates are N SELECTs sent in one
multi-statement text (labapp_common.mysql_select_worlds; app.py allows multi-statements): one round trip,
each row still its own statement.
"""

from __future__ import annotations

import labapp_common as common
from django.db import connection
from django.db.backends.utils import CursorWrapper

SELECT_WORLD = common.SELECT_WORLD
SELECT_FORTUNES = common.SELECT_FORTUNES


def _worlds(cur: CursorWrapper, ids: list[int]) -> list[tuple[int, int]]:
    """One SELECT_WORLD per id, all sent at once; the rows in id order."""
    cur.execute(common.mysql_select_worlds(ids))
    rows = []
    while True:
        rows.append(cur.fetchone())
        if not cur.nextset():
            return rows


def random_world() -> dict[str, int]:
    with connection.cursor() as cur:
        cur.execute(SELECT_WORLD, [common.random_id()])
        row = cur.fetchone()
    return {"id": row[0], "randomNumber": row[1]}


def random_worlds(n: int) -> list[dict[str, int]]:
    with connection.cursor() as cur:
        rows = _worlds(cur, common.random_ids(n))
    return [{"id": row[0], "randomNumber": row[1]} for row in rows]


def fortunes() -> list[tuple[int, str]]:
    with connection.cursor() as cur:
        cur.execute(SELECT_FORTUNES)
        return [(row[0], row[1]) for row in cur.fetchall()]


def update_worlds(n: int) -> list[dict[str, int]]:
    ids = common.distinct_random_ids(n)
    with connection.cursor() as cur:
        numbers = [common.new_random_number(row[1]) for row in _worlds(cur, ids)]
        cur.execute(common.mysql_update_worlds(n), common.mysql_update_args(ids, numbers))
    return [{"id": i, "randomNumber": r} for i, r in zip(ids, numbers, strict=True)]
