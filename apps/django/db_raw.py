"""Database access with raw SQL on Django's own connection (connection.cursor()): psycopg 3 on Postgres,
PyMySQL under Django's MySQL backend on MySQL (LAB_DB_ENGINE=mysql).

Django keeps one persistent connection per worker thread (CONN_MAX_AGE=None), in autocommit mode. On Postgres,
raw mode turns on server-side binding, so psycopg prepares each statement after a few executions on a
connection; on MySQL statements go over PyMySQL's text protocol.

The N reads of /queries and /updates cost one round trip, each row still its own statement execution. On
Postgres they go out in psycopg's pipeline mode, on the psycopg cursor under Django's wrapper:
executemany(returning=True) sends every execution of the single-row SELECT before it reads the first result.
On MySQL they are N SELECTs in one multi-statement text (labapp_common.mysql_select_worlds; app.py allows
multi-statements). The engine's two steps, reading the rows and writing them back, are chosen once, at
import.
"""

from __future__ import annotations

import labapp_common as common
from django.db import connection
from django.db.backends.utils import CursorWrapper

SELECT_WORLD = common.SELECT_WORLD
SELECT_FORTUNES = common.SELECT_FORTUNES
SELECT_DEMO_NAME = common.SELECT_DEMO_NAME
MYSQL = common.db_config_from_env().engine == "mysql"


def _rows(cursor: CursorWrapper) -> list[tuple[int, int]]:
    """The first row of each result set of the cursor, in order."""
    rows = []
    while True:
        rows.append(cursor.fetchone())
        if not cursor.nextset():
            return rows


def _pipelined_rows(cur: CursorWrapper, ids: list[int]) -> list[tuple[int, int]]:
    """One SELECT_WORLD execution per id, all sent before the first result is read; the rows in id order."""
    driver_cursor = cur.cursor  # psycopg's: Django's executemany() does not return rows
    driver_cursor.executemany(SELECT_WORLD, [(world_id,) for world_id in ids], returning=True)
    return _rows(driver_cursor)


def _multi_statement_rows(cur: CursorWrapper, ids: list[int]) -> list[tuple[int, int]]:
    """One SELECT_WORLD per id, all in one text; the rows in id order."""
    cur.execute(common.mysql_select_worlds(ids))
    return _rows(cur)


def _write_postgres(cur: CursorWrapper, ids: list[int], numbers: list[int]) -> None:
    cur.execute(common.UPDATE_WORLDS, [ids, numbers])


def _write_mysql(cur: CursorWrapper, ids: list[int], numbers: list[int]) -> None:
    cur.execute(common.mysql_update_worlds(len(ids)), common.mysql_update_args(ids, numbers))


_read_worlds = _multi_statement_rows if MYSQL else _pipelined_rows
_write_worlds = _write_mysql if MYSQL else _write_postgres


def random_world() -> dict[str, int]:
    with connection.cursor() as cur:
        cur.execute(SELECT_WORLD, [common.random_id()])
        row = cur.fetchone()
    return {"id": row[0], "randomNumber": row[1]}


def random_worlds(n: int) -> list[dict[str, int]]:
    with connection.cursor() as cur:
        rows = _read_worlds(cur, common.random_ids(n))
    return [{"id": row[0], "randomNumber": row[1]} for row in rows]


def fortunes() -> list[tuple[int, str]]:
    with connection.cursor() as cur:
        cur.execute(SELECT_FORTUNES)
        return [(row[0], row[1]) for row in cur.fetchall()]


def update_worlds(n: int) -> list[dict[str, int]]:
    ids = common.distinct_random_ids(n)
    with connection.cursor() as cur:
        numbers = [common.new_random_number(row[1]) for row in _read_worlds(cur, ids)]
        _write_worlds(cur, ids, numbers)
    return [{"id": i, "randomNumber": r} for i, r in zip(ids, numbers, strict=True)]


def lookup(name: str) -> bool:
    """Whether demo_data has a row of this name: one indexed equality lookup."""
    with connection.cursor() as cur:
        cur.execute(SELECT_DEMO_NAME, [name])
        return cur.fetchone() is not None
