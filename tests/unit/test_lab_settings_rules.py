"""roles/lab_settings/files/lab_settings_rules.py: the schema and the rules across knobs, as pure functions.

The real playbook runs (validate.yml, every knob) are in tests/ansible; here each rule is fed values directly,
with the repository's own group_vars, schema and apps.
"""

from __future__ import annotations

import copy
import secrets
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from labcore import test_types
from roles.lab_settings.files import lab_settings_rules as rules

REPO = Path(__file__).resolve().parents[2]
APPS = {
    path.parent.name: yaml.safe_load(path.read_text()) for path in sorted((REPO / "apps").glob("*/lab.yml"))
}
ONE_HOST = rules.Host(
    "solo", ["db", "app", "client"], {"db": ["solo"], "app": ["solo"], "client": ["solo"]}, APPS, "apps"
)
CLIENT = rules.Host("c1", ["client"], {"db": ["d1"], "app": ["a1"], "client": ["c1"]}, APPS, "apps")
# Made up per run: no password literal in the repository, even a test one.
SECRET = secrets.token_urlsafe(16)
SHORT_SECRET = secrets.token_hex(3)[:5]


def _good() -> dict[str, Any]:
    """The repository's settings as one host renders them (the templates of group_vars filled in)."""
    settings: dict[str, Any] = yaml.safe_load((REPO / "group_vars" / "all" / "benchmark.yml").read_text())
    for key in rules.PRESET_KEYS:
        settings[f"lab_{key}"] = settings["lab_profiles"][settings["lab_profile"]][key]
    tiers = yaml.safe_load((REPO / "group_vars" / "all" / "tiers.yml").read_text())
    settings |= {key: value for key, value in tiers.items() if "{{" not in str(value)}
    settings |= {
        "lab_results_dir": "/srv/lab/results",
        "lab_secrets_dir": "/srv/lab/.secrets",
        "lab_address": "127.0.0.1",
        "lab_host_id": "solo",
        "postgres_listen_address": "127.0.0.1",
        "postgres_allowed_clients": ["127.0.0.1"],
        "app_server_db_host": "127.0.0.1",
        "app_server_db_ports": {"postgres": 5432, "mysql": 3306},
        "lab_db_engines": ["postgres"],
        "lab_db_roles": ["postgres"],
        "app_server_frameworks": settings["lab_frameworks"],
        "app_server_db_mode": settings["lab_db_mode"],
        "app_server_listen_address": "127.0.0.1",
        "upstream_listen_address": "127.0.0.1",
        "app_server_upstream_url": "http://127.0.0.1:8091",
        "lab_package_proxy_env": {},
        "lab_db_password": SECRET,
    }
    defaults = yaml.safe_load(rules.POSTGRES_DEFAULTS.read_text())
    settings |= {name: defaults[name] for name in rules.knobs(checked_by="postgres_settings")}
    del settings["postgres_cluster_name"], settings["postgres_db_password"]  # x-when-set: unset by default
    return settings


def problems(host: rules.Host = ONE_HOST, **changes: Any) -> list[str]:
    return rules.settings_problems(_good() | changes, host)


def _one(host: rules.Host = ONE_HOST, **changes: Any) -> str:
    found = problems(host, **changes)
    assert len(found) >= 1, f"{changes} passed"
    return " | ".join(found)


def test_the_schema_is_valid_json_schema() -> None:
    cls = jsonschema.validators.validator_for(rules.schema())
    cls.check_schema(rules.schema())
    assert cls is jsonschema.Draft202012Validator


def test_the_repository_settings_pass() -> None:
    assert problems() == []


def test_the_repository_settings_pass_on_a_client_host() -> None:
    client = {name: value for name, value in _good().items() if rules.groups_of(name) in (None, ["client"])}
    assert rules.settings_problems(client, CLIENT) == []


def test_the_tfb_profile_passes() -> None:
    settings = _good()
    for key in rules.PRESET_KEYS:
        settings[f"lab_{key}"] = settings["lab_profiles"]["tfb"][key]
    assert rules.settings_problems(settings | {"lab_profile": "tfb"}, ONE_HOST) == []


