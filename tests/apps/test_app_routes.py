"""Every app in apps/ under its default gunicorn worker class, on a real Postgres and a real MariaDB (each
engine its manifest declares, in each db mode; docs/test-types.md §2 "Test types", docs/mysql.md).

The routes are checked the same way on both engines; the statement counts are read from each engine's own
counters (pg_stat_statements, performance_schema).
"""

from __future__ import annotations

import html
import json
import re
import time
import urllib.parse
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest

from analysis.verify.rules import DATE_FRESH_S, EXTRA_FORTUNE
from analysis.verify.rules import FORTUNES as RULE_FORTUNES
from labcore import demo_data
from labkit import demo_data as loaded
from labkit.apps import AppServer, Database, Response, get, load_manifest
from labkit.mariadb import DB_NAME, DB_USER, MariaDB
from labkit.postgres import PostgresCluster

from .conftest import server_params, started_server

pytestmark = [pytest.mark.needs_postgres, pytest.mark.needs_mariadb]


@pytest.fixture(scope="module", params=server_params(("postgres", "mysql")))
def server(request: pytest.FixtureRequest, server_logs: Path) -> Iterator[AppServer]:
    """Every framework x db mode on each engine its manifest declares."""
    yield from started_server(request, server_logs)


def database(server: AppServer) -> Database:
    assert server.database is not None
    return server.database


# The twelve rows of the fortune table and the one each request adds (the verifier's data set).
FORTUNES = [EXTRA_FORTUNE, *RULE_FORTUNES]
EXPECTED_FORTUNES_PAGE = (
    "<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
    "<tr><th>id</th><th>message</th></tr>"
    + "".join(f"<tr><td>{i}</td><td>{m}</td></tr>" for i, m in sorted(FORTUNES, key=lambda f: f[1]))
    + "</table></body></html>"
)
# (query string value, expected array length); None means the parameter is absent.
QUERIES_CASES = [
    ("2", 2), ("0", 1), ("-1", 1), ("foo", 1), ("", 1), (None, 1), ("501", 500), ("1000000000", 500),
    ("20", 20), ("500", 500), ("1", 1), ("+3", 3), ("2.5", 1), ("1e3", 1), (" 2", 1), ("0x10", 1),
    ("\uff12", 1), ("\u0663", 1), ("1_0", 1), ("9" * 1000, 500), ("-" + "9" * 1000, 1), ("x" * 2000, 1),
    ("日本語", 1), ("%", 1), ("%FF", 1), ("\x00", 1),
]  # fmt: skip


def _query_path(route: str, value: str | None) -> str:
    if value is None:
        return route
    return f"{route}?queries={urllib.parse.quote(value, safe='%')}"


def assert_common_headers(resp: Response, content_type: str) -> None:
    assert resp.status == 200, resp.body[:500]
    assert resp.header("Server"), "Server header missing"
    date = resp.header("Date")
    assert date, "Date header missing"
    parsedate_to_datetime(date)  # HTTP-date format
    assert resp.header("Content-Length") or resp.header("Transfer-Encoding")
    if resp.header("Content-Length"):
        assert int(resp.header("Content-Length") or -1) == len(resp.body)
    ctype = (resp.header("Content-Type") or "").lower().replace(" ", "")
    assert ctype.split(";")[0] == content_type.split(";")[0], ctype
    if ";" in content_type:  # the charset is required
        assert ctype == content_type.replace(" ", ""), ctype


def assert_world(obj: object) -> None:
    assert isinstance(obj, dict)
    assert set(obj) == {"id", "randomNumber"}, obj
    assert type(obj["id"]) is int and 1 <= obj["id"] <= 10000, obj
    assert type(obj["randomNumber"]) is int and 1 <= obj["randomNumber"] <= 10000, obj


@pytest.mark.no_database
def test_json(server: AppServer) -> None:
    resp = get(server, "/json")
    assert_common_headers(resp, "application/json")
    assert json.loads(resp.body) == {"message": "Hello, World!"}


