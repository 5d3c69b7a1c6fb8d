"""What the apps' role may do on the provisioned lab's Postgres, and its password's verifier (issue 14,
point 4).

benchmarkdbuser logs in and runs the apps' statements (apps/_common/labapp_common.py) and nothing else: it
owns nothing, is no superuser and no member of any role, may read world and fortune and update world, and
sees the text of no other role's statement in pg_stat_statements (the verification reads them as postgres).
The password reached Postgres only as a SCRAM-SHA-256 verifier; a lab provisioned by an earlier version of
the role, whose pg_stat_statements still holds the password in a statement text, loses that text on the next
provisioning.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from roles.postgres.filter_plugins.postgres_scram import postgres_scram_matches

from ..labrun import HOST_ID
from .conftest import E2E_FRAMEWORKS, REPO, PlaybookRun, run_playbook

SECRET_FILE = REPO / ".secrets" / "benchmarkdbuser.password"
SOCKET_DIR = f"/run/lab/{HOST_ID}/postgresql"
ROLE, DB = "benchmarkdbuser", "hello_world"
LAB_ADDRESS = "127.0.0.1"  # inventory/local.yml
TABLES = ["world", "fortune", "World", "Fortune", "demo_data"]
TABLE_PRIVILEGES = ["SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER"]
GRANTED = {
    "world": {"SELECT", "UPDATE"},
    "fortune": {"SELECT"},
    "World": set(),
    "Fortune": set(),
    "demo_data": {"SELECT"},
}


def _load_common() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "labapp_common", REPO / "apps" / "_common" / "labapp_common.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def as_postgres(sql: str, db: str = DB) -> str:
    """SQL as the superuser over the unix socket (root maps to postgres there), given on stdin."""
    proc = subprocess.run(
        ["psql", "-X", "-q", "-At", "-v", "ON_ERROR_STOP=1", "-h", SOCKET_DIR, "-p", "5432", "-U", "postgres",
         "-d", db],
        input=sql, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def as_app(secret: str, sql: str) -> subprocess.CompletedProcess[str]:
    """SQL as benchmarkdbuser over TCP from the app host's address, as the apps connect (the password in
    the environment of psql only, never on a command line)."""
    return subprocess.run(
        ["psql", "-X", "-q", "-At", "-w", "-v", "ON_ERROR_STOP=1", "-h", LAB_ADDRESS, "-p", "5432",
         "-U", ROLE, "-d", DB],
        input=sql, env={**os.environ, "PGPASSWORD": secret}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


@pytest.fixture(scope="module")
def secret(provisioned: PlaybookRun) -> str:
    value = SECRET_FILE.read_text().strip()
    assert len(value) >= 16
    return value


def test_the_role_holds_a_verifier_of_the_password(secret: str) -> None:
    verifier = as_postgres(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{ROLE}'")
    assert verifier.startswith("SCRAM-SHA-256$4096:"), "not a SCRAM-SHA-256 verifier"
    assert postgres_scram_matches(verifier, secret), "the verifier in place was not made from the password"


def test_the_role_is_no_superuser_owns_nothing_and_belongs_to_no_role() -> None:
    attributes = as_postgres(
        "SELECT rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls, rolcanlogin"
        f" FROM pg_roles WHERE rolname = '{ROLE}'"
    )
    assert attributes == "f|f|f|f|f|t", attributes
    owned = as_postgres(
        f"SELECT (SELECT count(*) FROM pg_class WHERE relowner = '{ROLE}'::regrole)"
        f" + (SELECT count(*) FROM pg_namespace WHERE nspowner = '{ROLE}'::regrole)"
        f" + (SELECT count(*) FROM pg_proc WHERE proowner = '{ROLE}'::regrole)"
        f" + (SELECT count(*) FROM pg_database WHERE datdba = '{ROLE}'::regrole)"
    )
    assert owned == "0", f"{ROLE} owns {owned} objects"
    assert as_postgres(f"SELECT owner FROM (SELECT pg_get_userbyid(datdba) AS owner FROM pg_database"
                       f" WHERE datname = '{DB}') AS d") == "postgres"  # fmt: skip
    groups = as_postgres(
        f"SELECT string_agg(roleid::regrole::text, ',') FROM pg_auth_members WHERE member = '{ROLE}'::regrole"
    )
    assert groups == "", f"{ROLE} is a member of {groups} (pg_read_all_stats would show it every statement)"


def test_the_role_has_exactly_the_apps_rights() -> None:
    checks = ", ".join(
        f"has_table_privilege('{ROLE}', '\"{table}\"', '{privilege}')"
        for table in TABLES
        for privilege in TABLE_PRIVILEGES
    )
    values = as_postgres(f"SELECT {checks}").split("|")
    found: dict[str, set[str]] = {table: set() for table in TABLES}
    for index, value in enumerate(values):
        table, privilege = (
            TABLES[index // len(TABLE_PRIVILEGES)],
            TABLE_PRIVILEGES[index % len(TABLE_PRIVILEGES)],
        )
        if value == "t":
            found[table].add(privilege)
    assert found == GRANTED
    database = as_postgres(
        f"SELECT has_database_privilege('{ROLE}', '{DB}', 'CONNECT'),"
        f" has_database_privilege('{ROLE}', '{DB}', 'CREATE'),"
        f" has_database_privilege('{ROLE}', '{DB}', 'TEMP'),"
        f" has_schema_privilege('{ROLE}', 'public', 'CREATE')"
    )
    assert database == "t|f|f|f", "CONNECT only on the database, and no CREATE in the schema public"
    others = as_postgres(f"SELECT has_database_privilege('pg_monitor', '{DB}', 'CONNECT')")
    assert others == "f", "PUBLIC keeps no CONNECT on the benchmark database"


def test_the_apps_statements_run_as_the_role(secret: str) -> None:
    common = _load_common()
    update = common.UPDATE_WORLDS.replace("%s", "ARRAY[1, 2]", 1).replace("%s", "ARRAY[5, 6]", 1)
    statements = [
        common.SELECT_WORLD.replace("%s", "1"),
        common.SELECT_FORTUNES,
        # Updates are rolled back: the lab's World stays as the verification expects it.
        f"BEGIN; {update}; ROLLBACK",
        # The ORMs' bulk update (Django's bulk_update, SQLAlchemy's update with case()).
        "BEGIN; UPDATE world SET randomnumber = CASE WHEN id = 1 THEN 7 ELSE randomnumber END"
        " WHERE id IN (1); ROLLBACK",
    ]
    for statement in statements:
        run = as_app(secret, statement)
        assert run.returncode == 0, (statement, run.stderr)


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO world (id, randomnumber) VALUES (20001, 1)",
        "DELETE FROM world WHERE id = 1",
        "TRUNCATE world",
        "UPDATE fortune SET message = 'x' WHERE id = 1",
        'SELECT count(*) FROM "World"',
        'UPDATE "World" SET randomnumber = 1 WHERE id = 1',
        "CREATE TABLE mine (id integer)",
        "CREATE TEMP TABLE mine (id integer)",
        "ALTER TABLE world ADD COLUMN x integer",
        "DROP TABLE fortune",
        'GRANT SELECT ON "World" TO PUBLIC',
        f"ALTER DATABASE {DB} CONNECTION LIMIT 1",
        "SELECT pg_stat_statements_reset()",
        "SELECT rolpassword FROM pg_authid",
        "CREATE ROLE another LOGIN",
        "CREATE DATABASE another",
    ],
)
def test_anything_else_is_refused(secret: str, statement: str) -> None:
    # In a transaction rolled back, should the statement run after all (CREATE DATABASE cannot be in one).
    in_transaction = not statement.startswith("CREATE DATABASE")
    run = as_app(secret, f"BEGIN; {statement}; ROLLBACK" if in_transaction else statement)
    assert run.returncode != 0, f"{statement!r} ran as {ROLE}"
    assert "permission denied" in run.stderr or "must be owner" in run.stderr, run.stderr


def test_the_role_reads_no_other_roles_statement_text(secret: str) -> None:
    # Something of postgres' in the statistics to hide: the role's own provisioning ran as postgres.
    assert int(as_postgres(f"SELECT count(*) FROM pg_stat_statements WHERE userid <> '{ROLE}'::regrole")) > 0
    run = as_app(
        secret,
        "SELECT count(*) FILTER (WHERE userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)),"
        " count(*) FILTER (WHERE userid <> (SELECT oid FROM pg_roles WHERE rolname = current_user)"
        " AND query IS DISTINCT FROM '<insufficient privilege>') FROM pg_stat_statements",
    )
    assert run.returncode == 0, run.stderr
    others, readable = (int(value) for value in run.stdout.split("|"))
    assert others > 0 and readable == 0, f"{ROLE} reads {readable} of {others} texts of other roles"


def _texts_holding(secret: str) -> int:
    # The secret is a bind-like constant of a SELECT here, which pg_stat_statements stores as $1.
    escaped = secret.replace("'", "''")
    return int(as_postgres(f"SELECT count(*) FROM pg_stat_statements WHERE strpos(query, '{escaped}') > 0"))


def test_a_password_an_earlier_role_left_in_the_statistics_is_forgotten(secret: str) -> None:
    """As the role of earlier versions did (CREATE/ALTER ROLE ... PASSWORD '<password>'); the verifier
    Postgres makes from it is one of the password, so the role keeps it and only forgets the text."""
    escaped = secret.replace("'", "''")
    as_postgres(f"ALTER ROLE {ROLE} PASSWORD '{escaped}'", db="postgres")
    assert _texts_holding(secret) == 1
    texts = sorted(Path("/var/lib/postgresql").glob(f"*/lab_{HOST_ID}/pg_stat_tmp/pgss_query_texts.stat"))
    assert texts and secret.encode() in texts[-1].read_bytes()

    again = run_playbook("site.yml", "--tags", "postgres", extra={"lab_frameworks": E2E_FRAMEWORKS})
    assert again.returncode == 0, again.output[-4000:]
    assert _texts_holding(secret) == 0
    assert secret.encode() not in texts[-1].read_bytes(), f"{texts[-1]} still holds the password"
    assert "TASK [postgres : Forget every statement text (one held a password)]" in again.output
    assert again.recap()["localhost"]["changed"] == 1, again.output[-6000:]
    assert secret not in again.output

    settled = run_playbook("site.yml", "--tags", "postgres", extra={"lab_frameworks": E2E_FRAMEWORKS})
    assert settled.returncode == 0, settled.output[-4000:]
    assert settled.recap()["localhost"]["changed"] == 0, settled.output[-6000:]
