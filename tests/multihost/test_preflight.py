"""playbooks/preflight.yml stops a run early, naming the host, before anything changes on the hosts."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from . import netns_lab
from .conftest import MultiHostLab, wait_for_listener
from .netns_lab import LAB_HOSTS

pytestmark = pytest.mark.multihost

GROUPS = {"db": ["labdb"], "app": ["labapp"], "client": ["labclient1", "labclient2"]}
# libfaketime (Debian package libfaketime, installed with the lab's packages): a process that preloads it sees
# the clock FAKETIME ahead.
FAKETIME_LIBS = sorted(Path("/usr/lib").glob("*/faketime/libfaketime.so.1"))
SKEW_S = 90


def test_unreachable_host_fails_the_run_at_once_and_is_named(mh: MultiHostLab) -> None:
    # Nothing listens on port 2222 of labclient2, and its packet filter drops the connection: the preflight's
    # 10 s SSH timeout ends it.
    inventory = mh.inventory("unreachable", GROUPS, labclient2={"ansible_port": 2222})
    run = mh.run(inventory, "site.yml")
    assert run.returncode != 0
    assert "fatal: [labclient2]: UNREACHABLE!" in run.output, run.output[-3000:]
    assert "TASK [lab_base" not in run.output  # no host was changed
    assert run.recap()["labclient2"]["unreachable"] == 1
    assert run.seconds < 60, run.seconds


def test_a_port_held_by_another_process_is_named(mh: MultiHostLab) -> None:
    # labclient2 plays the app tier here, and something else already listens on its app port.
    squatter = subprocess.Popen(
        [
            *("ip", "netns", "exec", "labclient2"),
            *(sys.executable, "-m", "http.server", "8080", "--bind", LAB_HOSTS["labclient2"]),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_listener(LAB_HOSTS["labclient2"], 8080, host="labclient2")
        inventory = mh.inventory(
            "port-taken", {"db": ["labdb"], "app": ["labclient2"], "client": ["labclient1"]}
        )
        run = mh.run(inventory, "preflight.yml")
    finally:
        squatter.terminate()
        squatter.wait(timeout=10)
    assert run.returncode != 0
    assert (
        f"labclient2: port 8080/tcp (app_server_port, app tier) on {LAB_HOSTS['labclient2']} is held by"
        " another process" in run.output
    ), run.output[-3000:]
    assert f"pid={squatter.pid}," in run.output


def test_a_lab_port_the_network_drops_is_named(mh: MultiHostLab) -> None:
    # labdb plays a client here, and labapp's packet filter admits 8080 only from the real client hosts: the
    # probe from labdb gets no answer, as from a host a security group leaves out.
    inventory = mh.inventory("blocked", {"db": ["labdb"], "app": ["labapp"], "client": ["labdb"]})
    run = mh.run(inventory, "preflight.yml")
    assert run.returncode != 0
    assert (
        f"labdb cannot reach labapp at {LAB_HOSTS['labapp']}:8080 (blocked: no answer within 3 s): open"
        " 8080/tcp (app_server_port," in run.output
    ), run.output[-3000:]
    assert "from the client hosts to the app hosts' lab_address" in run.output
    assert run.recap()["labdb"]["failed"] == 1
    assert all(run.recap()[host]["failed"] == 0 for host in ("labapp",))


def test_every_host_passes_the_preflight(mh: MultiHostLab) -> None:
    run = mh.run(mh.inventory("preflight-ok", GROUPS), "preflight.yml")
    assert run.returncode == 0, run.output[-3000:]
    assert set(run.recap()) == {"labdb", "labapp", "labclient1", "labclient2"}
    assert all(counts["failed"] == 0 for counts in run.recap().values())


def test_a_host_whose_clock_is_off_is_named(mh: MultiHostLab) -> None:
    # The namespaces share the machine's clock; a second sshd of labclient2 starts every session it serves
    # with libfaketime preloaded, so over that port labclient2 is a host whose clock runs SKEW_S s ahead.
    assert FAKETIME_LIBS, "libfaketime is missing (apt-get install libfaketime)"
    netns_lab.start_second_sshd(
        mh.lab, "labclient2", 2200, [f"SetEnv LD_PRELOAD={FAKETIME_LIBS[0]} FAKETIME=+{SKEW_S}s"]
    )
    run = mh.run(mh.inventory("clock-skew", GROUPS, labclient2={"ansible_port": 2200}), "site.yml")
    assert run.returncode != 0
    found = re.search(r"labclient2: its clock is (-?\d+) ms off the controller's", run.output)
    assert found, run.output[-3000:]
    assert abs(int(found[1]) - SKEW_S * 1000) < 5000, found[0]
    assert "lab_max_clock_skew_ms=" in run.output
    assert "TASK [lab_base" not in run.output  # no host was changed
    assert run.recap()["labclient2"]["failed"] == 1
    assert all(run.recap()[host]["failed"] == 0 for host in ("labdb", "labapp", "labclient1"))