@pytest.mark.parametrize(
    ("changes", "fragments"),
    [
        ({"lab_repeats": "abc"}, ('lab_repeats="abc" is not an integer', "1..100")),
        ({"lab_repeats": 0}, ("lab_repeats=0 is out of range", "allowed: 1..100")),
        ({"lab_pause_s": -1}, ("lab_pause_s=-1", "0 or more")),
        ({"lab_duration_s": 0}, ("lab_duration_s=0", "1 or more")),
        ({"lab_pipeline_depth": 2000}, ("lab_pipeline_depth=2000", "1..1024")),
        ({"lab_ceiling": "maybe"}, ('lab_ceiling="maybe" is not a boolean', "true or false")),
        ({"lab_frameworks": "aiohttp,flask"}, ('lab_frameworks="aiohttp,flask" is not a list', "framework")),
        ({"lab_frameworks": ["flask", "flask"]}, ('"flask" more than once', "at most once")),
        ({"lab_concurrency_levels": []}, ("lab_concurrency_levels=[] is empty", "non-empty list")),
        (
            {"lab_concurrency_levels": [16, "many"]},
            ('lab_concurrency_levels=[16, "many"] has "many"', "1..65535"),
        ),
        ({"lab_query_levels": [1, 600]}, ("lab_query_levels=[1, 600] has 600, above 500", "1..500", "clamp")),
        ({"lab_pipeline_concurrency_levels": [0]}, ("lab_pipeline_concurrency_levels=[0] has 0", "1..65535")),
        ({"lab_test_types": ["json", "jsn"]}, ('has "jsn", which is unknown', ", ".join(test_types.names()))),
        ({"lab_db_mode": "sql"}, ('lab_db_mode="sql" is unknown', "raw, orm")),
        ({"lab_run_id": "../x"}, ('lab_run_id="../x" is not a plain directory name', "e.g. 2026")),
        ({"lab_run_id": ".."}, ('lab_run_id=".."', "not '.' or '..'")),
        ({"lab_package_proxy": "10.0.0.1:3128"}, ('lab_package_proxy="10.0.0.1:3128"', "http://host:port")),
        ({"lab_results_dir": "results"}, ('lab_results_dir="results" is not an absolute path',)),
        ({"lab_scenario_params": {"sleep_ms": 10}}, ("missing required arguments: cpu_n, upstream_ms",)),
        (
            {"lab_scenario_params": {"sleep_ms": 1, "cpu_n": 0, "upstream_ms": 1}},
            ("lab_scenario_params.cpu_n=0",),
        ),
        (
            {"lab_scenario_params": {"sleep_ms": 1, "cpu_n": 1, "upstream_ms": 1, "extra": 2}},
            ("unknown key(s) extra", "sleep_ms, cpu_n, upstream_ms"),
        ),
        ({"lab_scenario_sweep": [1]}, ("lab_scenario_sweep=[1] has 1, which is not a dict",)),
        (
            {"lab_scenario_sweep": [{"name": "a b", "frameworks": ["flask"]}]},
            ('lab_scenario_sweep[0].name="a b"',),
        ),
        ({"lab_address": "0.0.0.0"}, ('lab_address="0.0.0.0" on solo is the unspecified address',)),
        ({"lab_address": "0:0:0:0:0:0:0:0"}, ("unspecified",)),
        ({"lab_address": "[::1]"}, ("brackets",)),
        ({"lab_host_id": "a/b"}, ('lab_host_id="a/b" on solo is not a plain directory name',)),
        ({"postgres_port": "0"}, ("postgres_port=0 on solo is out of range", "1..65535")),
        (
            {"app_server_db_ports": {"postgres": "abc", "mysql": 3306}},
            ('app_server_db_ports.postgres="abc" on solo is not an integer', "1..65535"),
        ),
        ({"postgres_allowed_clients": ["app.example.com"]}, ('has "app.example.com"', "IP address")),
        ({"postgres_allowed_clients": []}, ("postgres_allowed_clients=[] on solo is empty",)),
        (
            {"app_server_listen_address": "bad addr"},
            ('app_server_listen_address="bad addr" on solo', "host name"),
        ),
        ({"app_server_upstream_url": "ftp://x"}, ('app_server_upstream_url="ftp://x"', "http://")),
    ],
)
def test_a_bad_value_is_named_with_what_is_allowed(
    changes: dict[str, Any], fragments: tuple[str, ...]
) -> None:
    message = _one(**changes)
    assert all(fragment in message for fragment in fragments), message


def test_values_from_the_command_line_are_converted() -> None:
    """-e k=v gives strings: a number or a boolean in words is what the schema types it as."""
    assert problems(lab_repeats="3", lab_ceiling="false", lab_verify_only="yes", postgres_port="5433") == []


def test_the_profile_is_checked_before_the_knobs_rendered_from_it() -> None:
    assert problems(lab_profile="fast", lab_duration_s=None) == [
        'lab_profile="fast" is not a preset; allowed: quick, tfb (the presets in lab_profiles).'
    ]
    assert "is not a dict of presets" in _one(lab_profiles=[1, 2])
    profiles = {"quick": {"duration_s": 5}}
    assert "lacks primer_duration_s, warmup_duration_s" in _one(lab_profiles=profiles)


