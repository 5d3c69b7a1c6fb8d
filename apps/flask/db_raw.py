"""Database access with the raw driver: psycopg 3, one connection pool per worker process.

Connections are in autocommit mode; every statement runs with prepare=True, i.e. as a server-side prepared
statement from its first execution on.
"""

from __future__ import annotations

import labapp_common as common
from flask import Flask
from psycopg_pool import ConnectionPool

SELECT_WORLD = common.SELECT_WORLD
SELECT_FORTUNES = common.SELECT_FORTUNES
UPDATE_WORLDS = common.UPDATE_WORLDS

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
        open=True,
    )
    _pool.wait()


def random_world() -> dict[str, int]:
    with _pool.connection() as conn:
        row = conn.execute(SELECT_WORLD, (common.random_id(),), prepare=True).fetchone()
    assert row is not None
    return {"id": row[0], "randomNumber": row[1]}


def random_worlds(n: int) -> list[dict[str, int]]:
    worlds = []
    with _pool.connection() as conn, conn.cursor() as cur:
        for world_id in common.random_ids(n):
            row = cur.execute(SELECT_WORLD, (world_id,), prepare=True).fetchone()
            assert row is not None
            worlds.append({"id": row[0], "randomNumber": row[1]})
    return worlds


def fortunes() -> list[tuple[int, str]]:
    with _pool.connection() as conn:
        return conn.execute(SELECT_FORTUNES, prepare=True).fetchall()


def update_worlds(n: int) -> list[dict[str, int]]:
    ids = common.distinct_random_ids(n)
    numbers = []
    with _pool.connection() as conn, conn.cursor() as cur:
        for world_id in ids:
            row = cur.execute(SELECT_WORLD, (world_id,), prepare=True).fetchone()
            assert row is not None
            numbers.append(common.new_random_number(row[1]))
        cur.execute(UPDATE_WORLDS, (ids, numbers), prepare=True)
    return [{"id": i, "randomNumber": r} for i, r in zip(ids, numbers, strict=True)]
