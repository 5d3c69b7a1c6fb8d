"""The test lab is shaped like a cloud: the controller speaks SSH only, and the hosts' packet filters open
exactly the lab's port table (playbooks/vars/network.yml) on the lab network, as security groups would."""

from __future__ import annotations

import errno
import socket

import pytest

from . import netns_lab
from .conftest import MultiHostLab, PlaybookRun
from .netns_lab import HOSTS, LAB_HOSTS, LAB_HOSTS_V6

pytestmark = pytest.mark.multihost


def test_the_controller_cannot_reach_any_lab_address(mh: MultiHostLab) -> None:
    ports = sorted({22, *(rule.port for rule in netns_lab.port_table())})
    for name in HOSTS:
        for address in (LAB_HOSTS[name], LAB_HOSTS_V6[name]):
            # The root namespace's unreachable route, checked first: a lab address must never fall through to
            # the machine's default route.
            netns_lab.assert_unreachable_from_controller(address)
            for port in ports:
                with pytest.raises(OSError) as failed:
                    socket.create_connection((address, port), timeout=3).close()
                assert failed.value.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH), (address, port, failed)


def test_the_controller_reaches_every_host_over_ssh_only(mh: MultiHostLab) -> None:
    for name, address in HOSTS.items():
        with socket.create_connection((address, 22), timeout=3) as conn:
            assert conn.recv(64).startswith(b"SSH-"), name
    # Nothing else of a host answers the controller on the management network: dropped, so a timeout.
    assert "timed out" in _from_controller(HOSTS["labdb"], 5432)


def _from_controller(address: str, port: int) -> str:
    netns_lab.assert_routed_over_bridge(address)
    try:
        socket.create_connection((address, port), timeout=2).close()
    except OSError as exc:
        return str(exc)
    return "open"


@pytest.mark.parametrize("v6", [False, True], ids=["ipv4", "ipv6"])
def test_the_lab_network_opens_exactly_the_port_table(provisioned: PlaybookRun, v6: bool) -> None:
    lab = LAB_HOSTS_V6 if v6 else LAB_HOSTS
    # Provisioned on IPv4 lab addresses: over IPv6 nothing listens, so an open path is refused by the host
    # (it answered) and a filtered one times out (nothing came back).
    allowed = "refused" if v6 else "open"
    cases = [
        # The port table, from the tier that needs it.
        ("labapp", "labdb", 5432, allowed),
        ("labclient1", "labapp", 8080, allowed),
        ("labclient2", "labapp", 8080, allowed),
        # Everything else between the hosts is dropped.
        ("labclient1", "labdb", 5432, "timed out"),
        ("labdb", "labapp", 8080, "timed out"),
        ("labclient1", "labapp", 8091, "timed out"),
        ("labapp", "labclient1", 22, "timed out"),
        ("labclient1", "labdb", 22, "timed out"),
    ]
    for source, target, port, expected in cases:
        outcome = MultiHostLab.connect(source, lab[target], port, timeout_s=2)
        assert expected in outcome.lower(), (source, target, port, outcome)
    # SSH between the hosts on their management addresses is dropped too: only the controller may.
    assert "timed out" in MultiHostLab.connect("labclient1", HOSTS["labapp"], 22, timeout_s=2).lower()
