"""The checks of the postgres role's knobs, shared by the role's preflight and roles/lab_settings.

roles/lab_settings/filter_plugins/postgres_settings.py is a link to this file, so that playbooks/validate.yml
refuses, before any host changes, the same values with the same messages as the role itself. The ranges are
those Postgres accepts for the settings the knobs render (src/backend/utils/misc/guc_tables.c), so a value
that passes renders a configuration line Postgres parses; what it can only find out when it starts (memory
it cannot allocate) is left to the handler, which puts the previous configuration back.

    postgres_settings_problems(settings)   one message per bad knob of settings ({knob: value}; knobs that
                                           are absent are not checked), each with the knob, its value and
                                           what is allowed; [] when every knob is good
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Loaded by path by Ansible: the checks it shares with roles/mariadb are a module of the repository.
_REPO = str(Path(__file__).resolve().parents[3])
if _REPO not in sys.path:
    sys.path.insert(0, _REPO)

from labcore.knob_checks import Number  # noqa: E402
from labcore.knob_checks import number_problem as _number_problem  # noqa: E402
from labcore.knob_checks import show as _show  # noqa: E402

# shared_buffers and effective_cache_size are counted in 8 kB blocks, work_mem in kB.
_MIB_PER_8KB_BLOCKS = 128


NUMBERS = {
    # max_connections plus the background processes may not exceed 262143 backends; 100000 leaves room for
    # them on every supported version. Postgres keeps superuser_reserved_connections (3) of them for the
    # superuser and refuses to start unless max_connections is above that.
    "postgres_max_connections": Number(
        4, 100000, None, "connections; Postgres needs more than its 3 reserved"
    ),
    "postgres_shared_buffers_mb": Number(
        1,
        1073741823 // _MIB_PER_8KB_BLOCKS,
        "sized from the host's memory",
        "MiB; Postgres' shared_buffers limit",
    ),
    "postgres_effective_cache_size_mb": Number(
        1,
        2147483647 // _MIB_PER_8KB_BLOCKS,
        "sized from the host's memory",
        "MiB; Postgres' effective_cache_size limit",
    ),
    "postgres_work_mem_mb": Number(
        1, 2147483647 // 1024, "sized from the host's memory", "MiB; Postgres' work_mem limit"
    ),
}

# A name Postgres and pg_hba.conf take as it is: lower case (SQL folds unquoted names to it), at most 63 bytes
# (NAMEDATALEN - 1), and none of pg_hba.conf's keywords.
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_HBA_KEYWORDS = {"all", "sameuser", "samerole", "samegroup", "replication"}
# The databases the role must not take over (it revokes PUBLIC's rights on its database).
_SYSTEM_DATABASES = {"postgres", "template0", "template1"}
# The name becomes part of paths and of the systemd unit postgresql@<version>-<name>.
_CLUSTER = re.compile(r"^[A-Za-z0-9_]{1,63}$")
_BOOLEANS = {"true", "false", "yes", "no", "on", "off", "1", "0"}
# Postgres refuses longer passwords when it prepares them (MAX_PASSWORD_LENGTH in src/common/saslprep.c).
PASSWORD_MIN, PASSWORD_MAX = 16, 1024


def _name_problem(name: str, value: Any, reserved: set[str], why: str) -> str:
    allowed = (
        "a lower-case name of letters, digits and '_', starting with a letter or '_', at most 63 characters,"
        f" other than {', '.join(sorted(reserved))}"
    )
    if (
        isinstance(value, str)
        and _NAME.match(value)
        and value not in reserved
        and not value.startswith("pg_")
    ):
        return ""
    return f"{name}={_show(value)} is not usable as {why}; allowed: {allowed} (and not starting with pg_)."


def postgres_settings_problems(settings: Any) -> list[str]:
    """The problems of the postgres knobs in settings, one message each (the password's value never shown)."""
    if not isinstance(settings, dict):
        raise TypeError(f"postgres_settings_problems needs a dict of knobs, got {_show(settings)}")
    problems = [
        _number_problem(name, settings[name], rule) for name, rule in NUMBERS.items() if name in settings
    ]
    if "postgres_db_name" in settings:
        problems.append(
            _name_problem(
                "postgres_db_name",
                settings["postgres_db_name"],
                _HBA_KEYWORDS | _SYSTEM_DATABASES,
                "the benchmark database's name (in SQL and pg_hba.conf)",
            )
        )
    if "postgres_db_user" in settings:
        problems.append(
            _name_problem(
                "postgres_db_user",
                settings["postgres_db_user"],
                _HBA_KEYWORDS | {"postgres", "public", "none"},
                "the apps' role (in SQL and pg_hba.conf)",
            )
        )
    if "postgres_cluster_name" in settings:
        cluster = settings["postgres_cluster_name"]
        if not (isinstance(cluster, str) and _CLUSTER.match(cluster)):
            problems.append(
                f"postgres_cluster_name={_show(cluster)} is not a cluster name; allowed: 1 to 63 letters,"
                " digits and '_' (it is part of the cluster's paths and of its systemd unit)."
            )
    if "postgres_stop_default_cluster" in settings:
        stop = settings["postgres_stop_default_cluster"]
        if not (isinstance(stop, bool) or (isinstance(stop, str) and stop.strip().lower() in _BOOLEANS)):
            problems.append(
                f"postgres_stop_default_cluster={_show(stop)} is not a boolean; allowed: true or false."
            )
    if "postgres_db_password" in settings:
        password = settings["postgres_db_password"]
        if not isinstance(password, str):
            problems.append("postgres_db_password is not a string; allowed: 16..1024 characters.")
        elif not PASSWORD_MIN <= len(password) <= PASSWORD_MAX or len(password.encode()) > PASSWORD_MAX:
            problems.append(
                f"postgres_db_password is {len(password)} characters long; allowed:"
                f" {PASSWORD_MIN}..{PASSWORD_MAX} (a generated secret: playbooks/site.yml passes"
                " lab_db_password)."
            )
    return [problem for problem in problems if problem]


class FilterModule:
    def filters(self) -> dict[str, Callable[..., Any]]:
        return {"postgres_settings_problems": postgres_settings_problems}
