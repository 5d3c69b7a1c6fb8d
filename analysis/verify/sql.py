"""The database snapshots the verifier grades, written once here.

The verifier's checks never connect to Postgres (pg_hba admits only the app hosts): whoever can reach the
database runs these statements as a superuser in `hello_world` and hands the verifier the one JSON value
each returns (the `snapshot` column). In the lab that is recorder.py on the db host; ``python -m
analysis.verify sql`` prints them for anyone else; the tests run them through psql.

- COUNTERS: pg_stat_statements sums per table (calls of statements mentioning it; rows read by the others;
  rows written by updates of it), for the database-hit check. Its own literals are normalized to $n by
  pg_stat_statements, so it never counts itself (and the recorder's session does not track at all, since
  WORLDS reads world).
- WORLDS: every (id, randomnumber) of world and of the quoted "World", for the update check.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

TABLES = ("world", "fortune")

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
    ]


COUNTERS = (
    "SELECT json_build_object(\n    "
    + ",\n    ".join(column for table in TABLES for column in _counter_columns(table))
    + "\n) AS snapshot\nFROM pg_stat_statements\n"
    "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database())"
)

WORLDS = (
    "SELECT json_build_object(\n"
    "    'world', (SELECT string_agg(id || ':' || randomnumber, ',' ORDER BY id) FROM world),\n"
    """    'World', (SELECT string_agg(id || ':' || randomnumber, ',' ORDER BY id) FROM "World")\n"""
    ") AS snapshot"
)

STATEMENTS = {"counters": COUNTERS, "worlds": WORLDS}


def counter_keys() -> list[str]:
    return [f"{t}_{k}" for t in TABLES for k in ("calls", "rows_read", "updates", "rows_updated")]


def parse_counters(snapshot: Mapping[str, Any]) -> dict[str, int]:
    """The COUNTERS snapshot as integers; a missing or non-numeric counter is an error naming it."""
    counters = {}
    for key in counter_keys():
        value = snapshot.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise ValueError(f"counter snapshot: {key} is {value!r}, expected a number")
        counters[key] = int(value)
    return counters


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


def statements_json() -> str:
    return json.dumps(STATEMENTS, indent=2)
