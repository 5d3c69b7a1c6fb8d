"""Database access with the raw MySQL driver (LAB_DB_ENGINE=mysql): PyMySQL, a small pool per worker process.

PyMySQL is pure Python: under gunicorn's gevent worker its socket reads are gevent's, so a request waiting on
MySQL lets the worker's other greenlets run (a C client such as mysqlclient would block the whole worker);
under gthread the thread waits in a socket read without the GIL. The pool is a LIFO queue of LAB_DB_POOL_SIZE
connections, all opened at startup; threading's locks under it are gevent's once the worker has patched them.

Connections are in autocommit mode and go back to the pool as they are: no statement but the route's own is
sent. Statements go over the text protocol. The N reads of /queries and /updates are N SELECTs sent in one
multi-statement text (labapp_common.mysql_select_worlds): one round trip, each row still its own statement.
"""

from __future__ import annotations

import contextlib
import queue
from collections.abc import Iterator

import labapp_common as common
import pymysql
from flask import Flask
from pymysql.constants import CLIENT

SELECT_WORLD = common.SELECT_WORLD
SELECT_FORTUNES = common.SELECT_FORTUNES
SELECT_DEMO_NAME = common.SELECT_DEMO_NAME

_connect_args: dict[str, object]
# None stands for a connection that broke: the next request to draw it opens a new one.
_idle: queue.LifoQueue[pymysql.connections.Connection | None]


def _connect() -> pymysql.connections.Connection:
    return pymysql.connect(**_connect_args)


def init_app(app: Flask, config: common.DbConfig) -> None:
    """Open this worker's pool (app is unused; the ORM variant registers itself with it)."""
    global _connect_args, _idle
    _connect_args = {
        "host": config.host,
        "port": config.port,
        "database": config.name,
        "user": config.user,
        "password": config.password or "",
        "autocommit": True,
        "charset": "utf8mb4",
        "client_flag": CLIENT.MULTI_STATEMENTS,  # the pipelined reads
    }
    _idle = queue.LifoQueue()
    for _ in range(config.pool_size):
        _idle.put(_connect())


@contextlib.contextmanager
def _cursor() -> Iterator[pymysql.cursors.Cursor]:
    conn = _idle.get(timeout=common.POOL_WAIT_S)
    try:
        if conn is None:
            conn = _connect()
        with conn.cursor() as cur:
            yield cur
    except (pymysql.err.OperationalError, pymysql.err.InterfaceError):
        if conn is not None:
            conn.close()
        conn = None
        raise
    finally:
        _idle.put(conn)


def _worlds(cur: pymysql.cursors.Cursor, ids: list[int]) -> list[tuple[int, int]]:
    """One SELECT_WORLD per id, all sent at once; the rows in id order."""
    cur.execute(common.mysql_select_worlds(ids))
    rows = []
    while True:
        row = cur.fetchone()
        assert row is not None
        rows.append((row[0], row[1]))
        if not cur.nextset():
            return rows


def random_world() -> dict[str, int]:
    with _cursor() as cur:
        cur.execute(SELECT_WORLD, (common.random_id(),))
        row = cur.fetchone()
    assert row is not None
    return {"id": row[0], "randomNumber": row[1]}


def random_worlds(n: int) -> list[dict[str, int]]:
    with _cursor() as cur:
        rows = _worlds(cur, common.random_ids(n))
    return [{"id": row[0], "randomNumber": row[1]} for row in rows]


def fortunes() -> list[tuple[int, str]]:
    with _cursor() as cur:
        cur.execute(SELECT_FORTUNES)
        return [(row[0], row[1]) for row in cur.fetchall()]


def update_worlds(n: int) -> list[dict[str, int]]:
    ids = common.distinct_random_ids(n)
    with _cursor() as cur:
        numbers = [common.new_random_number(row[1]) for row in _worlds(cur, ids)]
        cur.execute(common.mysql_update_worlds(n), common.mysql_update_args(ids, numbers))
    return [{"id": i, "randomNumber": r} for i, r in zip(ids, numbers, strict=True)]


def lookup(name: str) -> bool:
    """Whether demo_data has a row of this name: one indexed equality lookup."""
    with _cursor() as cur:
        cur.execute(SELECT_DEMO_NAME, (name,))
        return cur.fetchone() is not None
