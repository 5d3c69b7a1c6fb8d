"""roles/postgres/filter_plugins/postgres_scram.py against a real Postgres (issue 14, point 4).

The role sends Postgres a SCRAM-SHA-256 verifier computed on the controller instead of the password. Postgres
is the reference: the verifiers it makes from a password must be recognized (so a re-run keeps them), and the
verifiers the filter makes must let the password log in, also where Postgres normalizes the password first
(SASLprep) or refuses to (and uses the raw bytes).
"""

from __future__ import annotations

import base64
import os
import re
import subprocess
from collections.abc import Iterator

import pytest

from labkit.postgres import DB_NAME, PostgresCluster, postgres_cluster
from roles.postgres.filter_plugins import postgres_scram as scram

pytestmark = pytest.mark.needs_postgres

PASSWORDS = {
    "ascii": "Ab3dE6gH9jK2mN5pQ8sT1vW4yZ7bC0eF",
    "ascii-control-character": "bell\ainside-a-password",
    "latin": "pässwörd-ÄÖÜ-straße-16",
    # SASLprep maps the soft hyphen to nothing and the em space to a space.
    "mapped": "soft\u00adhyphen\u2003and-em-space",
    # NFKC folds full-width letters to ASCII.
    "full-width": "".join(chr(ord(c) + 0xFEE0) for c in "fullwidth-password"),
    # Right-to-left text mixed with left-to-right letters: SASLprep refuses it, so the raw bytes count.
    "bidi-refused": "\u0627\u0644abcdefghijklmnop\u0627",
    "quote-and-backslash": "it's a \\ password with $1",
}
VERIFIER = re.compile(r"^SCRAM-SHA-256\$4096:[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+:[A-Za-z0-9+/=]+$")


@pytest.fixture(scope="module")
def pg() -> Iterator[PostgresCluster]:
    with postgres_cluster() as cluster:
        yield cluster


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _role(pg: PostgresCluster, name: str, password_sql: str) -> None:
    pg.psql(f"DROP ROLE IF EXISTS {name}; CREATE ROLE {name} LOGIN PASSWORD {password_sql}", db="postgres")


def _verifier_in_place(pg: PostgresCluster, name: str) -> str:
    return pg.psql(f"SELECT rolpassword FROM pg_authid WHERE rolname = '{name}'", db="postgres")


def _login(pg: PostgresCluster, name: str, password: str) -> subprocess.CompletedProcess[str]:
    """A SCRAM login over TCP (initdb's pg_hba: scram-sha-256 for 127.0.0.1)."""
    return subprocess.run(
        ["psql", "-X", "-At", "-w", "-h", pg.host, "-p", str(pg.port), "-U", name, "-d", DB_NAME,
         "-c", "SELECT current_user"],
        env={**os.environ, "PGPASSWORD": password}, capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip


@pytest.mark.parametrize("case", list(PASSWORDS))
def test_a_verifier_postgres_made_is_recognized_and_kept(pg: PostgresCluster, case: str) -> None:
    password, name = PASSWORDS[case], f"made_by_pg_{case.replace('-', '_')}"
    _role(pg, name, _literal(password))
    in_place = _verifier_in_place(pg, name)
    assert VERIFIER.match(in_place), in_place
    assert scram.postgres_scram_matches(in_place, password)
    assert scram.postgres_scram_verifier(password, in_place) == in_place
    assert not scram.postgres_scram_matches(in_place, password + "x")


@pytest.mark.parametrize("case", list(PASSWORDS))
def test_postgres_takes_the_verifier_and_the_password_logs_in(pg: PostgresCluster, case: str) -> None:
    password, name = PASSWORDS[case], f"made_here_{case.replace('-', '_')}"
    verifier = scram.postgres_scram_verifier(password)
    assert VERIFIER.match(verifier), verifier
    _role(pg, name, _literal(verifier))
    assert _verifier_in_place(pg, name) == verifier, "Postgres must store the verifier as it is"
    login = _login(pg, name, password)
    assert login.returncode == 0 and login.stdout.strip() == name, login.stderr
    refused = _login(pg, name, password[:-1])
    assert refused.returncode != 0 and "password authentication failed" in refused.stderr, refused.stderr


def test_a_new_verifier_has_a_fresh_salt_and_replaces_one_of_another_password() -> None:
    first = scram.postgres_scram_verifier(PASSWORDS["ascii"])
    second = scram.postgres_scram_verifier(PASSWORDS["ascii"])
    assert first != second, "two new verifiers must not share a salt"
    salt = base64.b64decode(first.split("$")[1].split(":")[1])
    assert len(salt) == scram.SALT_BYTES
    changed = scram.postgres_scram_verifier("another-password-of-16+", first)
    assert changed != first and scram.postgres_scram_matches(changed, "another-password-of-16+")


@pytest.mark.parametrize(
    "current", ["", None, "md5" + "0" * 32, "SCRAM-SHA-256$4096:bm90$YmFk:YmFk", "SCRAM-SHA-256$0:a$b:c"]
)
def test_anything_but_a_matching_verifier_is_replaced(current: object) -> None:
    verifier = scram.postgres_scram_verifier(PASSWORDS["ascii"], current)
    assert verifier != current and scram.postgres_scram_matches(verifier, PASSWORDS["ascii"])


@pytest.mark.parametrize("password", ["", None, 12345678901234567])
def test_no_verifier_without_a_password(password: object) -> None:
    with pytest.raises(ValueError, match="non-empty string"):
        scram.postgres_scram_verifier(password)
