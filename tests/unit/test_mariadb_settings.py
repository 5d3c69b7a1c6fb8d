"""roles/mariadb/filter_plugins/mariadb_settings.py as pure functions: the knobs' checks, the password's hash,
and TFB's rows as the role writes them (the real server runs them in tests/e2e/test_mariadb_role.py)."""

from __future__ import annotations

import hashlib
import secrets
from pathlib import Path

import pytest
import yaml

from analysis.verify.rules import FORTUNES, MAX_ID
from roles.mariadb.filter_plugins.mariadb_settings import (
    NUMBERS,
    mariadb_fortune_data,
    mariadb_native_hash,
    mariadb_settings_problems,
    mariadb_world_data,
)

ROLE = Path(__file__).resolve().parents[2] / "roles" / "mariadb"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))


def test_the_defaults_pass_with_an_app_host_and_a_password() -> None:
    settings = DEFAULTS | {"mariadb_allowed_clients": ["10.0.0.11", "fd00::11"]}
    assert mariadb_settings_problems(settings | {"mariadb_db_password": secrets.token_urlsafe(24)}) == []


def test_every_number_knob_has_a_default() -> None:
    assert set(NUMBERS) <= set(DEFAULTS)


@pytest.mark.parametrize(
    ("knob", "value", "fragments"),
    [
        ("mariadb_port", 0, ("mariadb_port=0 is out of range", "1..65535")),
        ("mariadb_port", "abc", ('mariadb_port="abc" is not an integer',)),
        ("mariadb_max_connections", 5, ("mariadb_max_connections=5", "0 (sized from", "10..100000")),
        ("mariadb_app_connections", 0, ("mariadb_app_connections=0", "1..49984")),
        ("mariadb_innodb_buffer_pool_size_mb", 1, ("mariadb_innodb_buffer_pool_size_mb=1", "32..4194304")),
        ("mariadb_open_files_limit", True, ("mariadb_open_files_limit=true is not an integer",)),
        ("mariadb_db_name", "mysql", ('mariadb_db_name="mysql"', "other than information_schema, mysql")),
        ("mariadb_db_name", "Hello World", ('mariadb_db_name="Hello World"', "lower-case")),
        ("mariadb_db_user", "root", ('mariadb_db_user="root"', "other than")),
        ("mariadb_listen_address", "0.0.0.0", ('mariadb_listen_address="0.0.0.0" is the unspecified',)),
        ("mariadb_listen_address", "db1", ('mariadb_listen_address="db1" is not an IP address',)),
        ("mariadb_allowed_clients", [], ("mariadb_allowed_clients=[]", "non-empty list")),
        ("mariadb_allowed_clients", ["10.0.0.1", "::"], ('has "::"', "other than a wildcard")),
        ("mariadb_allowed_clients", ["[fd00::1]"], ('has "[fd00::1]"',)),
    ],
)
def test_a_bad_knob_is_named_with_its_value_and_what_is_allowed(
    knob: str, value: object, fragments: tuple[str, ...]
) -> None:
    message = " ".join(mariadb_settings_problems({knob: value}))
    for fragment in fragments:
        assert fragment in message, message


def test_the_password_is_named_by_its_length_only() -> None:
    short = secrets.token_hex(4)[:7]
    message = " ".join(mariadb_settings_problems({"mariadb_db_password": short}))
    assert message == (
        "mariadb_db_password is 7 characters long; allowed: 16..1024"
        " (a generated secret: pass lab_db_password)."
    )
    assert short not in message


def test_the_hash_is_mysql_native_passwords() -> None:
    # MySQL's documented value of PASSWORD('password') (the 4.1 format).
    assert mariadb_native_hash("pass" + "word") == "*2470C0C06DEE42FD1618BB99005ADCA2EC9D1E19"
    secret = secrets.token_urlsafe(24)
    inner = hashlib.sha1(secret.encode()).digest()
    assert mariadb_native_hash(secret) == "*" + hashlib.sha1(inner).hexdigest().upper()
    assert secret not in mariadb_native_hash(secret)


def test_the_fortunes_are_the_verifiers_with_sql_quoting() -> None:
    data = mariadb_fortune_data("Fortune")
    assert data["insert"].startswith("INSERT INTO `Fortune` (id, message) VALUES (1, ")
    assert "(2, 'A computer scientist is someone who fixes things that aren''t broken.')" in data["insert"]
    assert data["insert"].count("), (") == len(FORTUNES) - 1
    text = "\n".join(f"{number}:{message}" for number, message in sorted(FORTUNES))
    assert data["md5"] == hashlib.md5(text.encode()).hexdigest()
    with pytest.raises(ValueError, match="not a table name"):
        mariadb_fortune_data("fortune; DROP TABLE world")


def test_world_is_filled_from_a_cross_join_of_digits_not_a_recursive_cte() -> None:
    data = mariadb_world_data("world")
    assert data["size"] == MAX_ID
    assert "RECURSIVE" not in data["insert"].upper()
    assert data["insert"].count("CROSS JOIN") == len(str(MAX_ID - 1)) - 1
    assert f"WHERE n <= {MAX_ID}" in data["insert"]
