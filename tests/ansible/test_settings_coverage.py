"""Every knob of group_vars/all/*.yml has a bad value that playbooks/validate.yml rejects (issue 9, point 5).

The cases of test_settings_validation.py cover the benchmark knobs it was written for; this module adds one
rejected value for every other knob (types, ranges, combinations, the tier wiring), runs them the same way
(real `ansible-playbook --check` runs of validate.yml, all at once), and checks that no knob is left without
a case. A knob added to group_vars without a rejection test fails test_every_knob_has_a_rejection_test.
"""

from __future__ import annotations

import importlib
import json
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from .test_settings_validation import REPO, Bad, Run, assert_refused, run_validate

GROUP_VARS = sorted((REPO / "group_vars" / "all").glob("*.yml"))

# Knobs rejected by the same task share one run (its loop reports every bad item): fewer playbook runs.
NUMBERS = (
    '{"lab_duration_s": 0, "lab_primer_duration_s": 0, "lab_primer_concurrency": 70000, "lab_pause_s": -1,'
    ' "lab_wrk_timeout_s": 0, "lab_db_wait_s": 4000, "lab_client_start_margin_s": 0,'
    ' "lab_client_start_slack_s": 601, "lab_app_host_counts": [1, 0]}',
)
SLO = ('{"lab_slo_search": "maybe", "lab_slo_p99_ms": 0, "lab_slo_error_pct": 101, "lab_slo_max_steps": 0}',)
OPEN_MODEL = ('{"lab_offered_rates": [100, 0], "lab_open_vus": 0}',)
TYPES = ('{"lab_warmup_duration_s": "long", "lab_ceiling": "maybe", "lab_verify_only": "maybe"}',)
PORTS = (
    '{"postgres_port": 0, "mariadb_port": 0, "app_server_db_ports": {"postgres": "abc", "mysql": 3306},'
    ' "app_server_port": 70000}',
)
DB_ADDRESSES = (
    '{"postgres_listen_address": "*", "postgres_allowed_clients": ["app.example.com"],'
    ' "mariadb_listen_address": "*", "mariadb_allowed_clients": []}',
)
APP_ADDRESSES = ('{"app_server_listen_address": "bad addr", "app_server_db_host": ""}',)
UPSTREAM = ('{"upstream_listen_address": "*", "app_server_upstream_url": "ftp://x"}',)
PATHS = ('{"lab_results_dir": "results", "lab_secrets_dir": "secrets"}',)
DEMO_ROWS = (
    '{"lab_demo_data_rows": 0, "postgres_demo_data_rows": "many", "mariadb_demo_data_rows": 100000001}',
)

