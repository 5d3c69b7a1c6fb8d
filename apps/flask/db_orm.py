"""Database access through the ORM: Flask-SQLAlchemy (SQLAlchemy 2; psycopg 3 on Postgres, PyMySQL on MySQL).

The engine (one pool per worker process) is created by init_app(); Flask-SQLAlchemy's scoped session is
removed at the end of every request.

Per request the session costs the statements the route needs and nothing else: the engine runs in autocommit
(the driver sends no BEGIN before the first statement, and giving the connection back needs no ROLLBACK) and
the pool returns connections without a reset. Each statement is then its own transaction, as in raw mode; the
single UPDATE of /updates is atomic by itself. SQLAlchemy has no pipelined form of N selects, so /queries runs
N executions of one cached statement (psycopg prepares it after a few), one round trip each.
"""

from __future__ import annotations

import labapp_common as common
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import URL, bindparam, case, select, update
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


# Nothing is flushed implicitly (the routes write through one explicit UPDATE) and nothing expires.
db = SQLAlchemy(model_class=Base, session_options={"autoflush": False, "expire_on_commit": False})


class World(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "world"
    id: Mapped[int] = mapped_column(primary_key=True)
    randomnumber: Mapped[int]


class Fortune(db.Model):  # type: ignore[name-defined,misc]
    __tablename__ = "fortune"
    id: Mapped[int] = mapped_column(primary_key=True)
    message: Mapped[str]


class DemoData(db.Model):  # type: ignore[name-defined,misc]
    """The lookup type's table; its time columns stay out of the model (the route reads none)."""

    __tablename__ = "demo_data"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str]


# Built once; SQLAlchemy caches their compiled form.
# select() rather than session.get(): get() answers a repeated id from the identity map without a query,
# and /queries must run one query per row.
SELECT_WORLD = select(World).where(World.id == bindparam("id"))
SELECT_FORTUNES = select(Fortune)
# SELECT demo_data.id FROM demo_data WHERE demo_data.name = :name LIMIT 1: the indexed lookup of the name.
SELECT_DEMO_NAME = select(DemoData.id).where(DemoData.name == bindparam("name")).limit(1)

# SQLAlchemy's dialect and driver for each LAB_DB_ENGINE. PyMySQL is pure Python, so under the gevent worker
# a query waiting on MySQL lets the other greenlets run.
DRIVERS = {"postgres": "postgresql+psycopg", "mysql": "mysql+pymysql"}
# The connection's character set is the tables' (utf8mb4), so the server converts nothing.
URL_QUERY: dict[str, dict[str, str]] = {"postgres": {}, "mysql": {"charset": "utf8mb4"}}
# SQLAlchemy still calls the driver's rollback() when a session gives its connection back in AUTOCOMMIT;
# psycopg sends nothing then, PyMySQL a ROLLBACK: one round trip per request, skipped.
ENGINE_OPTIONS: dict[str, dict[str, bool]] = {"postgres": {}, "mysql": {"skip_autocommit_rollback": True}}


def init_app(app: Flask, config: common.DbConfig) -> None:
    app.config["SQLALCHEMY_DATABASE_URI"] = URL.create(
        DRIVERS[config.engine],
        username=config.user,
        password=config.password,
        host=config.host,
        port=config.port,
        database=config.name,
        query=URL_QUERY[config.engine],
    )
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        "pool_size": config.pool_size,
        "max_overflow": 0,
        "pool_timeout": common.POOL_WAIT_S,
        "isolation_level": "AUTOCOMMIT",
        "pool_reset_on_return": None,
        **ENGINE_OPTIONS[config.engine],
    }
    db.init_app(app)


def random_world() -> dict[str, int]:
    world = db.session.scalars(SELECT_WORLD, {"id": common.random_id()}).one()
    return {"id": world.id, "randomNumber": world.randomnumber}


def random_worlds(n: int) -> list[dict[str, int]]:
    worlds = []
    for world_id in common.random_ids(n):
        world = db.session.scalars(SELECT_WORLD, {"id": world_id}).one()
        worlds.append({"id": world.id, "randomNumber": world.randomnumber})
    return worlds


def fortunes() -> list[tuple[int, str]]:
    return [(f.id, f.message) for f in db.session.scalars(SELECT_FORTUNES)]


def update_worlds(n: int) -> list[dict[str, int]]:
    new_numbers = {}
    for world_id in common.distinct_random_ids(n):
        world = db.session.scalars(SELECT_WORLD, {"id": world_id}).one()
        new_numbers[world.id] = common.new_random_number(world.randomnumber)
    # One UPDATE ... SET randomnumber = CASE id WHEN ... END for all rows (updates_write: bulk).
    db.session.execute(
        update(World)
        .where(World.id.in_(new_numbers))
        .values(randomnumber=case(new_numbers, value=World.id))
        .execution_options(synchronize_session=False)
    )  # autocommit: no session.commit() round trip needed
    return [{"id": i, "randomNumber": r} for i, r in new_numbers.items()]


def lookup(name: str) -> bool:
    """Whether demo_data has a row of this name: one indexed equality lookup."""
    return db.session.scalars(SELECT_DEMO_NAME, {"name": name}).first() is not None