def test_a_preset_is_checked_like_the_knobs() -> None:
    profiles = copy.deepcopy(_good()["lab_profiles"])
    profiles["tfb"]["query_levels"] = [1, 900]
    assert "lab_profiles.tfb.query_levels=[1, 900] has 900, above 500" in _one(lab_profiles=profiles)


def test_the_password_is_never_shown() -> None:
    message = _one(lab_db_password=SHORT_SECRET)
    assert message.startswith("lab_db_password on solo is 5 characters long; allowed: at least 16")
    assert SHORT_SECRET not in message
    assert SECRET not in " ".join(problems(lab_db_password=SECRET, lab_repeats=0))


def test_a_framework_needs_an_app_and_the_database_mode() -> None:
    assert "nosuch has no apps/<name>/lab.yml; allowed: aiohttp, crax" in _one(lab_frameworks=["nosuch"])
    message = _one(lab_frameworks=["aiohttp", "crax"], lab_db_mode="orm", app_server_db_mode="orm")
    assert "lab_db_mode=orm is not supported by crax" in message and "crax only raw" in message


def test_the_db_engine_is_one_the_lab_knows() -> None:
    assert 'lab_db_engine="oracle" is unknown; allowed: postgres, mysql, postgres,mysql' in _one(
        lab_db_engine="oracle"
    )
    assert 'lab_db_engine="postgres,postgres" is unknown' in _one(lab_db_engine="postgres,postgres")


def test_both_engines_side_by_side() -> None:
    """Both engines in one run: every framework needs both drivers, the app tier's copy follows, and the two
    engines on one db host need two ports."""
    both: dict[str, Any] = {"lab_db_engine": "postgres,mysql", "app_server_db_engines": ["postgres", "mysql"]}
    assert problems(ONE_HOST, **both) == []
    message = _one(ONE_HOST, **both, mariadb_port=5432)
    assert "postgres_port=5432 and mariadb_port=5432 on solo, which runs both engines" in message, message
    message = _one(lab_db_engine="postgres,mysql", app_server_db_engines=["postgres"])
    assert 'app_server_db_engines=["postgres"] on solo differs from lab_db_engine="postgres,mysql"' in message
    apps = copy.deepcopy(dict(APPS))
    apps["flask"]["db_engines"] = ["postgres"]
    host = rules.Host("solo", ONE_HOST.groups, ONE_HOST.inventory, apps, "apps")
    message = _one(host, **both, lab_frameworks=["flask"], app_server_frameworks=["flask"])
    assert message.startswith(
        "lab_db_engine=postgres,mysql is not supported by flask (they have no mysql driver"
    ), message


def test_mysql_is_refused_while_the_frameworks_lack_a_driver_for_it() -> None:
    """Apps that do not declare mysql (every app has a driver now, so here their manifests say postgres only):
    the refusal names every framework deployed that lacks it, those of app_server_frameworks too, and what
    each supports."""
    apps = copy.deepcopy(dict(APPS))
    for manifest in apps.values():
        manifest["db_engines"] = ["postgres"]
    host = rules.Host("solo", ONE_HOST.groups, ONE_HOST.inventory, apps, "apps")
    message = _one(
        host, lab_db_engine="mysql", lab_frameworks=["aiohttp"], app_server_frameworks=["aiohttp", "flask"]
    )
    assert message.startswith("lab_db_engine=mysql is not supported by aiohttp, flask"), message
    assert "aiohttp only postgres; flask only postgres" in message
    assert "db_engines in apps/<name>/lab.yml" in message
    three = ["aiohttp", "crax", "django"]
    assert problems(lab_db_engine="postgres", lab_frameworks=three, app_server_frameworks=three) == []


def test_every_app_declares_mysql() -> None:
    """Each app has its MySQL drivers (issue 17, part 2): mysql is accepted with all of them deployed."""
    every = sorted(APPS)
    assert problems(lab_db_engine="mysql", lab_frameworks=every, app_server_frameworks=every) == []


def test_an_app_that_declares_the_engine_is_accepted() -> None:
    apps = copy.deepcopy(dict(APPS))
    for manifest in apps.values():
        manifest["db_engines"] = ["postgres"]
    apps["flask"]["db_engines"] = ["postgres", "mysql"]
    host = rules.Host("solo", ONE_HOST.groups, ONE_HOST.inventory, apps, "apps")
    settings = _good() | {"lab_frameworks": ["flask"], "app_server_frameworks": ["flask"]}
    assert rules.settings_problems(settings | {"lab_db_engine": "mysql"}, host) == []
    message = " ".join(rules.settings_problems(settings | {"lab_db_engine": "mysql", "lab_frameworks":
                                                          ["flask", "aiohttp"]}, host))  # fmt: skip
    assert "not supported by aiohttp " in message and "flask" not in message.split("(")[0], message