MORE_BAD = [
    # Benchmark knobs (group_vars/all/benchmark.yml).
    Bad("profiles-not-a-dict", ('{"lab_profiles": [1, 2]}',), ("lab_profiles", "dict")),
    Bad(
        "pipeline-level-above-65535",
        ('{"lab_pipeline_concurrency_levels": [256, 70000]}',),
        ("lab_pipeline_concurrency_levels=[256, 70000]", "1..65535"),
    ),
    Bad("duration-zero", NUMBERS, ("lab_duration_s=0", "1 or more")),
    Bad("primer-duration-zero", NUMBERS, ("lab_primer_duration_s=0", "1 or more")),
    Bad("primer-concurrency-above", NUMBERS, ("lab_primer_concurrency=70000", "1..65535")),
    Bad("pause-negative", NUMBERS, ("lab_pause_s=-1", "0 or more")),
    Bad("wrk-timeout-zero", NUMBERS, ("lab_wrk_timeout_s=0", "1 or more")),
    Bad("db-wait-above", NUMBERS, ("lab_db_wait_s=4000", "0..3600")),
    Bad("start-margin-zero", NUMBERS, ("lab_client_start_margin_s=0", "1..600")),
    Bad("start-slack-above", NUMBERS, ("lab_client_start_slack_s=601", "0..600")),
    Bad("warmup-duration-text", TYPES, ("lab_warmup_duration_s", "long")),
    Bad("ceiling-not-a-bool", TYPES, ("lab_ceiling", "maybe", "bool")),
    Bad("app-host-count-zero", NUMBERS, ("lab_app_host_counts", "0", "1..1000")),
    Bad(
        "app-host-counts-without-a-balancer",
        ('{"lab_app_host_counts": [1, 2]}',),
        ("lab_app_host_counts=[1, 2]", "needs a balancer", "no host in group lb"),
    ),
    Bad("verify-only-not-a-bool", TYPES, ("lab_verify_only", "maybe", "bool")),
    Bad("load-model-unknown", ("lab_load_model=wrk2",), ("lab_load_model", "wrk2", "closed, open")),
    Bad("offered-rate-zero", OPEN_MODEL, ("lab_offered_rates", "0", "1..1000000")),
    Bad("open-vus-zero", OPEN_MODEL, ("lab_open_vus=0", "1..20000")),
    Bad("slo-search-not-a-bool", SLO, ("lab_slo_search", "maybe", "bool")),
    Bad("slo-p99-zero", SLO, ("lab_slo_p99_ms=0",)),
    Bad("slo-error-above", SLO, ("lab_slo_error_pct=101", "0..100")),
    Bad("slo-steps-zero", SLO, ("lab_slo_max_steps=0", "1..50")),
    Bad("results-dir-relative", PATHS, ("lab_results_dir", "results", "absolute")),
    # Tier wiring (group_vars/all/tiers.yml).
    Bad("host-id-with-a-slash", ("lab_host_id=a/b",), ("lab_host_id", "a/b", "plain directory name")),
    Bad(
        "address-not-an-ip", ("lab_address=db.example.com",), ("db.example.com", "lab_address", "IP address")
    ),
    Bad("postgres-port-zero", PORTS, ("postgres_port", "0", "1..65535")),
    Bad("mariadb-port-zero", PORTS, ("mariadb_port", "0", "1..65535")),
    Bad("demo-rows-zero", DEMO_ROWS, ("lab_demo_data_rows=0", "1..100000000")),
    Bad("postgres-demo-rows-text", DEMO_ROWS, ('postgres_demo_data_rows="many"', "not an integer")),
    Bad("mariadb-demo-rows-above", DEMO_ROWS, ("mariadb_demo_data_rows=100000001", "1..100000000")),
    Bad("db-port-text", PORTS, ("app_server_db_ports.postgres", "abc", "1..65535")),
    Bad(
        "both-engines-on-one-port",
        ('{"lab_db_engine": "postgres,mysql", "mariadb_port": 5432}',),
        ("postgres_port=5432 and mariadb_port=5432", "both engines", "two different ports"),
    ),
    Bad("app-port-above", PORTS, ("app_server_port=70000", "1..65535")),
    Bad(
        "postgres-port-on-the-app-port",
        ("postgres_port=8080",),
        ("postgres_port=8080", "app_server_port=8080"),
    ),
    Bad("listen-address-star", DB_ADDRESSES, ("postgres_listen_address", "*", "IP address")),
    Bad("allowed-client-a-name", DB_ADDRESSES, ("postgres_allowed_clients", "app.example.com", "IP address")),
    Bad("mariadb-listen-address-star", DB_ADDRESSES, ("mariadb_listen_address", "*", "IP address")),
    Bad("mariadb-no-allowed-client", DB_ADDRESSES, ("mariadb_allowed_clients", "[]")),
    Bad("app-listen-address-junk", APP_ADDRESSES, ("app_server_listen_address", "bad addr", "host name")),
    Bad("db-host-empty", APP_ADDRESSES, ("app_server_db_host", '""', "host name")),
    Bad(
        "app-tier-without-a-framework",
        ('{"lab_frameworks": ["aiohttp", "flask"], "app_server_frameworks": ["aiohttp"]}',),
        ("app_server_frameworks", "flask", "lab_frameworks"),
    ),
    Bad("app-db-mode-differs", ("app_server_db_mode=orm",), ("app_server_db_mode", "orm", "lab_db_mode")),
    Bad("secrets-dir-relative", PATHS, ("lab_secrets_dir", "secrets", "absolute")),
    Bad("db-engine-unknown", ("lab_db_engine=oracle",), ("lab_db_engine", "oracle", "postgres, mysql")),
    Bad(
        "app-db-engine-differs",
        ('{"app_server_db_engines": ["mysql"]}',),
        ("app_server_db_engines", "mysql", "lab_db_engine"),
    ),
    Bad("db-password-short", ("lab_db_password=short",), ("lab_db_password", "5 characters", "at least 16")),
    # The upstream service of the /upstream scenario (roles/upstream) and the apps' URL of it.
    Bad("upstream-port-zero", ('{"upstream_port": 0}',), ("upstream_port=0", "1..65535")),
    Bad(
        "upstream-address-star",
        UPSTREAM,
        ("upstream_listen_address", '"*"', "IP address"),
    ),
    Bad("upstream-url-not-http", UPSTREAM, ("app_server_upstream_url", "ftp://x", "http://")),
    Bad("scenario-sweep-not-dicts", ('{"lab_scenario_sweep": [1]}',), ("lab_scenario_sweep", "dict")),
    # The server matrix (its other knobs have their cases in test_matrix_validation.py).
    Bad("threads-text", ("app_server_threads=abc",), ("app_server_threads", "abc", "0..1024")),
]

