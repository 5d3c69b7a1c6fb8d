"""Raw database access for the asyncio apps (aiohttp, FastAPI, crax): asyncpg, one pool per worker process.

Nothing here depends on the web framework, so the three apps share it: each app.py imports it as `db`.

asyncpg prepares every statement on first use and keeps it in the connection's statement cache, so each
query below runs as a prepared statement from its second execution on.

The N reads of /queries and /updates go out pipelined: fetchmany() sends every Bind/Execute of the prepared
SELECT before it reads the first result, so N rows cost one round trip instead of N. Each row is still its own
execution of the single-row statement (pg_stat_statements counts N calls), as the rules require.
"""

from __future__ import annotations

import asyncpg
import labapp_common as common

SELECT_WORLD = common.numbered_placeholders(common.SELECT_WORLD)
SELECT_FORTUNES = common.SELECT_FORTUNES
UPDATE_WORLDS = common.numbered_placeholders(common.UPDATE_WORLDS)
SELECT_DEMO_NAME = common.numbered_placeholders(common.SELECT_DEMO_NAME)

_pool: asyncpg.Pool


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Release without asyncpg's reset query (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL): one round trip
    per request saved. Nothing here changes session state; an open transaction is still rolled back by the
    pool before this is called."""


async def open_pool(config: common.DbConfig) -> None:
    global _pool
    _pool = await asyncpg.create_pool(
        host=config.host,
        port=config.port,
        database=config.name,
        user=config.user,
        password=config.password,
        min_size=config.pool_size,
        max_size=config.pool_size,
        reset=_keep_session,
    )


async def close_pool() -> None:
    await _pool.close()


async def random_world() -> dict[str, int]:
    async with _pool.acquire() as conn:
        row = await conn.fetchrow(SELECT_WORLD, common.random_id())
    return {"id": row[0], "randomNumber": row[1]}


async def random_worlds(n: int) -> list[dict[str, int]]:
    async with _pool.acquire() as conn:
        rows = await conn.fetchmany(SELECT_WORLD, [(world_id,) for world_id in common.random_ids(n)])
    return [{"id": row[0], "randomNumber": row[1]} for row in rows]


async def fortunes() -> list[tuple[int, str]]:
    async with _pool.acquire() as conn:
        rows = await conn.fetch(SELECT_FORTUNES)
    return [(row[0], row[1]) for row in rows]


async def update_worlds(n: int) -> list[dict[str, int]]:
    ids = common.distinct_random_ids(n)
    async with _pool.acquire() as conn:
        rows = await conn.fetchmany(SELECT_WORLD, [(world_id,) for world_id in ids])
        numbers = [common.new_random_number(row[1]) for row in rows]
        await conn.execute(UPDATE_WORLDS, ids, numbers)
    return [{"id": i, "randomNumber": r} for i, r in zip(ids, numbers, strict=True)]


async def lookup(name: str) -> bool:
    """Whether demo_data has a row of this name: one indexed equality lookup."""
    async with _pool.acquire() as conn:
        row = await conn.fetchrow(SELECT_DEMO_NAME, name)
    return row is not None
