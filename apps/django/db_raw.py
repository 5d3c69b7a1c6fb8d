"""Database access with raw SQL on Django's own connection (connection.cursor(), psycopg 3).

Django keeps one persistent connection per worker thread (CONN_MAX_AGE=None), in autocommit mode. Raw mode
turns on server-side binding, so psycopg prepares each statement after a few executions on a connection.

The N reads of /queries and /updates go out in psycopg's pipeline mode, on the psycopg cursor under Django's
wrapper: executemany(returning=True) sends every execution of the single-row SELECT before it reads the first
result, so N rows cost one round trip instead of N, and each row is still its own statement execution.
"""

from __future__ import annotations

import labapp_common as common
from django.db import connection
from django.db.backends.utils import CursorWrapper

SELECT_WORLD = common.SELECT_WORLD
SELECT_FORTUNES = common.SELECT_FORTUNES
UPDATE_WORLDS = common.UPDATE_WORLDS


def _pipelined_rows(cur: CursorWrapper, ids: list[int]) -> list[tuple[int, int]]:
    """One SELECT_WORLD execution per id, all sent before the first result is read; the rows in id order."""
    driver_cursor = cur.cursor  # psycopg's: Django's executemany() does not return rows
    driver_cursor.executemany(SELECT_WORLD, [(world_id,) for world_id in ids], returning=True)
    rows = []
    while True:
        rows.append(driver_cursor.fetchone())
        if not driver_cursor.nextset():
            return rows


def random_world() -> dict[str, int]:
    with connection.cursor() as cur:
        cur.execute(SELECT_WORLD, [common.random_id()])
        row = cur.fetchone()
    return {"id": row[0], "randomNumber": row[1]}


def random_worlds(n: int) -> list[dict[str, int]]:
    with connection.cursor() as cur:
        rows = _pipelined_rows(cur, common.random_ids(n))
    return [{"id": row[0], "randomNumber": row[1]} for row in rows]


def fortunes() -> list[tuple[int, str]]:
    with connection.cursor() as cur:
        cur.execute(SELECT_FORTUNES)
        return [(row[0], row[1]) for row in cur.fetchall()]


def update_worlds(n: int) -> list[dict[str, int]]:
    ids = common.distinct_random_ids(n)
    with connection.cursor() as cur:
        numbers = [common.new_random_number(row[1]) for row in _pipelined_rows(cur, ids)]
        cur.execute(UPDATE_WORLDS, [ids, numbers])
    return [{"id": i, "randomNumber": r} for i, r in zip(ids, numbers, strict=True)]
