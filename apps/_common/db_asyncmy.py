"""Raw MySQL access for the asyncio apps (aiohttp, FastAPI, crax): asyncmy, one pool per worker process.

The MySQL counterpart of db_asyncpg.py, with the same functions; nothing here depends on the web
framework, so the three apps share it (each app.py imports it as `db` when LAB_DB_ENGINE=mysql).

Connections are in autocommit mode, so no statement but the route's own is sent: asyncmy's pool gives a
connection back without a round trip (it only drops one left inside a transaction, which autocommit never
is). Statements go over the text protocol. The N reads of /queries and /updates are N SELECTs sent in one
multi-statement text (labapp_common.mysql_select_worlds): one round trip, each row still its own statement.
"""

from __future__ import annotations

import asyncmy
import labapp_common as common
from asyncmy.cursors import Cursor

SELECT_WORLD = common.SELECT_WORLD
SELECT_FORTUNES = common.SELECT_FORTUNES
SELECT_DEMO_NAME = common.SELECT_DEMO_NAME

_pool: asyncmy.Pool


async def _worlds(cur: Cursor, ids: list[int]) -> list[tuple[int, int]]:
    """One SELECT_WORLD per id, all sent at once; the rows in id order."""
    await cur.execute(common.mysql_select_worlds(ids))
    rows = []
    while True:
        rows.append(await cur.fetchone())
        if not await cur.nextset():
            return rows


async def open_pool(config: common.DbConfig) -> None:
    global _pool
    _pool = await asyncmy.create_pool(
        host=config.host,
        port=config.port,
        database=config.name,
        user=config.user,
        password=config.password or "",
        minsize=config.pool_size,
        maxsize=config.pool_size,
        autocommit=True,
        charset="utf8mb4",
    )


async def close_pool() -> None:
    _pool.close()
    await _pool.wait_closed()


async def random_world() -> dict[str, int]:
    async with _pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(SELECT_WORLD, (common.random_id(),))
        row = await cur.fetchone()
    return {"id": row[0], "randomNumber": row[1]}


async def random_worlds(n: int) -> list[dict[str, int]]:
    async with _pool.acquire() as conn, conn.cursor() as cur:
        rows = await _worlds(cur, common.random_ids(n))
    return [{"id": row[0], "randomNumber": row[1]} for row in rows]


async def fortunes() -> list[tuple[int, str]]:
    async with _pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(SELECT_FORTUNES)
        return [(row[0], row[1]) for row in await cur.fetchall()]


async def update_worlds(n: int) -> list[dict[str, int]]:
    ids = common.distinct_random_ids(n)
    async with _pool.acquire() as conn, conn.cursor() as cur:
        numbers = [common.new_random_number(row[1]) for row in await _worlds(cur, ids)]
        await cur.execute(common.mysql_update_worlds(n), common.mysql_update_args(ids, numbers))
    return [{"id": i, "randomNumber": r} for i, r in zip(ids, numbers, strict=True)]


async def lookup(name: str) -> bool:
    """Whether demo_data has a row of this name: one indexed equality lookup."""
    async with _pool.acquire() as conn, conn.cursor() as cur:
        await cur.execute(SELECT_DEMO_NAME, (name,))
        return await cur.fetchone() is not None
