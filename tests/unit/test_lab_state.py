"""The record of a host's state before the lab (playbooks/library/lab_state.py): what it probes, that the
first record of an item is the truth, and what forget and prune remove."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "playbooks" / "library"))
import lab_state  # noqa: E402  (an Ansible module of the playbooks, run on the hosts)

NOW = "2026-12-02T10:00:00Z"


def _runner(outputs: dict[str, tuple[int, str]]) -> lab_state.Runner:
    """A stand-in for subprocess.run: the answer of each command, by its first two words."""

    def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        code, out = outputs.get(" ".join(argv[:2]), (127, ""))
        return subprocess.CompletedProcess(list(argv), code, out, "")

    return run


def test_sysctls_are_read_as_sysctl_prints_them_and_absent_ones_are_null(tmp_path: Path) -> None:
    (tmp_path / "net" / "ipv4").mkdir(parents=True)
    (tmp_path / "net" / "ipv4" / "ip_local_port_range").write_text("32768\t60999\n")
    (tmp_path / "net" / "ipv4" / "tcp_tw_reuse").write_text("2\n")
    values = lab_state.probe_sysctls(
        ["net.ipv4.ip_local_port_range", "net.ipv4.tcp_tw_reuse", "net.core.netdev_max_backlog"], tmp_path
    )
    assert values == {
        "net.ipv4.ip_local_port_range": "32768 60999",
        "net.ipv4.tcp_tw_reuse": "2",
        "net.core.netdev_max_backlog": None,  # not shown in this network namespace
    }


def test_packages_are_installed_only_when_dpkg_says_so() -> None:
    dpkg = "nginx installed\ncurl config-files\nlibpq-dev:amd64 installed\n"
    runner = _runner({"dpkg-query --show": (1, dpkg)})  # dpkg-query exits 1 when a name is unknown
    assert lab_state.probe_packages(["nginx", "curl", "libpq-dev", "wrk"], runner) == {
        "nginx": True,
        "curl": False,  # removed, its configuration left: not installed
        "libpq-dev": True,
        "wrk": False,
    }


def test_an_init_script_service_is_enabled_by_its_start_links(tmp_path: Path) -> None:
    (tmp_path / "init.d").mkdir()
    (tmp_path / "init.d" / "nginx").write_text("#!/bin/sh\n")
    for runlevel in "2345":
        (tmp_path / f"rc{runlevel}.d").mkdir()
        (tmp_path / f"rc{runlevel}.d" / "S01nginx").symlink_to("../init.d/nginx")
    (tmp_path / "rc0.d").mkdir()
    (tmp_path / "rc0.d" / "K01nginx").symlink_to("../init.d/nginx")
    running = _runner({"service nginx": (0, "nginx is running")})
    states = lab_state.probe_services(["nginx", "apache2"], "sysvinit", running, tmp_path)
    assert states == {
        "nginx": {"installed": True, "enabled": True, "active": True},
        "apache2": {"installed": False, "enabled": False, "active": False},
    }
    for runlevel in "2345":
        (tmp_path / f"rc{runlevel}.d" / "S01nginx").unlink()
        (tmp_path / f"rc{runlevel}.d" / "K01nginx").symlink_to("../init.d/nginx")
    stopped = _runner({"service nginx": (3, "nginx is not running")})
    assert lab_state.probe_services(["nginx"], "process_api", stopped, tmp_path)["nginx"] == {
        "installed": True,
        "enabled": False,
        "active": False,
    }


def test_a_systemd_service_is_read_from_systemctl() -> None:
    show = "LoadState=loaded\nUnitFileState=enabled\nActiveState=active\n"
    runner = _runner({"systemctl show": (0, show)})
    assert lab_state.probe_services(["nginx"], "systemd", runner)["nginx"] == {
        "installed": True,
        "enabled": True,
        "active": True,
    }
    gone = _runner({"systemctl show": (0, "LoadState=not-found\nUnitFileState=\nActiveState=inactive\n")})
    assert not any(lab_state.probe_services(["nginx"], "systemd", gone)["nginx"].values())


def test_clusters_come_from_pg_lsclusters_with_their_start_conf(tmp_path: Path) -> None:
    (tmp_path / "15" / "main").mkdir(parents=True)
    (tmp_path / "15" / "main" / "start.conf").write_text("# Automatic startup configuration\nmanual\n")
    listing = (
        "15  main      5433 online postgres /var/lib/postgresql/15/main /var/log/postgresql/15-main.log\n"
        "15  lab_web1  5432 down   postgres /var/lib/postgresql/15/lab_web1 /var/log/postgresql/x.log\n"
    )
    runner = _runner({"pg_lsclusters --no-header": (0, listing)})
    clusters = lab_state.probe_clusters(["15/main", "15/lab_web1", "17/main"], runner, tmp_path)
    assert clusters == {
        "15/main": {
            "exists": True,
            "status": "online",
            "start": "manual",
            "data_dir": "/var/lib/postgresql/15/main",
            "port": 5433,
        },
        "15/lab_web1": {
            "exists": True,
            "status": "down",
            "start": None,
            "data_dir": "/var/lib/postgresql/15/lab_web1",
            "port": 5432,
        },
        "17/main": {"exists": False},
    }
    # No Postgres at all: nothing exists.
    assert lab_state.probe_clusters(["15/main"], _runner({}), tmp_path) == {"15/main": {"exists": False}}


def test_the_first_record_of_an_item_is_the_truth() -> None:
    first, added = lab_state.merge_section(
        None, {"sysctls": {"net.core.somaxconn": "4096"}, "packages": {"sysstat": False}}, [], NOW
    )
    assert added == ["section", "sysctls:net.core.somaxconn", "packages:sysstat"]
    assert first == {
        "recorded": NOW,
        "lab_was_here": [],
        "sysctls": {"net.core.somaxconn": "4096"},
        "packages": {"sysstat": False},
    }
    # A later provisioning sees the lab's values; it adds only the setting nobody recorded yet.
    later = {
        "sysctls": {"net.core.somaxconn": "65535", "net.ipv4.tcp_tw_reuse": "2"},
        "packages": {"sysstat": True},
    }
    second, added = lab_state.merge_section(first, later, ["/etc/sysctl.d/60-lab-web1.conf"], "later")
    assert added == ["sysctls:net.ipv4.tcp_tw_reuse"]
    assert second["sysctls"] == {"net.core.somaxconn": "4096", "net.ipv4.tcp_tw_reuse": "2"}
    assert second["packages"] == {"sysstat": False}
    assert second["recorded"] == NOW and second["lab_was_here"] == []
    assert first["sysctls"] == {"net.core.somaxconn": "4096"}  # the caller's copy is untouched
    # Nothing new: nothing to write.
    assert lab_state.merge_section(second, later, [], "again") == (second, [])


def test_the_package_snapshot_is_taken_once() -> None:
    section, added = lab_state.merge_section(None, {"dpkg_installed": ["adduser", "apt"]}, [], NOW)
    assert section["dpkg_installed"] == ["adduser", "apt"] and "dpkg_installed" in added
    again, added = lab_state.merge_section(section, {"dpkg_installed": ["adduser", "apt", "nginx"]}, [], NOW)
    assert again["dpkg_installed"] == ["adduser", "apt"] and added == []


def test_a_record_after_an_earlier_provisioning_says_so(tmp_path: Path) -> None:
    trace = tmp_path / "60-lab-web1.conf"
    trace.write_text("net.core.somaxconn=65535\n")
    traces = lab_state.lab_traces([str(trace), str(tmp_path / "absent*")])
    section, _ = lab_state.merge_section(None, {"sysctls": {"net.core.somaxconn": "65535"}}, traces, NOW)
    assert section["lab_was_here"] == [str(trace)]


def test_a_host_id_that_leaves_the_record_directory_is_refused(tmp_path: Path) -> None:
    assert lab_state.record_path(str(tmp_path), "web1.example") == tmp_path / "web1.example" / "before.json"
    for bad in ("..", ".", "a/b", "", "web 1"):
        with pytest.raises(ValueError, match="host_id="):
            lab_state.record_path(str(tmp_path), bad)


def test_written_whole_read_back_and_forgotten(tmp_path: Path) -> None:
    state = tmp_path / "lab-state"
    path = lab_state.record_path(str(state), "web1")
    assert lab_state.read_record(path) == {}
    record = {"host_id": "web1", "format": 1, "sections": {"lab_base": {"recorded": NOW}}}
    lab_state.write_record(path, record)
    assert lab_state.read_record(path) == record
    assert not list(path.parent.glob(".*"))  # no temporary file left
    (state / "web2").mkdir()
    # Check mode names what would go and removes nothing.
    assert lab_state.forget(path, [str(state)], check=True) == [str(path), str(path.parent)]
    assert path.exists()
    # Another host's record keeps the state directory.
    assert lab_state.forget(path, [str(state)], check=False) == [str(path), str(path.parent)]
    assert not path.parent.exists() and state.is_dir()
    (state / "web2").rmdir()
    assert lab_state.forget(None, [str(state)], check=False) == [str(state)]
    assert not state.exists()
    assert lab_state.forget(path, [str(state)], check=False) == []  # a second time: nothing


def test_a_file_that_is_no_record_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "before.json"
    path.write_text(json.dumps(["not", "a", "record"]))
    with pytest.raises(ValueError, match="is not a lab state record"):
        lab_state.read_record(path)


def test_other_lab_hosts_on_the_machine_are_named(tmp_path: Path) -> None:
    opt, etc, state = tmp_path / "opt", tmp_path / "etc", tmp_path / "state"
    for directory in (opt / "web1", opt / "db1", etc / "web1", state / "client1"):
        directory.mkdir(parents=True)
    assert lab_state.other_hosts("web1", str(state), [str(opt), str(etc)]) == ["client1", "db1"]
    assert lab_state.other_hosts("web1", str(state), [str(tmp_path / "none")]) == ["client1"]
