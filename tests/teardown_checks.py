"""What a lab host leaves on its machine, looked for from that machine: for the teardown tests (tests/e2e on
localhost, tests/multihost on the network-namespace hosts, which share this machine's file system and PIDs).

Every path a role creates carries the host's id (docs/design.md, "Processes"), so what is left of one host is
found by name, whatever other lab hosts the machine holds.
"""

from __future__ import annotations

import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "playbooks" / "library"))
import lab_state

LAB_DIRS = ("/opt/lab", "/etc/lab", "/var/lib/lab", "/run/lab", "/var/log/lab")
STATE_DIR = "/var/lib/lab-state"


def cluster_name(host_id: str) -> str:
    """roles/postgres' postgres_cluster_name for a host id."""
    return "lab_" + re.sub(r"[^A-Za-z0-9_]", "_", host_id)


def leftover_paths(host_id: str) -> list[str]:
    cluster = cluster_name(host_id)
    patterns = [
        *(f"{base}/{host_id}" for base in (*LAB_DIRS, STATE_DIR)),
        f"/etc/sysctl.d/60-lab-{host_id}.conf",
        f"/etc/security/limits.d/60-lab-{host_id}.conf",
        f"/etc/tmpfiles.d/lab-app-{host_id}.conf",
        f"/etc/tmpfiles.d/lab-postgres-{cluster}.conf",
        f"/etc/systemd/system/lab-supervisor-{host_id}.service",
        f"/etc/postgresql/*/{cluster}",
        f"/var/lib/postgresql/*/{cluster}",
        f"/var/log/postgresql/postgresql-*-{cluster}.log",
    ]
    return sorted(path for pattern in patterns for path in glob.glob(pattern))


def leftover_processes(host_id: str) -> list[str]:
    """Processes whose command line names one of the host's paths or its Postgres cluster ("15/lab_web1")."""
    names = [f"{base}/{host_id}/" for base in LAB_DIRS]
    cluster = re.compile(rf"/{re.escape(cluster_name(host_id))}(\W|$)")
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if cmdline and (any(name in cmdline for name in names) or cluster.search(cmdline)):
            found.append(f"{entry.name} {cmdline[:200]}")
    return found


def leftover_clusters(host_id: str) -> list[str]:
    if shutil.which("pg_lsclusters") is None:
        return []
    out = subprocess.run(["pg_lsclusters", "--no-header"], capture_output=True, text=True, check=False).stdout
    return [line for line in out.splitlines() if line.split()[1:2] == [cluster_name(host_id)]]


def user_exists(name: str) -> bool:
    """Whether the system account exists (a test removes only the accounts it made)."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def leftovers(host_id: str) -> list[str]:
    """Everything of the lab's host still on this machine: paths, processes, its Postgres cluster."""
    return [
        *(f"path {p}" for p in leftover_paths(host_id)),
        *(f"process {p}" for p in leftover_processes(host_id)),
        *(f"cluster {c}" for c in leftover_clusters(host_id)),
    ]


def sysctls(names: list[str]) -> dict[str, str | None]:
    """Each setting as sysctl prints it (whitespace runs as one space), None where not shown: read as the
    teardown's own record reads it."""
    values: dict[str, str | None] = lab_state.probe_sysctls(names)
    return values


# The kernel settings roles/lab_base gives every lab host (lab_base_sysctls), as sysctl prints them.
LAB_SYSCTLS = {
    "net.core.somaxconn": "65535",
    "net.ipv4.tcp_max_syn_backlog": "65535",
    "net.ipv4.ip_local_port_range": "1024 65535",
    "net.ipv4.tcp_tw_reuse": "1",
    "net.core.netdev_max_backlog": "65535",
}