# Knobs that are not set on their own: each is computed from another knob that has its case.
DERIVED = {
    "lab_package_proxy_env": "the environment built from lab_package_proxy",
    "lab_db_engines": "the engines of lab_db_engine, as a list",
    "lab_db_roles": "the role of each engine of lab_db_engine",
    "lb_backends": "the app hosts, each with its lab_address, app_server_port and lb_weight",
    # Its range is roles/mariadb's (tests/unit/test_mariadb_settings.py, tests/e2e/test_mariadb_role.py).
    "mariadb_app_connections": "what the app hosts' pools hold on MariaDB, summed from their reports",
}


def knobs() -> set[str]:
    found: set[str] = set()
    for path in GROUP_VARS:
        found |= set(yaml.safe_load(path.read_text(encoding="utf-8")) or {})
    return found


def _names(extra: str) -> set[str]:
    """The variables one -e argument sets ("k=v" or a JSON object)."""
    if extra.lstrip().startswith("{"):
        return set(json.loads(extra))
    return {extra.split("=", 1)[0]}


def all_cases() -> list[Bad]:
    """The Bad cases of every test module here (module-level lists named BAD or MORE_BAD)."""
    cases: list[Bad] = []
    for path in sorted(Path(__file__).parent.glob("test_*.py")):
        module = importlib.import_module(f"{__package__}.{path.stem}")
        for name in ("BAD", "MORE_BAD"):
            cases += [case for case in getattr(module, name, []) if isinstance(case, Bad)]
    return cases


def covered() -> set[str]:
    return {name for bad in all_cases() for extra in bad.extra_vars for name in _names(extra)}


def test_every_knob_has_a_rejection_test() -> None:
    missing = knobs() - covered() - set(DERIVED)
    assert not missing, (
        f"group_vars knobs without a bad-value case in tests/ansible: {sorted(missing)}; add a Bad(...) to "
        "MORE_BAD here (or to a BAD list of another module here) and its check to roles/lab_settings"
    )


def test_derived_knobs_still_exist() -> None:
    assert set(DERIVED) <= knobs(), set(DERIVED) - knobs()


@pytest.fixture(scope="module")
def runs() -> dict[str, Run]:
    with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 1))) as pool:
        futures = {extra: pool.submit(run_validate, *extra) for extra in {bad.extra_vars for bad in MORE_BAD}}
        done = {extra: future.result() for extra, future in futures.items()}
    return {bad.id: done[bad.extra_vars] for bad in MORE_BAD}


@pytest.mark.parametrize("bad", MORE_BAD, ids=[bad.id for bad in MORE_BAD])
def test_bad_setting_is_rejected_before_any_change(runs: dict[str, Run], bad: Bad) -> None:
    assert_refused(runs[bad.id], bad.expected)


def test_the_password_is_never_printed(runs: dict[str, Run]) -> None:
    secret_file = REPO / ".secrets" / "benchmarkdbuser.password"
    if not secret_file.exists():
        pytest.skip("no generated password yet")
    secret = secret_file.read_text().strip()
    assert all(secret not in run.output for run in runs.values())
    assert "short" not in " ".join(runs["db-password-short"].failure_messages)
