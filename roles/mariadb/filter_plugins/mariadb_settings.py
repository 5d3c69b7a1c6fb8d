"""The mariadb role's checks of its knobs, the password's hash, and TFB's rows as MariaDB statements.

    mariadb_settings_problems(settings)   one message per bad knob of settings ({knob: value}; absent knobs
                                          are not checked), each with the knob, its value and what is allowed
                                          (the password only by its length); [] when every knob is good
    mariadb_native_hash(password)         the mysql_native_password hash ("*" and 40 hex digits): what the
                                          server stores, computed here on the controller so that the password
                                          itself never reaches the db host
    mariadb_fortune_data(table)           {"insert": the INSERT of TFB's 12 fortunes into table, "md5": the
                                          digest the role compares the table's rows with}
    mariadb_world_data(table)             {"insert": the INSERT of World's rows into table, "size": how many}

The fortunes and World's size have one home, the verifier's rules (analysis/verify/rules.py, which
roles/postgres/files/hello_world.sql matches): the rows loaded are the rows the verifier expects.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Loaded by path by Ansible: the verifier's rules and the lab's address parser are modules of the repository.
_REPO = Path(__file__).resolve().parents[3]
for _path in (_REPO, _REPO / "playbooks" / "filter_plugins"):
    if str(_path) not in sys.path:
        sys.path.insert(0, str(_path))

from lab_address import lab_ip_problem  # noqa: E402

from analysis.verify.rules import FORTUNES, MAX_ID, MIN_ID  # noqa: E402
from labcore.knob_checks import Number  # noqa: E402
from labcore.knob_checks import number_problem as _number_problem  # noqa: E402
from labcore.knob_checks import show as _show  # noqa: E402

NUMBERS = {
    "mariadb_port": Number(1, 65535, None, "a TCP port"),
    # MariaDB's own range of max_connections.
    "mariadb_max_connections": Number(
        10, 100000, "sized from mariadb_app_connections", "MariaDB's max_connections range"
    ),
    "mariadb_app_connections": Number(1, 49984, None, "connections; twice this plus 32 must fit 100000"),
    # innodb_buffer_pool_size: MariaDB 10.11 refuses less than 2 MiB; a benchmark wants far more anyway.
    "mariadb_innodb_buffer_pool_size_mb": Number(
        32, 4194304, "a quarter of the host's memory", "MiB, up to 4 TiB"
    ),
    # Linux's fs.nr_open default caps what a process may raise its limit to.
    "mariadb_open_files_limit": Number(
        1024, 1048576, "what max_connections needs", "files; at most fs.nr_open's default"
    ),
}

# Names MariaDB takes unquoted in every statement the role and the apps write, and short enough for MySQL too
# (64 for a database, 32 for a user).
_DB_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")
_USER_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,31}$")
_SYSTEM_DATABASES = {"mysql", "information_schema", "performance_schema", "sys", "test"}
_SYSTEM_USERS = {"root", "mysql", "mariadb.sys", "public", "none"}
PASSWORD_MIN, PASSWORD_MAX = 16, 1024


def _address_problem(value: Any) -> str:
    """Why value is not one IP address to bind or admit ("" when it is): the lab's one parser of addresses
    (playbooks/filter_plugins/lab_address.py), which lab_address itself passes."""
    problem: str = lab_ip_problem(value)
    return problem


def mariadb_settings_problems(settings: Any) -> list[str]:
    """The problems of the mariadb knobs in settings, one message each (the password's value never shown)."""
    if not isinstance(settings, dict):
        raise TypeError(f"mariadb_settings_problems needs a dict of knobs, got {_show(settings)}")
    problems = [
        _number_problem(name, settings[name], rule) for name, rule in NUMBERS.items() if name in settings
    ]
    if "mariadb_db_name" in settings:
        name = settings["mariadb_db_name"]
        if not (isinstance(name, str) and _DB_NAME.match(name) and name not in _SYSTEM_DATABASES):
            problems.append(
                f"mariadb_db_name={_show(name)} is not usable as the benchmark database's name; allowed: a"
                " lower-case name of letters, digits and '_', starting with a letter or '_', at most 64"
                f" characters, other than {', '.join(sorted(_SYSTEM_DATABASES))}."
            )
    if "mariadb_db_user" in settings:
        user = settings["mariadb_db_user"]
        if not (isinstance(user, str) and _USER_NAME.match(user) and user not in _SYSTEM_USERS):
            problems.append(
                f"mariadb_db_user={_show(user)} is not usable as the apps' account; allowed: a lower-case"
                " name of letters, digits and '_', starting with a letter or '_', at most 32 characters,"
                f" other than {', '.join(sorted(_SYSTEM_USERS))}."
            )
    if "mariadb_listen_address" in settings:
        why = _address_problem(settings["mariadb_listen_address"])
        if why:
            problems.append(
                f"mariadb_listen_address={_show(settings['mariadb_listen_address'])} {why}; allowed: one IP"
                " address of the db host (its lab_address), not a wildcard."
            )
    if "mariadb_allowed_clients" in settings:
        clients = settings["mariadb_allowed_clients"]
        bad = [client for client in clients if _address_problem(client)] if isinstance(clients, list) else []
        if not isinstance(clients, list) or not clients or bad:
            which = f" has {', '.join(_show(b) for b in bad)}" if bad else ""
            problems.append(
                f"mariadb_allowed_clients={_show(clients)}{which}; allowed: a non-empty list of IP addresses,"
                " other than a wildcard (the app hosts' lab_address)."
            )
    if "mariadb_db_password" in settings:
        password = settings["mariadb_db_password"]
        if not isinstance(password, str):
            problems.append("mariadb_db_password is not a string; allowed: 16..1024 characters.")
        elif not PASSWORD_MIN <= len(password) <= PASSWORD_MAX:
            problems.append(
                f"mariadb_db_password is {len(password)} characters long; allowed:"
                f" {PASSWORD_MIN}..{PASSWORD_MAX} (a generated secret: pass lab_db_password)."
            )
    return [problem for problem in problems if problem]


def mariadb_native_hash(password: str) -> str:
    """mysql_native_password's stored form: "*" + upper hex of SHA1(SHA1(password))."""
    return "*" + hashlib.sha1(hashlib.sha1(password.encode()).digest()).hexdigest().upper()


def _literal(text: str) -> str:
    """text as a MariaDB string literal (the default sql_mode, where a backslash escapes)."""
    return "'" + text.replace("\\", "\\\\").replace("'", "''").replace("\0", "\\0") + "'"


def _table(name: str) -> str:
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,63}", name):
        raise ValueError(f"mariadb_fortune_data: {name!r} is not a table name")
    return f"`{name}`"


