"""The balancer's settings (roles/lb, group_vars/all/tiers.yml) refused before any host changes.

playbooks/validate.yml against a one-host inventory whose host is also in the `lb` group (the knobs of the lb
group are checked on its hosts only), in --check mode: each bad value is named with what is allowed, and a
good inventory with a balancer passes.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from .test_settings_validation import Bad, Run, assert_refused, run_validate

BAD = [
    Bad("lb-port-zero", ("lb_port=0",), ("lb_port=0", "1..65535")),
    Bad("lb-port-on-the-app-port", ("lb_port=8080",), ("lb_port=8080", "app_server_port", "a port other")),
    Bad("lb-address-star", ('{"lb_listen_address": "*"}',), ("lb_listen_address", '"*"', "IP address")),
    Bad("lb-weight-zero", ("lb_weight=0",), ("lb_weight=0", "1..100")),
]
GOOD = "good"


@pytest.fixture(scope="module")
def with_balancer(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("lb-inventory") / "solo-lb.yml"
    host = {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3"}
    groups = ("db", "app", "client", "lb")
    inventory = {"all": {"hosts": {"solo": host}, "children": {g: {"hosts": {"solo": None}} for g in groups}}}
    path.write_text(yaml.safe_dump(inventory, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def runs(with_balancer: Path) -> dict[str, Run]:
    with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 1))) as pool:
        futures = {bad.id: pool.submit(run_validate, *bad.extra_vars, inventory=with_balancer) for bad in BAD}
        futures[GOOD] = pool.submit(run_validate, inventory=with_balancer)
        return {run_id: future.result() for run_id, future in futures.items()}


@pytest.mark.parametrize("bad", BAD, ids=[bad.id for bad in BAD])
def test_a_bad_balancer_setting_is_refused_before_any_change(runs: dict[str, Run], bad: Bad) -> None:
    assert_refused(runs[bad.id], bad.expected)


def test_an_inventory_with_a_balancer_passes(runs: dict[str, Run]) -> None:
    run = runs[GOOD]
    assert run.returncode == 0, run.output[-4000:]
