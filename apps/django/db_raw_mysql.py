"""Database access with raw SQL on Django's own connection on MySQL (LAB_DB_ENGINE=mysql): PyMySQL under
Django's MySQL backend.

Django keeps one persistent connection per worker thread (CONN_MAX_AGE=None), in autocommit mode. Statements
go over PyMySQL's text protocol, one round trip each.
"""

from __future__ import annotations

import labapp_common as common
from django.db import connection

SELECT_WORLD = common.SELECT_WORLD
SELECT_FORTUNES = common.SELECT_FORTUNES


def random_world() -> dict[str, int]:
    with connection.cursor() as cur:
        cur.execute(SELECT_WORLD, [common.random_id()])
        row = cur.fetchone()
    return {"id": row[0], "randomNumber": row[1]}


def random_worlds(n: int) -> list[dict[str, int]]:
    worlds = []
    with connection.cursor() as cur:
        for world_id in common.random_ids(n):
            cur.execute(SELECT_WORLD, [world_id])
            row = cur.fetchone()
            worlds.append({"id": row[0], "randomNumber": row[1]})
    return worlds


def fortunes() -> list[tuple[int, str]]:
    with connection.cursor() as cur:
        cur.execute(SELECT_FORTUNES)
        return [(row[0], row[1]) for row in cur.fetchall()]


def update_worlds(n: int) -> list[dict[str, int]]:
    ids = common.distinct_random_ids(n)
    numbers = []
    with connection.cursor() as cur:
        for world_id in ids:
            cur.execute(SELECT_WORLD, [world_id])
            numbers.append(common.new_random_number(cur.fetchone()[1]))
        cur.execute(common.mysql_update_worlds(n), common.mysql_update_args(ids, numbers))
    return [{"id": i, "randomNumber": r} for i, r in zip(ids, numbers, strict=True)]
