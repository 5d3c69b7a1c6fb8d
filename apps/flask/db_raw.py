"""Database access with the raw driver: psycopg 3, one connection pool per worker process.

Connections are in autocommit mode; every statement runs with prepare=True, i.e. as a server-side prepared
statement from its first execution on. psycopg_pool gives a connection back without a round trip (it only
rolls back a connection left in a transaction, which autocommit never does).

The N reads of /queries and /updates go out in pipeline mode: executemany(returning=True) sends every
execution of the single-row SELECT before it reads the first result, so N rows cost one round trip instead of
N, and each row is still its own statement execution (pg_stat_statements counts N calls).
"""

from __future__ import annotations

import labapp_common as common
import psycopg
from flask import Flask
from psycopg_pool import ConnectionPool

SELECT_WORLD = common.SELECT_WORLD
SELECT_FORTUNES = common.SELECT_FORTUNES
UPDATE_WORLDS = common.UPDATE_WORLDS
SELECT_DEMO_NAME = common.SELECT_DEMO_NAME

_pool: ConnectionPool


def init_app(app: Flask, config: common.DbConfig) -> None:
    """Open this worker's pool (app is unused; the ORM variant registers itself with it)."""
    global _pool
    _pool = ConnectionPool(
        kwargs={
            "host": config.host,
            "port": config.port,
            "dbname": config.name,
            "user": config.user,
            "password": config.password,
            "autocommit": True,
        },
        min_size=config.pool_size,
        max_size=config.pool_size,
        timeout=common.POOL_WAIT_S,
        open=True,
    )
    _pool.wait()


def _pipelined_rows(cur: psycopg.Cursor[tuple[int, int]], ids: list[int]) -> list[tuple[int, int]]:
    """One SELECT_WORLD execution per id, all sent before the first result is read; the rows in id order."""
    cur.executemany(SELECT_WORLD, [(world_id,) for world_id in ids], returning=True)
    rows = []
    while True:
        row = cur.fetchone()
        assert row is not None
        rows.append(row)
        if not cur.nextset():
            return rows


def random_world() -> dict[str, int]:
    with _pool.connection() as conn:
        row = conn.execute(SELECT_WORLD, (common.random_id(),), prepare=True).fetchone()
    assert row is not None
    return {"id": row[0], "randomNumber": row[1]}


def random_worlds(n: int) -> list[dict[str, int]]:
    with _pool.connection() as conn, conn.cursor() as cur:
        rows = _pipelined_rows(cur, common.random_ids(n))
    return [{"id": row[0], "randomNumber": row[1]} for row in rows]


def fortunes() -> list[tuple[int, str]]:
    with _pool.connection() as conn:
        return conn.execute(SELECT_FORTUNES, prepare=True).fetchall()


def update_worlds(n: int) -> list[dict[str, int]]:
    ids = common.distinct_random_ids(n)
    with _pool.connection() as conn, conn.cursor() as cur:
        numbers = [common.new_random_number(row[1]) for row in _pipelined_rows(cur, ids)]
        cur.execute(UPDATE_WORLDS, (ids, numbers), prepare=True)
    return [{"id": i, "randomNumber": r} for i, r in zip(ids, numbers, strict=True)]


def lookup(name: str) -> bool:
    """Whether demo_data has a row of this name: one indexed equality lookup."""
    with _pool.connection() as conn:
        return conn.execute(SELECT_DEMO_NAME, (name,), prepare=True).fetchone() is not None
