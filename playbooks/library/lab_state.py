#!/usr/bin/python3
"""What a lab host was like before the lab changed it: recorded at provisioning, read back at teardown.

The record is one JSON file per inventory host, /var/lib/lab-state/<host id>/before.json, outside the lab's
own directories (teardown removes those). Each role that changes something of the host's own (a kernel
setting, the distribution's nginx, the `main` Postgres cluster, an apt package, a system user) records, before
it changes it, the part it is about to change, in a section named after the role. The first record of an item
is the truth: a later provisioning adds items nobody recorded yet (a sysctl added to lab_base_sysctls) and
never overwrites one. A section whose role finds its own traces (the lab had provisioned this host before the
record existed) says so in ``lab_was_here``: its values are then what the lab left, not what was there before
it.

    {"host_id": "web1", "format": 1,
     "sections": {"lab_base": {"recorded": "2026-12-02T10:00:00Z", "lab_was_here": [],
                               "sysctls": {"net.core.somaxconn": "4096"},
                               "packages": {"sysstat": false},
                               "dpkg_installed": ["adduser", "apt", ...]},
                  "app_server": {"services": {"nginx": {"installed": true, "enabled": true, "active": true}},
                                 "users": {"labapp": false}, ...},
                  "postgres": {"clusters": {"15/main": {"exists": true, "status": "online", "start": "auto",
                                                        "data_dir": "/var/lib/postgresql/15/main"}},
                               "files": {"/etc/postgresql-common/createcluster.d/50-lab.conf": false}, ...}}}

Actions: ``record`` (probe and add what is missing; changed when the file gains anything), ``read`` (the
record, and the other lab hosts on this machine: hosts sharing one file system share the apt packages and
system users too), ``forget`` (remove the record, then every directory of ``prune`` that is empty), ``prune``
(only the latter). Check mode changes nothing and reports what would change.
"""

from __future__ import annotations

import contextlib
import datetime
import glob
import json
import os
import pwd
import re
import subprocess
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

DOCUMENTATION = r"""
module: lab_state
short_description: Record, read or forget the state of a lab host before the lab changed it
description:
  - One JSON file per inventory host (/var/lib/lab-state/<host id>/before.json) with one section per role.
  - The first record of an item is the truth; later records only add items nobody recorded yet.
options:
  host_id:
    description: The inventory host's id (lab_host_id).
    type: str
    required: true
  action:
    description: record, read, forget or prune.
    type: str
    choices: [record, read, forget, prune]
    default: record
  section:
    description: The role recording (action=record).
    type: str
  sysctls:
    description: Kernel settings whose value to record (null when the host does not show one).
    type: list
    elements: str
    default: []
  packages:
    description: apt packages whose presence to record.
    type: list
    elements: str
    default: []
  dpkg_snapshot:
    description: Also record every installed package, once per host.
    type: bool
    default: false
  services:
    description: Services whose installed, enabled and active state to record.
    type: list
    elements: str
    default: []
  service_mgr:
    description: ansible_facts['service_mgr'] (systemd, or anything else for init scripts).
    type: str
    default: ""
  clusters:
    description: Postgres clusters ("<version>/<name>") whose state to record.
    type: list
    elements: str
    default: []
  users:
    description: System users whose existence to record.
    type: list
    elements: str
    default: []
  files:
    description: Paths whose existence to record.
    type: list
    elements: str
    default: []
  lab_traces:
    description: Paths that exist only when the lab has provisioned this host already (glob patterns).
    type: list
    elements: str
    default: []
  prune:
    description: Directories removed by action=forget and action=prune when they are empty.
    type: list
    elements: str
    default: []
  state_dir:
    description: Where the records are.
    type: path
    default: /var/lib/lab-state
"""

RETURN = r"""
section:
  description: The section as recorded (action=record).
  type: dict
added:
  description: The items this call recorded (action=record).
  type: list
record:
  description: The whole record, {} when there is none (action=read).
  type: dict
other_hosts:
  description: Other lab hosts with directories or records on this machine (action=read).
  type: list
removed:
  description: The paths removed (action=forget, action=prune).
  type: list
"""

FORMAT = 1
STATE_DIR = "/var/lib/lab-state"
RECORD_NAME = "before.json"
# Where a lab host has directories of its own (roles/lab_base): a name there is another inventory host.
LAB_DIRS = ("/opt/lab", "/etc/lab", "/var/lib/lab", "/var/log/lab", "/run/lab")
# The items of a section, each {name: value}; a name recorded once keeps its value.
ITEM_KINDS = ("sysctls", "packages", "services", "clusters", "users", "files")
HOST_ID = re.compile(r"^[A-Za-z0-9_.-]+$")

Runner = Callable[[Sequence[str]], "subprocess.CompletedProcess[str]"]


def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(list(argv), capture_output=True, text=True, check=False, timeout=120)
    except FileNotFoundError as exc:
        return subprocess.CompletedProcess(list(argv), 127, "", str(exc))