@pytest.mark.no_database
def test_plaintext(server: AppServer) -> None:
    resp = get(server, "/plaintext")
    assert_common_headers(resp, "text/plain")
    assert resp.body == b"Hello, World!"


@pytest.mark.no_database
def test_date_is_not_cached(server: AppServer) -> None:
    # The rule's gap (docs/test-types.md §2.1): uvicorn refreshes its Date from its event loop's tick, which a
    # busy machine delays, and 1.6 s apart it once answered the same second twice.
    first = get(server, "/plaintext").header("Date")
    time.sleep(DATE_FRESH_S)
    second = get(server, "/plaintext").header("Date")
    assert first != second


def test_db(server: AppServer) -> None:
    ids = set()
    for _ in range(10):
        resp = get(server, "/db")
        assert_common_headers(resp, "application/json")
        world = json.loads(resp.body)
        assert_world(world)
        ids.add(world["id"])
    assert len(ids) > 1, "the id is not random"


def test_db_matches_database(server: AppServer) -> None:
    worlds = database(server).worlds()
    for _ in range(5):
        world = json.loads(get(server, "/db").body)
        assert worlds[world["id"]] == world["randomNumber"]


@pytest.mark.parametrize(("value", "length"), QUERIES_CASES, ids=[repr(c[0])[:12] for c in QUERIES_CASES])
def test_queries(server: AppServer, value: str | None, length: int) -> None:
    resp = get(server, _query_path("/queries", value))
    assert_common_headers(resp, "application/json")
    worlds = json.loads(resp.body)
    assert isinstance(worlds, list)
    assert len(worlds) == length
    for world in worlds:
        assert_world(world)


def test_queries_match_database(server: AppServer) -> None:
    worlds = database(server).worlds()
    for world in json.loads(get(server, "/queries?queries=20").body):
        assert worlds[world["id"]] == world["randomNumber"]


def test_fortunes(server: AppServer) -> None:
    resp = get(server, "/fortunes")
    assert_common_headers(resp, "text/html; charset=utf-8")
    page = resp.body.decode("utf-8")
    assert "フレームワークのベンチマーク" in page, "non-ASCII text must be sent as UTF-8"
    assert "<script>" not in page and "&lt;script&gt;" in page, "the script row must be escaped"
    # Entities may differ between template engines (&#34; vs &quot;); compare the unescaped page.
    normalized = re.sub(r">\s+<", "><", page.strip())
    assert html.unescape(normalized) == EXPECTED_FORTUNES_PAGE
    assert normalized.count("<tr>") == 14  # header + 13 fortunes


UPDATES_CASES = [("2", 2), ("0", 1), ("-1", 1), ("foo", 1), ("", 1), ("501", 500)]


@pytest.mark.parametrize(("value", "length"), UPDATES_CASES)
def test_updates_are_written(server: AppServer, value: str, length: int) -> None:
    before = database(server).worlds()
    resp = get(server, _query_path("/updates", value))
    assert_common_headers(resp, "application/json")
    worlds = json.loads(resp.body)
    after = database(server).worlds()
    assert isinstance(worlds, list) and len(worlds) == length
    for world in worlds:
        assert_world(world)
    assert len({w["id"] for w in worlds}) == length, "ids must be distinct"
    for world in worlds:
        assert after[world["id"]] == world["randomNumber"], "the response differs from the database"
        assert before[world["id"]] != world["randomNumber"], "the new value must differ from the old"
    changed = {i for i in before if before[i] != after[i]}
    assert changed == {w["id"] for w in worlds}


