"""Teardown over SSH (issue 14, point 3): the last module of the suite takes the lab away from every host.

`playbooks/teardown.yml` runs against every host of the suite (labclient2 was provisioned by the two-client
module, lablb, labapp2 and labapp3 by the balancer's, or never if those were not collected: a host with
nothing to take away is torn down as well). `--check` first changes nothing. Then nothing
of the lab is left on any host: no process in its namespace but its sshd, no listener but sshd's, no file
under its /opt/lab, /etc/lab, /var/lib/lab, /run/lab, /var/log/lab or /var/lib/lab-state directory, no
lab_<host> cluster, no sysctl, limits or tmpfiles snippet; its kernel settings (per network namespace) are
back to the values recorded before the first provisioning; what only the client held is kept on the
controller. A second teardown, and a --check, change nothing. The hosts share this machine's file system and
PIDs: everything is looked for by the host's name (tests/teardown_checks.py), and the machine's apt packages
and system user stay (other lab hosts live on it).
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..teardown_checks import LAB_SYSCTLS, leftovers
from .conftest import MultiHostLab, PlaybookRun
from .netns_lab import HOSTS

pytestmark = pytest.mark.multihost

# Every host of the suite: the balancer's module (run just before this one) provisioned lablb, labapp2 and
# labapp3, so the teardown of an lb group and of several app hosts is checked too.
GROUPS = {
    "db": ["labdb"],
    "app": ["labapp", "labapp2", "labapp3"],
    "client": ["labclient1", "labclient2"],
    "lb": ["lablb"],
}


@dataclass
class TornDown:
    records: dict[str, dict[str, Any]]
    client_runs: list[str]
    check: PlaybookRun
    after_check: dict[str, list[str]]
    first: PlaybookRun
    left: dict[str, list[str]]
    second: PlaybookRun
    second_check: PlaybookRun
    results: Path


def _record(host: str) -> dict[str, Any]:
    path = Path(f"/var/lib/lab-state/{host}/before.json")
    return json.loads(path.read_text()) if path.is_file() else {}


def _sysctl(host: str, name: str) -> str | None:
    proc = MultiHostLab.in_host(host, "cat", f"/proc/sys/{name.replace('.', '/')}")
    return " ".join(proc.stdout.split()) if proc.returncode == 0 else None


def _namespace_processes(host: str) -> list[str]:
    """The processes of the host's network namespace other than its sshds (and their sessions)."""
    proc = subprocess.run(["ip", "netns", "pids", host], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr  # the namespace is there
    out = proc.stdout
    found = []
    for pid in out.split():
        try:
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if comm != "sshd":
            found.append(f"{pid} {comm}: {cmdline[:200]}")
    return found


def _foreign_listeners(host: str) -> list[str]:
    out = MultiHostLab.in_host(host, "ss", "-H", "-l", "-t", "-u", "-n", "-p").stdout
    return [line for line in out.splitlines() if '"sshd"' not in line]


@pytest.fixture(scope="module")
def torn_down(
    mh: MultiHostLab, provisioned: PlaybookRun, tmp_path_factory: pytest.TempPathFactory
) -> TornDown:
    inventory = mh.inventory("teardown", GROUPS)
    results = tmp_path_factory.mktemp("results-teardown")
    extra: dict[str, object] = {"lab_results_dir": str(results)}
    records = {host: _record(host) for host in HOSTS}
    client_root = Path("/var/lib/lab/labclient1/results")
    client_runs = sorted(p.name for p in client_root.iterdir()) if client_root.is_dir() else []
    check = mh.run(inventory, "teardown.yml", "--check", extra=extra)
    assert check.returncode == 0, check.output[-6000:]
    after_check = {host: leftovers(host) for host in HOSTS}
    first = mh.run(inventory, "teardown.yml", extra=extra)
    assert first.returncode == 0, first.output[-6000:]
    left = {host: leftovers(host) + _namespace_processes(host) + _foreign_listeners(host) for host in HOSTS}
    second = mh.run(inventory, "teardown.yml", extra=extra)
    assert second.returncode == 0, second.output[-6000:]
    second_check = mh.run(inventory, "teardown.yml", "--check", extra=extra)
    assert second_check.returncode == 0, second_check.output[-6000:]
    return TornDown(records, client_runs, check, after_check, first, left, second, second_check, results)


def test_the_record_was_taken_before_the_first_provisioning(torn_down: TornDown) -> None:
    for host in ("labdb", "labapp", "labclient1"):
        sections = torn_down.records[host]["sections"]
        assert all(section["lab_was_here"] == [] for section in sections.values()), (host, sections)
        before = sections["lab_base"]["sysctls"]
        # A fresh network namespace: the kernel's values, not the lab's; the machine-wide one is not shown.
        assert before["net.core.somaxconn"] != LAB_SYSCTLS["net.core.somaxconn"], (host, before)
        assert before["net.core.netdev_max_backlog"] is None, (host, before)


def test_check_mode_names_what_would_go_and_changes_nothing(torn_down: TornDown) -> None:
    changed = {host: counts["changed"] for host, counts in torn_down.check.recap().items()}
    assert all(changed[host] > 0 for host in ("labdb", "labapp", "labclient1")), changed
    assert any(item.startswith("process ") for item in torn_down.after_check["labapp"])
    assert any(item.startswith("cluster ") for item in torn_down.after_check["labdb"])
    assert "path /opt/lab/labclient1" in torn_down.after_check["labclient1"]


def test_nothing_of_the_lab_is_left_on_any_host(torn_down: TornDown) -> None:
    recap = torn_down.first.recap()
    assert set(recap) == set(HOSTS)
    assert all(counts["failed"] == 0 and counts["unreachable"] == 0 for counts in recap.values()), recap
    assert torn_down.left == {host: [] for host in HOSTS}


@pytest.mark.parametrize("host", ["labdb", "labapp", "labclient1"])
def test_kernel_settings_are_back_to_their_values_before_the_lab(torn_down: TornDown, host: str) -> None:
    before = torn_down.records[host]["sections"]["lab_base"]["sysctls"]
    assert {name: _sysctl(host, name) for name in before} == before


def test_what_only_the_client_held_is_kept_on_the_controller(torn_down: TornDown) -> None:
    assert torn_down.client_runs, "the suite left no run on labclient1"
    for run_id in torn_down.client_runs:
        assert list((torn_down.results / run_id).glob("raw/*/*/labclient1/*.meta.json")), run_id


def test_a_second_teardown_changes_nothing(torn_down: TornDown) -> None:
    for run in (torn_down.second, torn_down.second_check):
        changed = {host: counts["changed"] for host, counts in run.recap().items()}
        assert changed == dict.fromkeys(HOSTS, 0), run.output[-8000:]
