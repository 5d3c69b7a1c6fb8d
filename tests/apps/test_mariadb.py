"""The throwaway MariaDB of the app tests (labkit/mariadb.py), and the WSGI apps' MySQL driver under gevent.

Under gunicorn's gevent worker a request waiting on MariaDB must not block the other requests of its worker
process: PyMySQL is pure Python, so the worker's patched sockets make its waits cooperative (a C client such
as mysqlclient would hold the whole process). Modelled on the Postgres case in tests/matrix
(test_waiting_on_the_database_does_not_block_the_worker): a row lock held by the test makes one request wait.
"""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from analysis.verify.rules import FORTUNES, MAX_ID
from labcore import demo_data
from labkit import demo_data as loaded
from labkit.apps import app_server, get
from labkit.mariadb import APP_PRIVILEGES, DB_NAME, DB_USER, TABLES, MariaDB
from roles.mariadb.filter_plugins.mariadb_settings import mariadb_fortune_data

pytestmark = pytest.mark.needs_mariadb


def test_the_server_holds_the_roles_tables_rows_and_rights(mariadb: MariaDB) -> None:
    tables = mariadb.sql(
        f"SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{DB_NAME}' ORDER BY 1"
    )
    assert sorted(tables.split()) == sorted([*TABLES, demo_data.TABLE])  # demo_data: labkit/demo_data.py
    counts = mariadb.sql(
        "SELECT (SELECT COUNT(*) FROM world), (SELECT COUNT(*) FROM World), (SELECT COUNT(*) FROM fortune),"
        " (SELECT COUNT(*) FROM Fortune), (SELECT COUNT(*) FROM world WHERE randomNumber NOT BETWEEN 1 AND"
        f" {MAX_ID})",
        db=DB_NAME,
    )
    assert counts.split("\t") == [str(MAX_ID), str(MAX_ID), str(len(FORTUNES)), str(len(FORTUNES)), "0"]
    # The rows' digest as roles/mariadb compares it: the non-ASCII fortunes arrived as UTF-8.
    digest = mariadb.sql(
        "SELECT MD5(GROUP_CONCAT(id, ':', message ORDER BY id SEPARATOR '\\n')) FROM fortune", db=DB_NAME
    )
    assert digest == mariadb_fortune_data("fortune")["md5"]
    grants = mariadb.sql(f"SHOW GRANTS FOR '{DB_USER}'@'{mariadb.host}'")
    for table, rights in APP_PRIVILEGES.items():
        assert f"GRANT {', '.join(rights)} ON `{DB_NAME}`.`{table}`" in grants, grants
    assert len(grants.splitlines()) == 1 + len(APP_PRIVILEGES), grants  # USAGE, then one line per table
    assert mariadb.sql("SELECT @@performance_schema, @@log_bin") == "1\t0"
    assert mariadb.password not in mariadb.defaults_file.read_text()


def test_the_server_holds_demo_data(mariadb: MariaDB) -> None:
    """The lookup type's table as the loader leaves it: its rows, the name index, names compared bytewise."""
    found = mariadb.sql(
        f"SELECT COUNT(*), MAX(id), (SELECT id FROM demo_data WHERE name = '{demo_data.name(1)}'),"
        f" (SELECT COUNT(*) FROM demo_data WHERE name = '{demo_data.name(1).swapcase()}')"
        f" FROM {demo_data.TABLE}",
        db=DB_NAME,
    )
    assert found.split("\t") == [str(loaded.ROWS), str(loaded.ROWS), "1", "0"]
    index = mariadb.sql(
        "SELECT INDEX_NAME, COLUMN_NAME, COLLATION_NAME FROM information_schema.STATISTICS"
        " JOIN information_schema.COLUMNS USING (TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME)"
        f" WHERE TABLE_SCHEMA = '{DB_NAME}' AND TABLE_NAME = '{demo_data.TABLE}' AND INDEX_NAME <> 'PRIMARY'"
    )
    assert index == "demo_data_name\tname\tutf8mb4_bin"


@pytest.mark.parametrize("mode", ["raw", "orm"])
def test_waiting_on_a_row_lock_does_not_block_the_gevent_worker(
    mode: str, mariadb: MariaDB, server_logs: Path
) -> None:
    """One gevent worker; while one request waits for a row lock in MariaDB, the worker still answers, its
    database reads included (on another connection of its pool)."""
    with (
        app_server(
            "flask",
            mode,
            mariadb,
            server_logs,
            workers=1,
            pool_size=3,
            worker_class="gevent",
            server="gunicorn",
        ) as app,
        mariadb.world_row_locks() as release,
        ThreadPoolExecutor(1) as pool,
    ):
        assert app.config["worker_class"] == "gevent"
        blocked = pool.submit(get, app, "/updates?queries=1", 60)
        time.sleep(0.5)
        assert not blocked.done(), "the update did not wait for the lock"
        started = time.monotonic()
        assert json.loads(get(app, "/json", timeout=10).body) == {"message": "Hello, World!"}
        world = get(app, "/db", timeout=10)
        assert world.status == 200 and set(json.loads(world.body)) == {"id", "randomNumber"}, world.body
        assert time.monotonic() - started < 2, "the worker was blocked by the waiting request"
        assert not blocked.done(), "the lock was not held"
        release()
        assert blocked.result(30).status == 200