# /lookup's names (labapp_common.lookup_name_param): 1..255 characters of the alphabet are asked, anything
# else is no row's name, answered absent without a statement.
NAME_RULE = re.compile(f"[{re.escape(demo_data.NAME_ALPHABET)}]{{1,{demo_data.NAME_MAX}}}")
PRESENT = demo_data.name(1)  # every table size has row 1
# (query string value, the name the answer gives back, or None where frameworks decode it differently)
BAD_NAMES = [
    ("%00", "\x00"), ("a" * 300, "a" * 300), ("%FF", None), ("a%20b", "a b"), ("a+b", "a b"),
    ("%E6%97%A5%E6%9C%AC", "日本"), ("na%C3%AFve", "na\u00efve"), ("%25", "%"), ("a.b", "a.b"),
]  # fmt: skip


def _lookup(server: AppServer, query: str | None) -> dict[str, object]:
    resp = get(server, "/lookup" if query is None else f"/lookup?name={query}")
    assert_common_headers(resp, "application/json")
    answer = json.loads(resp.body)
    assert isinstance(answer, dict) and set(answer) == {"name", "found"}, answer
    assert type(answer["found"]) is bool, answer
    return answer


def test_lookup_finds_a_present_name(server: AppServer) -> None:
    for name in (PRESENT, demo_data.name(loaded.ROWS)):
        assert _lookup(server, name) == {"name": name, "found": True}


def test_lookup_does_not_find_an_absent_name(server: AppServer) -> None:
    absent = demo_data.absent_name()
    assert _lookup(server, absent) == {"name": absent, "found": False}
    # Names are compared byte for byte on both engines (MariaDB's utf8mb4_bin, Postgres' C collation).
    other_case = PRESENT.swapcase()
    assert other_case != PRESENT
    assert _lookup(server, other_case) == {"name": other_case, "found": False}
    assert _lookup(server, PRESENT + "x") == {"name": PRESENT + "x", "found": False}


@pytest.mark.parametrize("query", [None, ""], ids=["missing", "empty"])
def test_lookup_without_a_name_asks_a_random_one(server: AppServer, query: str | None) -> None:
    names = set()
    for _ in range(5):
        answer = _lookup(server, query)
        assert isinstance(answer["name"], str) and NAME_RULE.fullmatch(answer["name"]), answer
        names.add(answer["name"])
    assert len(names) > 1, "the name is not random"


@pytest.mark.parametrize(("query", "name"), BAD_NAMES, ids=[repr(c[0])[:14] for c in BAD_NAMES])
def test_lookup_answers_a_bad_name_absent(server: AppServer, query: str, name: str | None) -> None:
    answer = _lookup(server, query)
    assert answer["found"] is False, answer
    if name is not None:
        assert answer["name"] == name, answer


def test_updates_concurrently(server: AppServer) -> None:
    """Concurrent bulk updates of overlapping rows must not deadlock or fail."""
    with ThreadPoolExecutor(max_workers=16) as pool:
        responses = list(pool.map(lambda _: get(server, "/updates?queries=20"), range(64)))
    assert [r.status for r in responses] == [200] * 64, [r.body[:300] for r in responses if r.status != 200]


def _stat_sums(pg: PostgresCluster, verb: str, table: str, columns: str = "calls, rows") -> list[int]:
    """pg_stat_statements' sums of columns (by default: calls and rows) of the statements that begin with verb
    and name table."""
    sums = ", ".join(f"coalesce(sum({column}), 0)" for column in columns.split(", "))
    out = pg.psql(
        f"SELECT {sums} FROM pg_stat_statements"
        f" WHERE query ~* '^\\s*{verb}.*\\m{table}\\M' AND query !~* 'pg_stat_statements'"
    )
    return [int(value) for value in out.split("|")]


