"""lab_address is explicit and sane: the validation and the preflight refuse what the tiers could not use.

Real ansible-playbook runs, in --check mode, like test_settings_validation.py:
- playbooks/validate.yml: in an inventory of several hosts, a host without lab_address is named (no fallback
  to its ansible_host); a one-host inventory falls back to 127.0.0.1; a wildcard in any spelling and a value
  that is not an IP address literal are refused, naming the host, the variable and the value.
- playbooks/preflight.yml, against this machine's localhost inventory (it changes nothing): an address the
  host does not have is refused, naming the host, the variable, the value and the addresses it has; 127.0.0.1
  and ::1 pass; a listener on [::1]:port holds the port for lab_address ::1, not for 127.0.0.1. The ports are
  free ones picked here, so the lab servers that may run on this machine play no part.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import NOT_APPLICABLE

from .test_settings_validation import Bad, Run, assert_refused, run_validate


def _vars(**values: object) -> str:
    return json.dumps(values)


BAD = [
    Bad("wildcard-ipv4", (_vars(lab_address="0.0.0.0"),), ('lab_address="0.0.0.0"', "localhost", "wildcard")),
    Bad("wildcard-ipv6", (_vars(lab_address="::"),), ('lab_address="::"', "localhost", "wildcard")),
    Bad(
        "wildcard-ipv6-long",
        (_vars(lab_address="0:0:0:0:0:0:0:0"),),
        ('lab_address="0:0:0:0:0:0:0:0"', "localhost", "unspecified"),
    ),
    Bad("host-name", (_vars(lab_address="db1.lab"),), ('lab_address="db1.lab"', "localhost", "IP address")),
    Bad("ipv6-in-brackets", (_vars(lab_address="[::1]"),), ('lab_address="[::1]"', "localhost", "brackets")),
    Bad("with-a-prefix", (_vars(lab_address="10.0.0.11/24"),), ('lab_address="10.0.0.11/24"', "IP address")),
]
GOOD = {"ipv6-loopback": _vars(lab_address="::1"), "ipv6-long-spelling": _vars(lab_address="0:0:0:0:0:0:0:1")}

MISSING = "multi-host-missing"
MULTI_OK = "multi-host-all-set"
SINGLE = "single-host"
# The addresses ansible_host holds in the generated inventories: never what lab_address falls back to.
SSH_ADDRESS = {
    "db1": "203.0.113.10",
    "app1": "203.0.113.11",
    "client1": "203.0.113.12",
    "solo": "203.0.113.5",
}


def _host(name: str, **host_vars: object) -> dict[str, object]:
    # Local connection: the validation reaches no host, and every setting is rendered on the controller.
    return {
        "ansible_connection": "local",
        "ansible_python_interpreter": "/usr/bin/python3",
        "ansible_host": SSH_ADDRESS[name],
        **host_vars,
    }


def _inventory(path: Path, hosts: dict[str, dict[str, object]], groups: dict[str, list[str]]) -> Path:
    inventory = {
        "all": {
            "hosts": hosts,
            "children": {group: {"hosts": dict.fromkeys(members)} for group, members in groups.items()},
        }
    }
    path.write_text(yaml.safe_dump(inventory, sort_keys=False), encoding="utf-8")
    return path


THREE_TIERS = {"db": ["db1"], "app": ["app1"], "client": ["client1"]}


@pytest.fixture(scope="module")
def inventories(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("lab-address-inventories")
    return {
        # app1 has only its SSH address.
        MISSING: _inventory(
            root / "missing.yml",
            {
                "db1": _host("db1", lab_address="127.0.0.1"),
                "app1": _host("app1"),
                "client1": _host("client1", lab_address="127.0.0.1"),
            },
            THREE_TIERS,
        ),
        MULTI_OK: _inventory(
            root / "all-set.yml",
            {
                "db1": _host("db1", lab_address="127.0.0.1"),
                "app1": _host("app1", lab_address="::1"),
                "client1": _host("client1", lab_address="127.0.0.1"),
            },
            THREE_TIERS,
        ),
        SINGLE: _inventory(
            root / "single.yml",
            {"solo": _host("solo")},
            {"db": ["solo"], "app": ["solo"], "client": ["solo"]},
        ),
    }


@pytest.fixture(scope="module")
def runs(inventories: dict[str, Path]) -> dict[str, Run]:
    with ThreadPoolExecutor(max_workers=max(4, 2 * (os.cpu_count() or 1))) as pool:
        futures = {bad.id: pool.submit(run_validate, *bad.extra_vars) for bad in BAD}
        futures |= {name: pool.submit(run_validate, extra) for name, extra in GOOD.items()}
        futures |= {name: pool.submit(run_validate, inventory=path) for name, path in inventories.items()}
        return {run_id: future.result() for run_id, future in futures.items()}


@pytest.mark.parametrize("bad", BAD, ids=[bad.id for bad in BAD])
def test_a_lab_address_that_is_no_ip_address_of_a_host_isassert_refused(
    runs: dict[str, Run], bad: Bad
) -> None:
    assert_refused(runs[bad.id], bad.expected)


@pytest.mark.parametrize("name", sorted(GOOD))
def test_an_ipv6_lab_address_passes(runs: dict[str, Run], name: str) -> None:
    run = runs[name]
    assert run.returncode == 0, run.output
    assert all(host["failures"] == 0 for host in run.stats.values()), run.stats


def test_a_host_without_lab_address_in_a_multi_host_inventory_is_named(runs: dict[str, Run]) -> None:
    run = runs[MISSING]
    assert_refused(run, ("lab_address is not set for app1", "absent", "inventory has 3 hosts"))
    # Only app1 fails, on the check of its own lab_address, before a check renders it from another host.
    assert {host for host, counts in run.stats.items() if counts["failures"]} == {"app1"}, run.stats
    assert SSH_ADDRESS["app1"] not in " ".join(run.failure_messages)


def test_a_multi_host_inventory_with_every_lab_address_passes(runs: dict[str, Run]) -> None:
    run = runs[MULTI_OK]
    assert run.returncode == 0, run.output
    assert set(run.stats) >= {"db1", "app1", "client1"}, run.stats
    assert "lab_address=::1 on app1" in run.output


def test_a_single_host_inventory_falls_back_to_loopback(runs: dict[str, Run]) -> None:
    run = runs[SINGLE]
    assert run.returncode == 0, run.output
    assert "lab_address=127.0.0.1 on solo" in run.output, run.output[-3000:]
    assert SSH_ADDRESS["solo"] not in run.output


# ------------------------------------------------------------------------------------------------- preflight


def _free_port() -> int:
    # Free on both loopbacks: the preflight's port check looks at lab_address and at the wildcards.
    with socket.socket() as v4, socket.socket(socket.AF_INET6) as v6:
        v4.bind(("127.0.0.1", 0))
        port: int = v4.getsockname()[1]
        v6.bind(("::1", port))
        return port


@pytest.fixture(scope="module")
def ipv6_listener() -> Iterator[socket.socket]:
    """A socket of this process listening on [::1]:<port>, an IPv6 socket only (not dual-stack)."""
    if not socket.has_ipv6:
        pytest.skip(f"{NOT_APPLICABLE}no IPv6 on this machine")
    sock = socket.socket(socket.AF_INET6)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
    sock.bind(("::1", _free_port()))
    sock.listen()
    with sock:
        yield sock


PREFLIGHT = {
    "not-configured": "10.255.255.1",
    "ipv4-loopback": "127.0.0.1",
    "ipv6-loopback": "::1",
    "ipv6-held": "::1",
    "ipv4-beside-an-ipv6-listener": "127.0.0.1",
}


@pytest.fixture(scope="module")
def preflight_runs(ipv6_listener: socket.socket) -> dict[str, Run]:
    held_port = ipv6_listener.getsockname()[1]

    def ports(name: str) -> dict[str, Any]:
        app_port = held_port if name in ("ipv6-held", "ipv4-beside-an-ipv6-listener") else _free_port()
        return {"postgres_port": _free_port(), "app_server_port": app_port}

    with ThreadPoolExecutor(max_workers=len(PREFLIGHT)) as pool:
        futures = {
            name: pool.submit(
                run_validate, json.dumps({"lab_address": address, **ports(name)}), playbook="preflight.yml"
            )
            for name, address in PREFLIGHT.items()
        }
        return {name: future.result() for name, future in futures.items()}


def test_the_preflight_refuses_an_address_the_host_does_not_have(preflight_runs: dict[str, Run]) -> None:
    run = preflight_runs["not-configured"]
    assert_refused(
        run,
        (
            'localhost: lab_address="10.255.255.1" is not an address of this host',
            "its addresses: 127.0.0.1, ::1",
        ),
    )


@pytest.mark.parametrize("name", ["ipv4-loopback", "ipv6-loopback", "ipv4-beside-an-ipv6-listener"])
def test_the_preflight_passes_a_loopback_address(preflight_runs: dict[str, Run], name: str) -> None:
    run = preflight_runs[name]
    assert run.returncode == 0, run.output[-3000:]
    assert all(host["failures"] == 0 and host["changed"] == 0 for host in run.stats.values()), run.stats


def test_the_preflight_finds_the_holder_of_an_ipv6_port(
    preflight_runs: dict[str, Run], ipv6_listener: socket.socket
) -> None:
    port = ipv6_listener.getsockname()[1]
    assert_refused(
        preflight_runs["ipv6-held"],
        (
            f"localhost: port {port}/tcp (app_server_port, app tier) on ::1 is held by another process",
            f"[::1]:{port}",
        ),
    )
