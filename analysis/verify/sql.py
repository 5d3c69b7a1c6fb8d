"""The database snapshots the verifier grades, written once here for each engine.

The verifier's checks never connect to the database (it admits only the app hosts): whoever can reach it runs
these statements as a superuser in `hello_world` and hands the verifier the one JSON value each returns (the
`snapshot` column). In the lab that is recorder.py on the db host; ``python -m analysis.verify sql`` prints
them for anyone else; the tests run them through psql and the mariadb client.

- COUNTERS: per table, the statements mentioning it and the rows they read, the updates of it and the rows
  they wrote, for the database-hit check, and what the reads examined, for the index check of the lookup
  type: rows on the MySQL family (SUM_ROWS_EXAMINED), buffer pages touched on Postgres (shared_blks_hit +
  shared_blks_read; it keeps no per-statement count of rows examined). `examined` names the unit.
  Postgres: sums over pg_stat_statements (its own literals are normalized to $n, so it never counts itself).
  MySQL family: sums over performance_schema's statement digests of the database
  (``events_statements_summary_by_digest``: COUNT_STAR, SUM_ROWS_SENT, SUM_ROWS_AFFECTED, SUM_ROWS_EXAMINED).
  Either way the reading session switches its own statistics off first (SESSION_SETUP),
  since WORLDS reads world.
- WORLDS: every (id, randomnumber) of world and of the quoted-case "World", for the update check.

On the MySQL family "rows updated" is what the server reports as affected: rows whose value changed, unless a
client asks for rows matched (CLIENT_FOUND_ROWS, which Django's backend does); an update writing the old
value back then still fails the update check, which compares World itself.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

TABLES = ("world", "fortune", "demo_data")

_MENTIONS = r"query ~* '\m{table}\M'"
# An UPDATE of the table however it is qualified or quoted: UPDATE world, UPDATE "World", UPDATE public.world
_UPDATES = r"""query ~* '\mupdate\s+(only\s+)?("?\w+"?\.)?"?{table}\M'"""


def _counter_columns(table: str) -> list[str]:
    mentions = _MENTIONS.format(table=table)
    updates = _UPDATES.format(table=table)
    return [
        f"'{table}_calls', coalesce(sum(calls) FILTER (WHERE {mentions}), 0)::bigint",
        f"'{table}_rows_read', coalesce(sum(rows) FILTER (WHERE {mentions} AND NOT {updates}), 0)::bigint",
        f"'{table}_updates', coalesce(sum(calls) FILTER (WHERE {updates}), 0)::bigint",
        f"'{table}_rows_updated', coalesce(sum(rows) FILTER (WHERE {updates}), 0)::bigint",
        # Postgres counts no rows examined per statement: the buffer pages its reads touched stand in.
        f"'{table}_examined', coalesce(sum(shared_blks_hit + shared_blks_read)"
        f" FILTER (WHERE {mentions} AND NOT {updates}), 0)::bigint",
    ]


COUNTERS = (
    "SELECT json_build_object(\n    "
    + ",\n    ".join(
        ["'examined', 'blocks'", *(column for table in TABLES for column in _counter_columns(table))]
    )
    + "\n) AS snapshot\nFROM pg_stat_statements\n"
    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
)

WORLDS = (
    "SELECT json_build_object(\n"
    "    'world', (SELECT string_agg(id || ':' || randomnumber, ',' ORDER BY id) FROM world),\n"
    """    'World', (SELECT string_agg(id || ':' || randomnumber, ',' ORDER BY id) FROM "World")\n"""
    ") AS snapshot"
)

# MySQL family. The digest text names tables in backquotes ("SELECT `id` , `randomNumber` FROM `world` WHERE
# `id` = ?"); (?i) makes the match ignore case, as Postgres' ~* does. SCHEMA_NAME is the default database of
# the statement's session: the apps' connections name hello_world.
_MY_MENTIONS = "(DIGEST_TEXT REGEXP '(?i)\\\\b{table}\\\\b')"
_MY_UPDATES = "(DIGEST_TEXT REGEXP '(?i)^\\\\s*update\\\\s+(`?\\\\w+`?\\\\.)?`?{table}\\\\b')"


def _my_counter_columns(table: str) -> list[str]:
    mentions = _MY_MENTIONS.format(table=table)
    updates = _MY_UPDATES.format(table=table)
    return [
        f"'{table}_calls', COALESCE(SUM(IF({mentions}, COUNT_STAR, 0)), 0)",
        f"'{table}_rows_read', COALESCE(SUM(IF({mentions} AND NOT {updates}, SUM_ROWS_SENT, 0)), 0)",
        f"'{table}_updates', COALESCE(SUM(IF({updates}, COUNT_STAR, 0)), 0)",
        f"'{table}_rows_updated', COALESCE(SUM(IF({updates}, SUM_ROWS_AFFECTED, 0)), 0)",
        f"'{table}_examined', COALESCE(SUM(IF({mentions} AND NOT {updates}, SUM_ROWS_EXAMINED, 0)), 0)",
    ]


MYSQL_COUNTERS = (
    "SELECT JSON_OBJECT(\n    "
    # The digests are added up without locks: under concurrency a few statements go uncounted (rules.py,
    # APPROXIMATE_COUNT_SLACK); the snapshot says so.
    + ",\n    ".join(
        [
            "'exact', FALSE",
            "'examined', 'rows'",
            *(column for table in TABLES for column in _my_counter_columns(table)),
        ]
    )
    + "\n) AS snapshot\nFROM performance_schema.events_statements_summary_by_digest\n"
    "WHERE SCHEMA_NAME = DATABASE()"
)

MYSQL_WORLDS = (
    "SELECT JSON_OBJECT(\n"
    "    'world', (SELECT GROUP_CONCAT(id, ':', randomNumber ORDER BY id SEPARATOR ',') FROM `world`),\n"
    "    'World', (SELECT GROUP_CONCAT(id, ':', randomNumber ORDER BY id SEPARATOR ',') FROM `World`)\n"
    ") AS snapshot"
)

ENGINES = ("postgres", "mysql")
STATEMENTS = {"counters": COUNTERS, "worlds": WORLDS}
ENGINE_STATEMENTS = {"postgres": STATEMENTS, "mysql": {"counters": MYSQL_COUNTERS, "worlds": MYSQL_WORLDS}}
# Run once by the session that takes the snapshots, before any of them (as a superuser).
SESSION_SETUP = {
    # A superuser may switch tracking off for its session: the snapshots' own statements never count.
    "postgres": ["SET pg_stat_statements.track = none"],
    "mysql": [
        "UPDATE performance_schema.threads SET INSTRUMENTED = 'NO' WHERE PROCESSLIST_ID = CONNECTION_ID()",
        # WORLDS is 10,000 pairs of up to 11 characters per table; GROUP_CONCAT cuts at this length silently.
        "SET SESSION group_concat_max_len = 4194304",
    ],
}


def statements(engine: str) -> dict[str, str]:
    """The snapshot statements of an engine; an unknown engine is an error naming it."""
    if engine not in ENGINE_STATEMENTS:
        raise ValueError(f"database engine {engine!r}: allowed {', '.join(ENGINES)}")
    return ENGINE_STATEMENTS[engine]


def counter_keys() -> list[str]:
    return [f"{t}_{k}" for t in TABLES for k in ("calls", "rows_read", "updates", "rows_updated", "examined")]


def parse_counters(snapshot: Mapping[str, Any]) -> dict[str, int]:
    """The COUNTERS snapshot as integers; a missing or non-numeric counter is an error naming it."""
    counters = {}
    for key in counter_keys():
        value = snapshot.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"counter snapshot: {key} is {value!r}, expected a number")
        counters[key] = int(value)
    return counters


def counters_exact(snapshot: Mapping[str, Any]) -> bool:
    """Whether a COUNTERS snapshot counts every statement (Postgres'), or may miss a few (MySQL's)."""
    return snapshot.get("exact", True) is not False


def examined_unit(snapshot: Mapping[str, Any]) -> str:
    """What a COUNTERS snapshot's `<table>_examined` counts: "rows" examined (MySQL's) or buffer "blocks"
    touched (Postgres')."""
    unit = snapshot.get("examined", "blocks")
    if unit not in ("rows", "blocks"):
        raise ValueError(f"counter snapshot: examined is {unit!r}, expected 'rows' or 'blocks'")
    return str(unit)


def parse_worlds(snapshot: Mapping[str, Any]) -> dict[str, dict[int, int]]:
    """The WORLDS snapshot as {table: {id: randomnumber}} (a table that is empty maps to {})."""
    tables: dict[str, dict[int, int]] = {}
    for table in ("world", "World"):
        text = snapshot.get(table) or ""
        if not isinstance(text, str):
            raise ValueError(f"world snapshot: {table} is {type(text).__name__}, expected 'id:number,...'")
        rows = {}
        for pair in filter(None, text.split(",")):
            row_id, _, number = pair.partition(":")
            rows[int(row_id)] = int(number)
        tables[table] = rows
    return tables


def statements_json(engine: str = "postgres") -> str:
    return json.dumps(statements(engine), indent=2)
