"""Helpers shared by every app in apps/: configuration from the environment and the benchmark rules.

Plain module with no dependencies. The app server role puts apps/_common on every app's path
(``--pythonpath``); every app imports it as ``labapp_common``. It also holds the raw SQL, written once.
"""

from __future__ import annotations

import functools
import os
import random
import re
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

MAX_ID = 10000
MAX_QUERIES = 500
EXTRA_FORTUNE = (0, "Additional fortune added at request time.")
DB_MODES = ("raw", "orm")
# The engine's default port when LAB_DB_PORT is not set.
DB_ENGINES = {"postgres": 5432, "mysql": 3306}

# How long a request waits for a pooled database connection before it fails. Under a benchmark's load every
# connection of a small pool is busy and requests queue for one, as they would at the database; the client's
# own timeout is the limit that counts, so the pools wait far longer than any client (asyncpg's pool waits
# forever; SQLAlchemy's and psycopg_pool's default of 30 s turned a slow spell into 500s).
POOL_WAIT_S = 3600.0

# The raw SQL of every app, written once in the %s placeholder style of psycopg, PyMySQL and asyncmy;
# asyncpg's numbered style is derived by numbered_placeholders(). The two reads are the same on both engines
# (MariaDB matches column names without regard to case); the bulk update differs, MySQL having no unnest().
SELECT_WORLD = "SELECT id, randomnumber FROM world WHERE id = %s"
SELECT_FORTUNES = "SELECT id, message FROM fortune"
# One statement per request for all rows (updates_write: bulk); callers pass the ids sorted.
UPDATE_WORLDS = (
    "UPDATE world SET randomnumber = v.randomnumber"
    " FROM (SELECT unnest(%s::integer[]) AS id, unnest(%s::integer[]) AS randomnumber) AS v"
    " WHERE world.id = v.id"
)


def mysql_select_worlds(ids: list[int]) -> str:
    """The reads of /queries and /updates on MySQL: one execution of SELECT_WORLD per id, all in one text sent
    at once (a multi-statement), so N rows cost one round trip; the server runs and counts each SELECT as a
    statement of its own (performance_schema). MySQL's counterpart of the Postgres apps' pipelining.

    The ids are formatted in as integers, the only values the text holds.
    """
    return ";".join([SELECT_WORLD % int(world_id) for world_id in ids])


@functools.cache
def mysql_update_worlds(n: int) -> str:
    """MySQL's form of UPDATE_WORLDS for n rows: one statement, its arguments from mysql_update_args().

    Cached per n (at most MAX_QUERIES texts): the text depends on the number of rows only.
    """
    whens = " ".join(["WHEN %s THEN %s"] * n)
    return f"UPDATE world SET randomnumber = CASE id {whens} END WHERE id IN ({', '.join(['%s'] * n)})"


def mysql_update_args(ids: list[int], numbers: list[int]) -> list[int]:
    """The arguments of mysql_update_worlds(len(ids)): each id with its number, then the ids."""
    return [value for pair in zip(ids, numbers, strict=True) for value in pair] + ids


# The lookup type: demo_data's names are 1..NAME_MAX characters of NAME_ALPHABET. Their home is
# labcore/demo_data.py, which writes the rows; the apps carry no labcore, and a test checks these copies.
NAME_MAX = 255
NAME_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-"
_NAME = re.compile(f"[{re.escape(NAME_ALPHABET)}]{{1,{NAME_MAX}}}")
# LIMIT 1: a short name is held by many rows; one answers the question.
SELECT_DEMO_NAME = "SELECT id FROM demo_data WHERE name = %s LIMIT 1"

# ASCII digits only: int() alone would also accept fullwidth digits, "1_0" and surrounding spaces.
_INTEGER = re.compile(r"[+-]?[0-9]+")


@dataclass(frozen=True)
class DbConfig:
    host: str
    port: int
    name: str
    user: str
    password: str | None
    pool_size: int
    mode: str
    engine: str = "postgres"