def test_the_server_matrix_is_the_app_server_roles_own() -> None:
    message = _one(lab_frameworks=["flask", "fastapi"], app_server_worker_class="sync")
    assert "app_server_worker_class=sync: fastapi is an ASGI app" in message
    # Not on a host without the app tier.
    client = {name: value for name, value in _good().items() if rules.groups_of(name) in (None, ["client"])}
    assert rules.settings_problems(client | {"app_server_worker_class": "sync"}, CLIENT) == []


def test_every_sweep_entry_fits_the_server_matrix() -> None:
    sweep = [
        {"name": "ok", "frameworks": ["flask"], "settings": {"flask": {"worker_class": "gevent"}}},
        {"name": "bad", "frameworks": ["fastapi"], "settings": {"fastapi": {"worker_class": "sync"}}},
        {"name": "ok", "frameworks": ["nosuch"]},
    ]
    message = _one(lab_scenario_sweep=sweep)
    assert "lab_scenario_sweep[1] (bad): app_server_framework_settings.fastapi.worker_class=sync" in message
    assert 'lab_scenario_sweep[2].name="ok" is used twice' in message
    assert 'lab_scenario_sweep[2].frameworks=["nosuch"]: nosuch has no app' in message


def test_a_global_worker_class_for_a_benchmark_leaves_the_sweep_alone() -> None:
    assert (
        problems(lab_frameworks=["flask"], app_server_frameworks=["flask"], app_server_worker_class="gthread")
        == []
    )


def test_the_tiers_fit_together() -> None:
    assert "postgres_port=8080 and app_server_port=8080 on solo" in _one(postgres_port=8080)
    assert "upstream_port=8080 on solo is app_server_port" in _one(upstream_port="8080")
    message = _one(lab_frameworks=["aiohttp", "flask"], app_server_frameworks=["aiohttp"])
    assert "does not deploy flask" in message
    assert 'app_server_db_mode="orm" on solo differs from lab_db_mode="raw"' in _one(app_server_db_mode="orm")


def test_the_inventory_has_every_tier() -> None:
    host = rules.Host("solo", ["db", "app"], {"db": ["solo"], "app": ["solo"], "client": []}, APPS)
    assert "no hosts in group(s) client" in " ".join(rules.settings_problems(_good(), host))


def test_the_postgres_knobs_go_to_the_postgres_roles_filter() -> None:
    message = _one(postgres_max_connections=3, postgres_db_name="template1")
    assert "postgres_max_connections=3 is out of range; allowed: 4..100000" in message
    assert 'postgres_db_name="template1"' in message and "(db host solo)" in message
    assert "postgres_db_password is 5 characters long" in _one(postgres_db_password=SHORT_SECRET)


def test_every_knob_of_the_schema_has_a_kind_or_an_owner() -> None:
    for name in rules.knobs():
        entry = rules.knob_schema(name)
        owner = entry.get("x-checked-by")
        assert owner in (None, "app_server_matrix", "postgres_settings", "mariadb_settings"), name
        assert owner or "type" in entry or "anyOf" in entry, f"{name}: neither a type nor an owner"
    assert set(rules.knobs(checked_by="app_server_matrix")) == set(rules.MATRIX_KNOBS)


def test_the_scale_out_counts_need_a_balancer_and_that_many_app_hosts() -> None:
    inventory = {"db": ["d"], "app": ["a1", "a2", "a3"], "client": ["c"], "lb": ["l"]}
    balanced = rules.Host("c", ["client"], inventory, APPS, "apps")
    settings = {name: value for name, value in _good().items() if rules.groups_of(name) in (None, ["client"])}
    assert rules.settings_problems({**settings, "lab_app_host_counts": [1, 2, 3]}, balanced) == []
    (too_many,) = rules.settings_problems({**settings, "lab_app_host_counts": [2, 4]}, balanced)
    assert "asks for 4 app host(s)" in too_many and "counts 1..3" in too_many, too_many
    unbalanced = rules.Host("c", ["client"], {k: v for k, v in inventory.items() if k != "lb"}, APPS, "apps")
    (no_lb,) = rules.settings_problems({**settings, "lab_app_host_counts": [1]}, unbalanced)
    assert "needs a balancer" in no_lb, no_lb
    assert rules.settings_problems({**settings, "lab_app_host_counts": []}, unbalanced) == []