def check_host_id(host_id: str) -> None:
    if not HOST_ID.match(host_id) or host_id in (".", ".."):
        raise ValueError(f"host_id={host_id!r}: only letters, digits, '_', '.' and '-' (and not . or ..)")


def record_path(state_dir: str, host_id: str) -> Path:
    check_host_id(host_id)
    return Path(state_dir) / host_id / RECORD_NAME


# ------------------------------------------------------------------------------------------------ probes
def probe_sysctls(names: Sequence[str], proc_sys: Path = Path("/proc/sys")) -> dict[str, str | None]:
    """Each setting's value as sysctl prints it (whitespace runs as one space), None where the host (its
    network namespace) does not show it."""
    values: dict[str, str | None] = {}
    for name in names:
        try:
            values[name] = " ".join((proc_sys / name.replace(".", "/")).read_text().split())
        except OSError:
            values[name] = None
    return values


def probe_packages(names: Sequence[str], runner: Runner = run) -> dict[str, bool]:
    installed = dpkg_installed(runner, names)
    return {name: name in installed for name in names}


def dpkg_installed(runner: Runner = run, names: Sequence[str] = ()) -> set[str]:
    """Installed packages (all of them, or those of names), by name without the architecture."""
    proc = runner(["dpkg-query", "--show", "--showformat=${Package} ${db:Status-Status}\n", *names])
    return {
        line.split()[0].split(":")[0]
        for line in proc.stdout.splitlines()
        if line.strip() and line.split()[-1] == "installed"
    }


def probe_services(
    names: Sequence[str], service_mgr: str, runner: Runner = run, etc: Path = Path("/etc")
) -> dict[str, dict[str, bool]]:
    """installed, enabled (started at boot) and active, as systemd says, or as the init scripts and their rc
    links say (what ansible.builtin.service reads and changes there)."""
    states: dict[str, dict[str, bool]] = {}
    for name in names:
        if service_mgr == "systemd":
            proc = runner(
                ["systemctl", "show", "--property=LoadState,UnitFileState,ActiveState", f"{name}.service"]
            )
            props = dict(line.split("=", 1) for line in proc.stdout.splitlines() if "=" in line)
            states[name] = {
                "installed": props.get("LoadState") == "loaded",
                "enabled": props.get("UnitFileState") in ("enabled", "enabled-runtime"),
                "active": props.get("ActiveState") in ("active", "activating", "reloading"),
            }
            continue
        installed = (etc / "init.d" / name).is_file()
        states[name] = {
            "installed": installed,
            "enabled": bool(glob.glob(str(etc / "rc?.d" / f"S??{name}"))),
            "active": installed and runner(["service", name, "status"]).returncode == 0,
        }
    return states


def probe_clusters(
    ids: Sequence[str], runner: Runner = run, etc_postgresql: Path = Path("/etc/postgresql")
) -> dict[str, dict[str, Any]]:
    """Each cluster ("<version>/<name>"): whether it exists, online or down, its start.conf (auto, manual,
    disabled) and its data directory, from pg_lsclusters."""
    listed: dict[str, list[str]] = {}
    proc = runner(["pg_lsclusters", "--no-header"])
    for line in proc.stdout.splitlines() if proc.returncode == 0 else []:
        columns = line.split()
        if len(columns) >= 6:
            listed[f"{columns[0]}/{columns[1]}"] = columns
    clusters: dict[str, dict[str, Any]] = {}
    for cluster_id in ids:
        fields = listed.get(cluster_id)
        if fields is None:
            clusters[cluster_id] = {"exists": False}
            continue
        clusters[cluster_id] = {
            "exists": True,
            "status": "online" if fields[3].startswith("online") else fields[3],
            "start": start_conf(etc_postgresql / cluster_id / "start.conf"),
            "data_dir": fields[5],
            "port": int(fields[2]) if fields[2].isdigit() else None,
        }
    return clusters


def start_conf(path: Path) -> str | None:
    """The first word of a cluster's start.conf that is not a comment (auto, manual or disabled)."""
    with contextlib.suppress(OSError):
        for line in path.read_text().splitlines():
            word = line.split("#", 1)[0].strip()
            if word:
                return word
    return None


def probe_users(names: Sequence[str]) -> dict[str, bool]:
    found: dict[str, bool] = {}
    for name in names:
        try:
            pwd.getpwnam(name)
            found[name] = True
        except KeyError:
            found[name] = False
    return found


def probe_files(paths: Sequence[str]) -> dict[str, bool]:
    return {path: os.path.lexists(path) for path in paths}


# ------------------------------------------------------------------------------------------------ the record
def read_record(path: Path) -> dict[str, Any]:
    try:
        value = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    if not isinstance(value, dict) or not isinstance(value.get("sections"), dict):
        raise ValueError(f"{path} is not a lab state record")
    return value


