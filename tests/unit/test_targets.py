"""Targets (a framework on an engine) and the tiers' host pattern: the filters the playbooks and roles share.

- roles/app_server's app_server_targets names each framework on each engine (the one home of the name rule),
  and app_server_matrix gives each target its configuration and label;
- playbooks/filter_plugins/lab_targets.py picks the run's targets from the app tier's, in lab_frameworks
  order;
- playbooks/filter_plugins/lab_hosts.py builds the host pattern of the tiers the inventory has.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
import yaml

from roles.app_server.filter_plugins import app_server_matrix as matrix

# By name at run time: mypy checks playbooks/filter_plugins as top-level modules of their own.
lab_hosts = importlib.import_module("playbooks.filter_plugins.lab_hosts")
lab_targets = importlib.import_module("playbooks.filter_plugins.lab_targets")

REPO = Path(__file__).resolve().parents[2]
MANIFESTS: dict[str, Any] = {
    path.parent.name: yaml.safe_load(path.read_text()) for path in sorted((REPO / "apps").glob("*/lab.yml"))
}


def test_one_engine_keeps_the_framework_names() -> None:
    assert matrix.app_server_targets(["flask", "aiohttp"], ["mysql"]) == [
        {"name": "flask", "framework": "flask", "engine": "mysql"},
        {"name": "aiohttp", "framework": "aiohttp", "engine": "mysql"},
    ]


def test_two_engines_name_the_second_and_keep_a_framework_s_targets_together() -> None:
    names = [t["name"] for t in matrix.app_server_targets(["flask", "aiohttp"], ["postgres", "mysql"])]
    assert names == ["flask", "flask-mysql", "aiohttp", "aiohttp-mysql"]


def test_each_target_has_its_engine_and_a_label_naming_it_beside_another() -> None:
    settings = {"db_engines": ["postgres", "mysql"], "db_mode": "raw", "cpus": 2}
    configs = matrix.app_server_matrix(["flask"], MANIFESTS, settings)
    assert list(configs) == ["flask", "flask-mysql"]
    assert configs["flask"]["db_engine"] == "postgres" and "raw postgres" in configs["flask"]["label"]
    assert configs["flask-mysql"]["db_engine"] == "mysql" and "raw mysql" in configs["flask-mysql"]["label"]
    assert (configs["flask-mysql"]["framework"], configs["flask-mysql"]["target"]) == ("flask", "flask-mysql")
    # The same server configuration on both engines: only the engine differs.
    strip = ("db_engine", "label", "target")
    assert {k: v for k, v in configs["flask"].items() if k not in strip} == {
        k: v for k, v in configs["flask-mysql"].items() if k not in strip
    }
    alone = matrix.app_server_matrix(["flask"], MANIFESTS, {"db_mode": "raw", "cpus": 2})
    assert ", raw, " in alone["flask"]["label"], alone["flask"]["label"]


def test_the_run_takes_its_frameworks_targets_in_its_order() -> None:
    app = matrix.app_server_targets(["aiohttp", "flask", "django"], ["postgres", "mysql"])
    picked = lab_targets.lab_targets(app, ["django", "aiohttp"])
    assert [t["name"] for t in picked] == ["django", "django-mysql", "aiohttp", "aiohttp-mysql"]
    with pytest.raises(ValueError, match="exports no target of crax"):
        lab_targets.lab_targets(app, ["crax"])


def test_the_host_pattern_has_only_the_optional_tiers_the_inventory_has() -> None:
    three = {"db": ["d"], "app": ["a"], "client": ["c"]}
    assert lab_hosts.lab_tier_hosts(three) == "db:app:client"
    assert lab_hosts.lab_tier_hosts({**three, "lb": ["l"], "upstream": []}) == "db:app:client:lb"
    assert lab_hosts.lab_tier_hosts(three, ["lb"]) == "all:!all"
    assert lab_hosts.lab_tier_hosts({**three, "lb": ["l"]}, ["app", "upstream", "lb"]) == "app:lb"


def test_an_app_host_s_demand_is_its_largest_target_per_engine() -> None:
    settings = {"db_engines": ["postgres", "mysql"], "db_mode": "raw", "cpus": 4,
                "framework_settings": {"django": {"threads": 6}}}  # fmt: skip
    configs = matrix.app_server_matrix(["aiohttp", "django", "flask"], MANIFESTS, settings)
    demand = matrix.app_server_db_connections(configs)
    assert set(demand) == {"postgres", "mysql"}
    held = {target: c["workers"] * c["db_pool_size"] for target, c in configs.items()}
    # Django's threads each hold a connection: 4 workers x 6 threads; lab-appctl runs one target at a time.
    assert held["django"] == 24
    assert demand["postgres"] == max(held[t] for t in ("aiohttp", "django", "flask"))
    assert demand["mysql"] == max(held[t] for t in ("aiohttp-mysql", "django-mysql", "flask-mysql"))


def test_the_database_is_sized_from_every_app_host_s_report() -> None:
    hostvars = {
        "a1": {"app_server_db_connections": {"postgres": 16, "mysql": 8}},
        "a2": {"app_server_db_connections": {"postgres": 16, "mysql": 12}},
        "a3": {},
    }
    assert lab_hosts.lab_db_connections(["a1", "a2"], hostvars, "mysql") == 20
    assert lab_hosts.lab_db_connections(["a1", "a2"], hostvars, "postgres") == 32
    # a3 has not reported (no db_demand ran): unknown, which the mariadb role's preflight refuses by name.
    assert lab_hosts.lab_db_connections(["a1", "a3"], hostvars, "mysql") is None


def test_every_lab_host_once_in_tier_order() -> None:
    groups = {"db": ["h1"], "app": ["h1", "a2"], "client": ["c1"], "lb": ["b1"], "ungrouped": ["x"]}
    assert lab_hosts.lab_tier_host_list(groups) == ["h1", "a2", "c1", "b1"]
    assert lab_hosts.lab_tier_host_list(groups, ["lb", "app"]) == ["b1", "h1", "a2"]


def test_each_target_is_measured_on_each_count_of_app_hosts() -> None:
    app = matrix.app_server_targets(["flask", "aiohttp"], ["postgres", "mysql"])
    every = lab_targets.lab_targets(app, ["aiohttp"], app_hosts=3)
    assert [(t["name"], t["unit"], t["app_hosts"]) for t in every] == [
        ("aiohttp", "aiohttp", 3),
        ("aiohttp-mysql", "aiohttp-mysql", 3),
    ]
    curve = lab_targets.lab_targets(app, ["aiohttp"], app_hosts=3, app_host_counts=[1, 3])
    assert [(t["name"], t["unit"], t["engine"], t["app_hosts"]) for t in curve] == [
        ("aiohttp-x1", "aiohttp", "postgres", 1),
        ("aiohttp-x3", "aiohttp", "postgres", 3),
        ("aiohttp-mysql-x1", "aiohttp-mysql", "mysql", 1),
        ("aiohttp-mysql-x3", "aiohttp-mysql", "mysql", 3),
    ]
