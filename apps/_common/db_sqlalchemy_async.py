"""ORM database access for the asyncio apps (aiohttp, FastAPI): SQLAlchemy 2 async, one engine per worker.

Nothing here depends on the web framework, so the apps share it: each app.py imports it as `db`. The
engine's driver is asyncpg on Postgres and asyncmy on MySQL (LAB_DB_ENGINE), chosen once when the engine is
created; the models and statements are the same on both.

Per request the session costs the statements the route needs and nothing else: the engine runs in autocommit
(no BEGIN before the first statement, no ROLLBACK when the session gives its connection back) and the pool
returns connections without a reset. Each statement is then its own transaction, as in the raw layer; the
single UPDATE of /updates is atomic by itself. SQLAlchemy has no pipelined form of N selects, so /queries
runs N executions of one cached statement, one round trip each.
"""

from __future__ import annotations

import labapp_common as common
from sqlalchemy import URL, bindparam, case, select, update
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class World(Base):
    __tablename__ = "world"
    id: Mapped[int] = mapped_column(primary_key=True)
    randomnumber: Mapped[int]


class Fortune(Base):
    __tablename__ = "fortune"
    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str]


class DemoData(Base):
    """The lookup type's table; its time columns stay out of the model (the route reads none)."""

    __tablename__ = "demo_data"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


# Built once; SQLAlchemy caches their compiled form (and asyncpg prepares them).
# select() rather than session.get(): get() answers a repeated id from the identity map without a query,
# and /queries must run one query per row.
SELECT_WORLD = select(World).where(World.id == bindparam("id"))
SELECT_FORTUNES = select(Fortune)
# SELECT demo_data.id FROM demo_data WHERE demo_data.name = :name LIMIT 1: the indexed lookup of the name.
SELECT_DEMO_NAME = select(DemoData.id).where(DemoData.name == bindparam("name")).limit(1)

# SQLAlchemy's dialect and driver for each LAB_DB_ENGINE.
DRIVERS = {"postgres": "postgresql+asyncpg", "mysql": "mysql+asyncmy"}
# The connection's character set is the tables' (utf8mb4), so the server converts nothing.
URL_QUERY: dict[str, dict[str, str]] = {"postgres": {}, "mysql": {"charset": "utf8mb4"}}
# SQLAlchemy still calls the driver's rollback() when a session gives its connection back in AUTOCOMMIT;
# psycopg and asyncpg send nothing then, PyMySQL and asyncmy a ROLLBACK: one round trip per request, skipped.
ENGINE_OPTIONS: dict[str, dict[str, bool]] = {"postgres": {}, "mysql": {"skip_autocommit_rollback": True}}

_engine: AsyncEngine
_session: async_sessionmaker[AsyncSession]


async def open_pool(config: common.DbConfig) -> None:
    global _engine, _session
    url = URL.create(
        DRIVERS[config.engine],
        username=config.user,
        password=config.password,
        host=config.host,
        port=config.port,
        database=config.name,
        query=URL_QUERY[config.engine],
    )
    _engine = create_async_engine(
        url,
        pool_size=config.pool_size,
        max_overflow=0,
        pool_timeout=common.POOL_WAIT_S,
        isolation_level="AUTOCOMMIT",
        pool_reset_on_return=None,
        **ENGINE_OPTIONS[config.engine],
    )
    _session = async_sessionmaker(_engine, expire_on_commit=False, autoflush=False)


async def close_pool() -> None:
    await _engine.dispose()


async def random_world() -> dict[str, int]:
    async with _session() as session:
        world = (await session.scalars(SELECT_WORLD, {"id": common.random_id()})).one()
        return {"id": world.id, "randomNumber": world.randomnumber}


async def random_worlds(n: int) -> list[dict[str, int]]:
    worlds = []
    async with _session() as session:
        for world_id in common.random_ids(n):
            world = (await session.scalars(SELECT_WORLD, {"id": world_id})).one()
            worlds.append({"id": world.id, "randomNumber": world.randomnumber})
    return worlds


async def fortunes() -> list[tuple[int, str]]:
    async with _session() as session:
        return [(f.id, f.message) for f in await session.scalars(SELECT_FORTUNES)]


async def update_worlds(n: int) -> list[dict[str, int]]:
    new_numbers = {}
    # No session.begin(): in autocommit every statement commits itself, and the UPDATE is a single statement.
    async with _session() as session:
        for world_id in common.distinct_random_ids(n):
            world = (await session.scalars(SELECT_WORLD, {"id": world_id})).one()
            new_numbers[world.id] = common.new_random_number(world.randomnumber)
        # One UPDATE ... SET randomnumber = CASE id WHEN ... END for all rows (updates_write: bulk).
        await session.execute(
            update(World)
            .where(World.id.in_(new_numbers))
            .values(randomnumber=case(new_numbers, value=World.id))
            .execution_options(synchronize_session=False)
        )
    return [{"id": i, "randomNumber": r} for i, r in new_numbers.items()]


async def lookup(name: str) -> bool:
    """Whether demo_data has a row of this name: one indexed equality lookup."""
    async with _session() as session:
        return (await session.scalars(SELECT_DEMO_NAME, {"name": name})).first() is not None
