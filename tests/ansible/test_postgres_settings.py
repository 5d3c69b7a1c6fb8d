"""The postgres role's knobs are checked before any host changes, and what passes renders a configuration
Postgres accepts (issue 14, point 5).

- playbooks/validate.yml (roles/lab_settings) refuses a bad value of every knob of roles/postgres/defaults,
  naming the knob and the value (never the password's), with real `ansible-playbook --check` runs;
- the role's own preflight refuses the same values with the same filter (roles/postgres/filter_plugins/
  postgres_settings.py, which roles/lab_settings/files/lab_settings_rules.py calls);
- the role's template, rendered with each memory knob at 0 (sized from the host, small and large hosts) and at
  the bounds of its range, is accepted by `postgres -C` (Postgres' own parser and range checks).
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from labkit.postgres import PG_BIN, as_postgres
from roles.postgres.filter_plugins.postgres_settings import NUMBERS, postgres_settings_problems

from ..labrun import ANSIBLE_PLAYBOOK, playbook_env
from .test_settings_coverage import covered
from .test_settings_validation import REPO, Bad, Run, assert_refused, run_validate

ROLE = REPO / "roles" / "postgres"
DEFAULTS = yaml.safe_load((ROLE / "defaults" / "main.yml").read_text(encoding="utf-8"))
PLAYBOOKS = REPO / "tests" / "ansible" / "playbooks"
# The knobs the schema of roles/lab_settings types itself (the tier wiring of group_vars/all/tiers.yml), each
# with its case in test_settings_coverage.py; the others it leaves to the role's filter.
WIRING = {"postgres_port", "postgres_listen_address", "postgres_allowed_clients", "postgres_demo_data_rows"}

RANGES = (
    '{"postgres_max_connections": 3, "postgres_shared_buffers_mb": 8388608,'
    ' "postgres_effective_cache_size_mb": -1, "postgres_work_mem_mb": 2097152}',
)
TYPES = (
    '{"postgres_max_connections": "many", "postgres_work_mem_mb": 1.5,'
    ' "postgres_stop_default_cluster": "maybe"}',
)
NAMES = (
    '{"postgres_db_name": "template1", "postgres_db_user": "pg_monitor", "postgres_cluster_name": "lab-x"}',
)
MORE_NAMES = ('{"postgres_db_name": "Hello World", "postgres_db_user": "all", "postgres_cluster_name": ""}',)
PASSWORD = ('{"postgres_db_password": "short"}',)

BAD = [
    Bad("max-connections-at-the-reserved-3", RANGES, ("postgres_max_connections=3", "4..100000")),
    Bad("shared-buffers-above-postgres-limit", RANGES, ("postgres_shared_buffers_mb=8388608", "1..8388607")),
    Bad(
        "effective-cache-negative",
        RANGES,
        ("postgres_effective_cache_size_mb=-1", "0 (sized from the host's memory) or 1..16777215"),
    ),
    Bad("work-mem-above-postgres-limit", RANGES, ("postgres_work_mem_mb=2097152", "1..2097151")),
    Bad("max-connections-text", TYPES, ('postgres_max_connections="many"', "not an integer")),
    Bad("work-mem-fraction", TYPES, ("postgres_work_mem_mb=1.5", "not an integer")),
    Bad("stop-default-not-a-bool", TYPES, ('postgres_stop_default_cluster="maybe"', "true or false")),
    Bad("db-name-a-template", NAMES, ('postgres_db_name="template1"', "template1")),
    Bad("db-user-reserved-prefix", NAMES, ('postgres_db_user="pg_monitor"', "pg_")),
    Bad("cluster-name-with-a-dash", NAMES, ('postgres_cluster_name="lab-x"', "letters, digits and '_'")),
    Bad("db-name-with-a-space", MORE_NAMES, ('postgres_db_name="Hello World"', "lower-case")),
    Bad("db-user-an-hba-keyword", MORE_NAMES, ('postgres_db_user="all"', "all")),
    Bad("cluster-name-empty", MORE_NAMES, ('postgres_cluster_name=""', "1 to 63")),
    Bad("db-password-short", PASSWORD, ("postgres_db_password is 5 characters long", "16..1024")),
]
GOOD: dict[str, dict[str, object]] = {
    "sized-from-the-host": {
        "postgres_shared_buffers_mb": 0,
        "postgres_effective_cache_size_mb": 0,
        "postgres_work_mem_mb": 0,
        "postgres_stop_default_cluster": "false",
        "postgres_cluster_name": "lab_custom",
    },
    "lowest": {
        "postgres_max_connections": 4,
        "postgres_shared_buffers_mb": 1,
        "postgres_effective_cache_size_mb": 1,
        "postgres_work_mem_mb": 1,
    },
    "highest": {
        "postgres_max_connections": 100000,
        "postgres_shared_buffers_mb": 8388607,
        "postgres_effective_cache_size_mb": 16777215,
        "postgres_work_mem_mb": 2097151,
    },
}


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    """One validate.yml --check run per group of bad values, and one per good case, all at once."""
    with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 1))) as pool:
        bad = {extra: pool.submit(run_validate, *extra) for extra in {case.extra_vars for case in BAD}}
        good = {name: pool.submit(run_validate, json.dumps(values)) for name, values in GOOD.items()}
        done = {extra: future.result() for extra, future in bad.items()}
        return {case.id: done[case.extra_vars] for case in BAD} | {
            name: future.result() for name, future in good.items()
        }


@pytest.mark.parametrize("bad", BAD, ids=[bad.id for bad in BAD])
def test_a_bad_postgres_setting_is_refused_before_any_change(runs: dict[str, Run], bad: Bad) -> None:
    assert_refused(runs[bad.id], bad.expected)


@pytest.mark.parametrize("name", list(GOOD))
def test_good_postgres_settings_pass(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    assert run.returncode == 0, run.output[-4000:]
    assert all(host["failures"] == 0 for host in run.stats.values()), run.stats


def test_the_password_is_never_printed(runs: dict[str, Run]) -> None:
    run = runs["db-password-short"]
    assert '"short"' not in run.output and "=short" not in " ".join(run.failure_messages)


def test_every_knob_of_the_role_has_a_rejection_case() -> None:
    missing = set(DEFAULTS) - covered()
    assert not missing, f"roles/postgres knobs without a bad-value case in tests/ansible: {sorted(missing)}"


def test_lab_settings_checks_every_knob_of_the_role() -> None:
    """Every knob of the role's defaults is in the schema of roles/lab_settings: typed there (the wiring), or
    handed to the role's own filter, the very function the role's preflight calls."""
    from roles.lab_settings.files import lab_settings_rules
    from roles.postgres.filter_plugins import postgres_settings

    entries = lab_settings_rules.schema()["properties"]
    for knob in DEFAULTS:
        assert knob in entries, f"{knob} is not in roles/lab_settings/files/settings.schema.yml"
        entry = entries[knob]
        if knob in WIRING:
            assert "x-checked-by" not in entry and ({"type", "$ref"} & set(entry)), (knob, entry)
        else:
            assert entry.get("x-checked-by") == "postgres_settings", (knob, entry)
        assert entry.get("x-groups") == ["db"], (knob, entry)
    assert lab_settings_rules.postgres_settings_problems is postgres_settings.postgres_settings_problems


def test_the_filter_takes_what_postgres_takes() -> None:
    """Unit checks of the ranges: 0 means sized from the host for the memory knobs only; -e gives strings."""
    good = {
        "postgres_max_connections": "2000",
        "postgres_work_mem_mb": 0,
        "postgres_stop_default_cluster": True,
    }
    assert postgres_settings_problems(good) == []
    assert postgres_settings_problems({"postgres_max_connections": 0}) != []
    assert postgres_settings_problems({"postgres_shared_buffers_mb": True}) != []
    for name, rule in NUMBERS.items():
        assert postgres_settings_problems({name: rule.maximum}) == []
        assert postgres_settings_problems({name: rule.maximum + 1}) != []
        assert postgres_settings_problems({name: rule.minimum}) == []
        assert postgres_settings_problems({name: -1}) != []


# --------------------------------------------------------------------------------- the role on its own


def _preflight(values: dict[str, object]) -> subprocess.CompletedProcess[str]:
    extra = {
        "postgres_db_password": secrets.token_urlsafe(24),
        "postgres_allowed_clients": ["127.0.0.1"],
        "ansible_python_interpreter": sys.executable,
    } | values
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(PLAYBOOKS / "postgres_preflight.yml"),
         "-e", json.dumps(extra)],
        cwd=REPO, env=playbook_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def test_the_role_alone_refuses_the_same_values() -> None:
    with ThreadPoolExecutor(max_workers=2) as pool:
        refusing = pool.submit(_preflight, json.loads(RANGES[0]) | {"postgres_db_user": "pg_monitor"})
        accepting = pool.submit(_preflight, GOOD["sized-from-the-host"])
        refused, accepted = refusing.result(), accepting.result()
    assert refused.returncode != 0
    output = " ".join(refused.stdout.split())  # the callback wraps long messages
    for fragment in ("postgres_max_connections=3 is out of range; allowed: 4..100000", "pg_monitor"):
        assert fragment in output, (fragment, refused.stdout[-3000:])
    assert accepted.returncode == 0, accepted.stdout[-3000:] + accepted.stderr[-2000:]


# ------------------------------------------------------------------------- what Postgres makes of it

MEMORY_CASES: dict[str, tuple[dict[str, object], int | None]] = {
    # Every memory knob at 0: sized from a small, this and a very large host.
    "small-host": ({}, 128),
    "this-host": ({}, None),
    "large-host": ({}, 4 * 1024 * 1024),
    "lowest": (GOOD["lowest"], 2048),
    "highest": (GOOD["highest"], 2048),
}
SETTINGS = ("max_connections", "shared_buffers", "effective_cache_size", "work_mem")


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    """An initdb'd data directory for `postgres -C` (never started), readable by the postgres user."""
    root = Path(tempfile.mkdtemp(prefix="lab-pgconf-"))
    try:
        if os.geteuid() == 0:
            shutil.chown(root, "postgres")
        as_postgres(PG_BIN / "initdb", "-D", root / "data", "-U", "postgres", "--auth=trust")
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _render(values: dict[str, object], mem_mb: int | None, dest: Path) -> subprocess.CompletedProcess[str]:
    if mem_mb is None:
        mem_mb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") // 2**20
    extra = {
        "dest": str(dest),
        "_postgres_mem_mb": mem_mb,
        "ansible_python_interpreter": sys.executable,
        **values,
    }
    playbook = PLAYBOOKS / "render_postgres_conf.yml"
    return subprocess.run(
        [str(ANSIBLE_PLAYBOOK), "-i", "localhost,", "-c", "local", str(playbook), "-e", json.dumps(extra)],
        cwd=REPO, env=playbook_env(), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip


def _setting(data_dir: Path, conf: Path, name: str) -> subprocess.CompletedProcess[str]:
    argv = [str(PG_BIN / "postgres"), "-D", str(data_dir / "data"), "-c", f"config_file={conf}", "-C", name]
    if os.geteuid() == 0:
        argv = ["runuser", "-u", "postgres", "--", *argv]
    return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)