def _digest_sums(server: MariaDB, verb: str, table: str, columns: str = "") -> list[int]:
    """performance_schema's sums of columns (by default: executions and rows, sent by a SELECT, changed by an
    UPDATE) of the statements of hello_world that begin with verb and name table: what the verifier counts on
    MySQL (docs/mysql.md). The superuser's own statements have no default schema, so they are not among
    them."""
    columns = columns or "COUNT_STAR, " + ("SUM_ROWS_AFFECTED" if verb == "update" else "SUM_ROWS_SENT")
    sums = ", ".join(f"IFNULL(SUM({column}), 0)" for column in columns.split(", "))
    out = server.sql(
        f"SELECT {sums} FROM performance_schema.events_statements_summary_by_digest"
        f" WHERE SCHEMA_NAME = '{DB_NAME}' AND DIGEST_TEXT REGEXP '(?i)^{verb}.*\\\\b{table}\\\\b'"
    )
    return [int(value) for value in out.split("\t")]


def _reset_counts(db: Database) -> None:
    if isinstance(db, MariaDB):
        db.sql("TRUNCATE TABLE performance_schema.events_statements_summary_by_digest")
        db.sql("TRUNCATE TABLE performance_schema.events_statements_summary_by_thread_by_event_name")
    else:
        assert isinstance(db, PostgresCluster)
        db.psql("SELECT pg_stat_statements_reset()")


def _counts(db: Database, verb: str, table: str) -> tuple[int, int]:
    if isinstance(db, MariaDB):
        calls, rows = _digest_sums(db, verb, table)
    else:
        assert isinstance(db, PostgresCluster)
        calls, rows = _stat_sums(db, verb, table)
    return calls, rows


@pytest.mark.parametrize(
    ("path", "requests", "verb", "table", "calls", "rows"),
    [
        ("/db", 10, "select", "world", 10, 10),
        ("/queries?queries=20", 5, "select", "world", 100, 100),
        ("/fortunes", 5, "select", "fortune", 5, 60),
        ("/updates?queries=20", 5, "select", "world", 100, 100),
        ("/updates?queries=20", 5, "update", "world", 5, 100),  # updates_write: bulk
    ],
    ids=["db", "queries", "fortunes", "updates-reads", "updates-writes"],
)
def test_database_hits(
    server: AppServer, path: str, requests: int, verb: str, table: str, calls: int, rows: int
) -> None:
    """The verifier's database-hit check, scaled down (docs/test-types.md §3.5 "Database-hit check"), from the
    engine's own counters."""
    if verb == "update" and load_manifest(server.framework).get("updates_write") == "per_row":
        calls = rows
    db = database(server)
    _reset_counts(db)
    for _ in range(requests):
        assert get(server, path).status == 200
    assert _counts(db, verb, table) == (calls, rows)


# What one indexed lookup of a name reads at most, in the engine's counter (_lookup_reads): on Postgres the
# buffers of the name index's levels (3 at this size) and of one heap page; on MySQL the rows examined (the
# one found, if any). A full scan reads the whole table: hundreds of pages, loaded.ROWS rows.
LOOKUP_READS_AT_MOST = 8


def _lookup_reads(db: Database) -> tuple[int, int]:
    """What the statements on demo_data read since the counters' reset, and the whole table in the same unit:
    (buffers, the table's pages) on Postgres, (rows examined, the table's rows) on MySQL."""
    if isinstance(db, MariaDB):
        (examined,) = _digest_sums(db, "select", "demo_data", "SUM_ROWS_EXAMINED")
        return examined, loaded.ROWS
    assert isinstance(db, PostgresCluster)
    (buffers,) = _stat_sums(db, "select", "demo_data", "shared_blks_hit + shared_blks_read")
    return buffers, int(db.psql("SELECT pg_relation_size('demo_data') / current_setting('block_size')::int"))


