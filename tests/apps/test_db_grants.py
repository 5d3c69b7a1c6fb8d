"""Every app's database routes under exactly the rights roles/postgres gives benchmarkdbuser (issue 14,
point 4).

The other app tests make benchmarkdbuser the owner of their throwaway database (labkit/postgres.py),
which allows anything. Here a cluster of its own takes the lab's layout: the database and the tables belong
to postgres, PUBLIC may not connect or create, and benchmarkdbuser holds only the table rights of the role's
_postgres_app_privileges (roles/postgres/vars/main.yml, read from the file). Every framework in each of its
db modes must then answer /db, /queries, /fortunes, /updates and /lookup: the rights are all the apps need,
with raw SQL and with the ORMs.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from labcore import demo_data
from labkit.apps import app_server, ensure_venv, frameworks, get, load_manifest
from labkit.paths import REPO
from labkit.postgres import DB_NAME, DB_USER, PostgresCluster, postgres_cluster

pytestmark = pytest.mark.needs_postgres

ROLE_VARS = yaml.safe_load((REPO / "roles" / "postgres" / "vars" / "main.yml").read_text(encoding="utf-8"))
APP_PRIVILEGES: dict[str, list[str]] = ROLE_VARS["_postgres_app_privileges"]
# The role's tables, and demo_data (labkit loads it as the lab's db host does).
TABLES: list[str] = [*ROLE_VARS["_postgres_tables"], demo_data.TABLE]
ROUTES = [
    "/db",
    "/queries?queries=3",
    "/fortunes",
    "/updates?queries=3",
    "/lookup",
    f"/lookup?name={demo_data.name(1)}",
]
CASES = [
    (framework, mode) for framework in frameworks() for mode in load_manifest(framework).get("db_modes", [])
]


def _lab_rights(cluster: PostgresCluster) -> None:
    """What the role's tasks/data.yml leaves, in SQL."""
    cluster.psql(f"ALTER DATABASE {DB_NAME} OWNER TO postgres", db="postgres")
    statements = [
        *(f'ALTER TABLE "{table}" OWNER TO postgres' for table in TABLES),
        f"REVOKE ALL ON DATABASE {DB_NAME} FROM PUBLIC",
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC",
        f"GRANT CONNECT ON DATABASE {DB_NAME} TO {DB_USER}",
        *(f'GRANT {", ".join(rights)} ON "{table}" TO {DB_USER}' for table, rights in APP_PRIVILEGES.items()),
    ]
    cluster.psql("; ".join(statements))


@pytest.fixture(scope="module")
def lab_pg() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        _lab_rights(cluster)
        yield cluster


def test_the_cluster_has_the_lab_rights(lab_pg: PostgresCluster) -> None:
    owned = lab_pg.psql(f"SELECT count(*) FROM pg_class WHERE relowner = '{DB_USER}'::regrole")
    assert owned == "0"
    for table in TABLES:
        granted = lab_pg.psql(
            "SELECT coalesce(string_agg(privilege_type, ',' ORDER BY privilege_type), '')"
            " FROM information_schema.role_table_grants"
            f" WHERE grantee = '{DB_USER}' AND table_name = '{table}'"
        )
        assert granted == ",".join(sorted(APP_PRIVILEGES.get(table, []))), table


def _statuses(framework: str, mode: str, cluster: PostgresCluster, log_dir: Path) -> dict[str, object]:
    """The status of every database route, and the end of the server's log when one is not 200."""
    ensure_venv(framework)
    with app_server(framework, mode, cluster, log_dir, workers=1, pool_size=2) as server:
        found: dict[str, object] = {route: get(server, route).status for route in ROUTES}
        if set(found.values()) != {200}:
            found["log"] = server.log_text()[-2000:]
    return found


def test_every_app_runs_its_database_routes_with_these_rights(
    lab_pg: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> None:
    log_dir = tmp_path_factory.mktemp("grants-logs")
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {case: pool.submit(_statuses, *case, lab_pg, log_dir) for case in CASES}
        results = {f"{framework}-{mode}": future.result() for (framework, mode), future in futures.items()}
    failing = {case: found for case, found in results.items() if "log" in found}
    assert not failing, failing
    assert len(results) == len(CASES) >= 5