def db_config_from_env(environ: Mapping[str, str] = os.environ) -> DbConfig:
    """Read the LAB_DB_* variables once, at startup (the password from LAB_DB_PASSWORD_FILE)."""
    password = None
    password_file = environ.get("LAB_DB_PASSWORD_FILE", "")
    if password_file:
        with open(password_file, encoding="utf-8") as f:
            password = f.read().strip()
    mode = environ.get("LAB_DB_MODE", "raw")
    if mode not in DB_MODES:
        raise ValueError(f"LAB_DB_MODE must be one of {DB_MODES}, not {mode!r}")
    engine = environ.get("LAB_DB_ENGINE", "postgres")
    if engine not in DB_ENGINES:
        raise ValueError(f"LAB_DB_ENGINE must be one of {tuple(DB_ENGINES)}, not {engine!r}")
    pool_size = int(environ.get("LAB_DB_POOL_SIZE", "8"))
    if pool_size < 1:
        raise ValueError(f"LAB_DB_POOL_SIZE must be >= 1, not {pool_size}")
    return DbConfig(
        host=environ.get("LAB_DB_HOST", "127.0.0.1"),
        port=int(environ.get("LAB_DB_PORT", DB_ENGINES[engine])),
        name=environ.get("LAB_DB_NAME", "hello_world"),
        user=environ.get("LAB_DB_USER", "benchmarkdbuser"),
        password=password,
        pool_size=pool_size,
        mode=mode,
        engine=engine,
    )


def greenlet_worker() -> bool:
    """True under gunicorn's gevent worker, which monkey-patches threading before it imports the app.

    Thread-local state (Django's connections) is then per greenlet, i.e. per client connection.
    """
    monkey = sys.modules.get("gevent.monkey")
    return monkey is not None and bool(monkey.is_module_patched("threading"))


def queries_param(raw: str | None) -> int:
    """The `queries` rule: missing, empty, not an integer or < 1 -> 1; > 500 -> 500. Never raises."""
    if not raw or not _INTEGER.fullmatch(raw):
        return 1
    try:
        n = int(raw)
    except ValueError:  # more digits than int() accepts: a huge number
        n = -1 if raw.startswith("-") else MAX_QUERIES
    return min(max(n, 1), MAX_QUERIES)


def lookup_name_param(raw: str | None) -> tuple[str, bool]:
    """The name /lookup asks about, and whether any row can have it.

    Missing or empty: a random name (random length 1..NAME_MAX, random letters of NAME_ALPHABET), asked. A
    given name of that form: asked as is. Any other given name (too long, or a character outside the
    alphabet, NUL among them, which Postgres refuses in text) is no row's name: answered absent with no
    statement, so that no input gives a 5xx. Never raises.
    """
    if not raw:
        return "".join(random.choices(NAME_ALPHABET, k=random.randint(1, NAME_MAX))), True
    return raw, _NAME.fullmatch(raw) is not None


def lookup_answer(name: str, found: bool) -> dict[str, object]:
    """The body of /lookup."""
    return {"name": name, "found": found}


def random_id() -> int:
    return random.randint(1, MAX_ID)


def random_ids(n: int) -> list[int]:
    """n ids for /queries (repeats allowed, like independent requests)."""
    return [random.randint(1, MAX_ID) for _ in range(n)]


def distinct_random_ids(n: int) -> list[int]:
    """n distinct ids for /updates, sorted so that concurrent updates lock rows in the same order."""
    return sorted(random.sample(range(1, MAX_ID + 1), n))


def new_random_number(old: int) -> int:
    """A random number in 1..10000 that differs from `old`."""
    new = random.randint(1, MAX_ID - 1)
    return new + 1 if new >= old else new


def sorted_fortunes(rows: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
    """The rows read from the database plus the request-time fortune, sorted by message."""
    fortunes = [*rows, EXTRA_FORTUNE]
    fortunes.sort(key=lambda f: f[1])
    return fortunes


def numbered_placeholders(sql: str) -> str:
    """%s placeholders as $1, $2, ... (asyncpg's style)."""
    parts = sql.split("%s")
    return "".join(part + (f"${i}" if i < len(parts) else "") for i, part in enumerate(parts, start=1))