def mariadb_fortune_data(table: str) -> dict[str, str]:
    """The statement that fills table with TFB's fortunes, and the MD5 of its rows as the role reads them back
    (MD5(GROUP_CONCAT(id, ':', message ORDER BY id SEPARATOR '\\n')), over their UTF-8 bytes)."""
    rows = ", ".join(f"({number}, {_literal(message)})" for number, message in FORTUNES)
    text = "\n".join(f"{number}:{message}" for number, message in sorted(FORTUNES))
    return {
        "insert": f"INSERT INTO {_table(table)} (id, message) VALUES {rows}",
        "md5": hashlib.md5(text.encode()).hexdigest(),
    }


def mariadb_world_data(table: str) -> dict[str, Any]:
    """The statement that fills table with World's rows, and their number: ids MIN_ID..MAX_ID (the verifier's
    range), each with a number drawn from 1..MAX_ID. The ids come from a cross join of digits: a recursive CTE
    stops at max_recursive_iterations (1,000) without an error, and the sequence engine is MariaDB's alone."""
    if MIN_ID != 1 or MAX_ID < 1:
        raise ValueError(f"World's ids are {MIN_ID}..{MAX_ID}; the role fills 1..N")
    places = len(str(MAX_ID - 1))
    digits = "(" + " UNION ALL ".join(f"SELECT {d} AS d" for d in range(10)) + ")"
    number = " + ".join(f"{10**place} * d{place}.d" for place in range(places))
    joined = " CROSS JOIN ".join(f"{digits} AS d{place}" for place in range(places))
    return {
        "insert": (
            f"INSERT INTO {_table(table)} (id, randomNumber) SELECT n, FLOOR(1 + RAND() * {MAX_ID})"
            f" FROM (SELECT 1 + {number} AS n FROM {joined}) AS numbers WHERE n <= {MAX_ID}"
        ),
        "size": MAX_ID,
    }


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "mariadb_settings_problems": mariadb_settings_problems,
            "mariadb_native_hash": mariadb_native_hash,
            "mariadb_fortune_data": mariadb_fortune_data,
            "mariadb_world_data": mariadb_world_data,
        }