@pytest.mark.parametrize(
    ("query", "calls", "rows"),
    [
        (None, 10, range(11)),
        (PRESENT, 10, range(10, 11)),
        (demo_data.absent_name(), 10, range(1)),
        ("%00", 0, range(1)),
        ("a" * 256, 0, range(1)),
    ],
    ids=["random", "present", "absent", "nul", "too-long"],
)
def test_lookup_database_hits(server: AppServer, query: str | None, calls: int, rows: range) -> None:
    """The lookup type's database hits (DbHits rows_at_most, indexed): one statement per request, a row at
    most, through the name's index; none for a name no row can have."""
    db = database(server)
    _reset_counts(db)
    for _ in range(10):
        _lookup(server, query)
    found_calls, found_rows = _counts(db, "select", "demo_data")
    assert found_calls == calls and found_rows in rows, (found_calls, found_rows)
    reads, table_size = _lookup_reads(db)
    assert reads <= LOOKUP_READS_AT_MOST * found_calls < table_size, (reads, found_calls, table_size)


# Statements that cost a round trip without reading or writing what the route needs: a transaction around a
# single statement, or a pool's reset of the session when a connection is given back (asyncpg's default).
_OVERHEAD = r"^\s*(begin|commit|rollback|reset|unlisten|close|discard|select pg_advisory_unlock_all)\M"
_PATHS = ["/db", "/queries?queries=5", "/fortunes", "/updates?queries=5", "/lookup"]
# On MySQL, performance_schema's classes of the statements the routes run; anything else on an open connection
# (SET autocommit, BEGIN, COMMIT, ROLLBACK, a ping, a connection reset...) is overhead.
_MYSQL_ROUTE_STATEMENTS = "'statement/sql/select', 'statement/sql/update'"


def _mysql_connections(db: MariaDB) -> str:
    """The apps' open connections (performance_schema's thread ids), as an SQL list."""
    ids = db.sql(f"SELECT THREAD_ID FROM performance_schema.threads WHERE PROCESSLIST_USER = '{DB_USER}'")
    return ", ".join(ids.split()) or "NULL"


def _mysql_overhead(db: MariaDB, connections: str) -> str:
    """The statements on those connections, since the counters' reset, other than the routes' own. A
    connection opened since then is not among them: what a driver runs once per connection is no overhead
    per request (and the route's statements are counted by test_database_hits)."""
    by_thread = "performance_schema.events_statements_summary_by_thread_by_event_name"
    routes = db.sql(
        f"SELECT IFNULL(SUM(COUNT_STAR), 0) FROM {by_thread}"
        f" WHERE THREAD_ID IN ({connections}) AND EVENT_NAME IN ({_MYSQL_ROUTE_STATEMENTS})"
    )
    assert int(routes) > 0, f"the requests used none of the connections open before them ({connections})"
    return db.sql(
        "SELECT IFNULL(GROUP_CONCAT(CONCAT(COUNT_STAR, 'x ', EVENT_NAME) SEPARATOR '; '), '')"
        f" FROM {by_thread} WHERE THREAD_ID IN ({connections}) AND COUNT_STAR > 0"
        f" AND EVENT_NAME NOT IN ({_MYSQL_ROUTE_STATEMENTS})"
    )


def test_a_request_sends_only_its_own_statements(server: AppServer) -> None:
    """No BEGIN/COMMIT/ROLLBACK around the statements and no reset when the pool takes a connection back."""
    for path in _PATHS:  # connections opened, the driver's and ORM's first-connect queries done
        assert get(server, path).status == 200
    db = database(server)
    _reset_counts(db)
    connections = _mysql_connections(db) if isinstance(db, MariaDB) else ""
    for _ in range(5):
        for path in _PATHS:
            assert get(server, path).status == 200
    if isinstance(db, MariaDB):
        overhead = _mysql_overhead(db, connections)
    else:
        assert isinstance(db, PostgresCluster)
        overhead = db.psql(
            "SELECT string_agg(calls || 'x ' || query, '; ') FROM pg_stat_statements"
            f" WHERE query ~* '{_OVERHEAD}'"
            " AND userid = (SELECT oid FROM pg_roles WHERE rolname = 'benchmarkdbuser')"
        )
    assert not overhead, overhead