def merge_section(
    existing: dict[str, Any] | None, probed: dict[str, Any], traces: list[str], now: str
) -> tuple[dict[str, Any], list[str]]:
    """The section with every probed item it lacked added, and the names of those items ("kind:name").

    An item recorded before keeps its first value; a section recorded for the first time notes the lab's
    traces found on the host (its values are then what the lab left)."""
    added: list[str] = []
    if existing is None:
        section: dict[str, Any] = {"recorded": now, "lab_was_here": traces}
        added.append("section")
    else:
        section = json.loads(json.dumps(existing))  # a copy: the caller compares before and after
    for kind in ITEM_KINDS:
        items = probed.get(kind)
        if not items:
            continue
        known = section.setdefault(kind, {})
        for name, value in items.items():
            if name not in known:
                known[name] = value
                added.append(f"{kind}:{name}")
    if probed.get("dpkg_installed") is not None and "dpkg_installed" not in section:
        section["dpkg_installed"] = probed["dpkg_installed"]
        added.append("dpkg_installed")
    return section, added


def write_record(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    tmp.chmod(0o644)
    tmp.replace(path)  # whole or not at all: a record cut in half would be a false truth


def other_hosts(host_id: str, state_dir: str, lab_dirs: Sequence[str] = LAB_DIRS) -> list[str]:
    names: set[str] = set()
    for base in (*lab_dirs, state_dir):
        with contextlib.suppress(OSError):
            names.update(entry.name for entry in Path(base).iterdir() if entry.is_dir())
    return sorted(names - {host_id})


def forget(path: Path | None, prune: Sequence[str], check: bool) -> list[str]:
    """Remove the record (if path) and its directory, then the directories of prune that are (then) empty."""
    removed: list[str] = []
    if path is not None and path.exists():
        removed.append(str(path))
        if not check:
            path.unlink()
    for directory in ([str(path.parent)] if path is not None else []) + list(prune):
        target = Path(directory)
        if not target.is_dir():
            continue
        left = {entry.as_posix() for entry in target.iterdir()} - set(removed)
        if left:
            continue
        removed.append(directory)
        if not check:
            with contextlib.suppress(OSError):  # filled again meanwhile by another host: it stays
                target.rmdir()
    return removed


def probe(params: dict[str, Any]) -> dict[str, Any]:
    probed: dict[str, Any] = {
        "sysctls": probe_sysctls(params["sysctls"]),
        "packages": probe_packages(params["packages"]) if params["packages"] else {},
        "services": probe_services(params["services"], params["service_mgr"]),
        "clusters": probe_clusters(params["clusters"]) if params["clusters"] else {},
        "users": probe_users(params["users"]),
        "files": probe_files(params["files"]),
    }
    if params["dpkg_snapshot"]:
        probed["dpkg_installed"] = sorted(dpkg_installed())
    return probed


def lab_traces(patterns: Sequence[str]) -> list[str]:
    return sorted({found for pattern in patterns for found in glob.glob(pattern)})


def now_utc() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    list_of_str: dict[str, Any] = {"type": "list", "elements": "str", "default": []}
    module = AnsibleModule(
        argument_spec={
            "host_id": {"type": "str", "required": True},
            "action": {"type": "str", "choices": ["record", "read", "forget", "prune"], "default": "record"},
            "section": {"type": "str"},
            "sysctls": list_of_str,
            "packages": list_of_str,
            "dpkg_snapshot": {"type": "bool", "default": False},
            "services": list_of_str,
            "service_mgr": {"type": "str", "default": ""},
            "clusters": list_of_str,
            "users": list_of_str,
            "files": list_of_str,
            "lab_traces": list_of_str,
            "prune": list_of_str,
            "state_dir": {"type": "path", "default": STATE_DIR},
        },
        required_if=[("action", "record", ["section"])],
        supports_check_mode=True,
    )
    params = module.params
    try:
        path = record_path(params["state_dir"], params["host_id"])
        record = read_record(path)
    except (ValueError, OSError) as exc:
        module.fail_json(msg=str(exc))
    if params["action"] == "read":
        module.exit_json(
            changed=False,
            record=record,
            path=str(path),
            other_hosts=other_hosts(params["host_id"], params["state_dir"]),
        )
    if params["action"] in ("forget", "prune"):
        removed = forget(path if params["action"] == "forget" else None, params["prune"], module.check_mode)
        module.exit_json(changed=bool(removed), removed=removed)
    sections = record.get("sections", {})
    section, added = merge_section(
        sections.get(params["section"]), probe(params), lab_traces(params["lab_traces"]), now_utc()
    )
    if added and not module.check_mode:
        record = {"host_id": params["host_id"], "format": FORMAT, **record}
        record["sections"] = {**sections, params["section"]: section}
        try:
            write_record(path, record)
        except OSError as exc:
            module.fail_json(msg=f"cannot write {path}: {exc}")
    shown = {key: value for key, value in section.items() if key != "dpkg_installed"}
    module.exit_json(changed=bool(added), section=shown, added=added, path=str(path))


if __name__ == "__main__":
    main()