def test_every_range_renders_a_configuration_postgres_accepts(data_dir: Path) -> None:
    confs = {name: data_dir / f"{name}.conf" for name in MEMORY_CASES}
    with ThreadPoolExecutor(max_workers=len(MEMORY_CASES)) as pool:
        renders = {
            name: pool.submit(_render, values, mem_mb, confs[name])
            for name, (values, mem_mb) in MEMORY_CASES.items()
        }
        for name, future in renders.items():
            render = future.result()
            assert render.returncode == 0, (name, render.stdout[-3000:], render.stderr[-2000:])
    found: dict[str, dict[str, str]] = {}
    for name, conf in confs.items():
        found[name] = {}
        for setting in SETTINGS:
            check = _setting(data_dir, conf, setting)
            assert check.returncode == 0, (name, conf.read_text(), check.stderr)
            found[name][setting] = check.stdout.strip()
    # Postgres reports shared_buffers and effective_cache_size in 8 kB blocks, work_mem in kB.
    assert found["small-host"]["work_mem"] == str(4 * 1024), found  # a 64th of 128 MiB, raised to 4 MiB
    assert found["large-host"]["work_mem"] == str(64 * 1024), found  # capped at 64 MiB
    assert found["large-host"]["shared_buffers"] == str(8192 * 128), found  # capped at 8 GiB
    assert found["highest"] == {
        "max_connections": "100000",
        "shared_buffers": str(8388607 * 128),
        "effective_cache_size": str(16777215 * 128),
        "work_mem": str(2097151 * 1024),
    }, found
    assert found["lowest"] == {
        "max_connections": "4",
        "shared_buffers": "128",
        "effective_cache_size": "128",
        "work_mem": "1024",
    }, found
