#!/usr/bin/python3
"""Stop, by PID, every process of a lab host: those whose command line names one of its paths, and their
descendants (nginx's workers, gunicorn's, Postgres' backends name no path of their own).

Every path of a lab host carries its id (/opt/lab/<id>/...), so hosts sharing one machine and one PID space
(tests/multihost) never match each other's processes; a pattern names a directory with its trailing slash, so
/opt/lab/web1/ does not match /opt/lab/web10/. The topmost matching processes get SIGTERM first (supervisord
then stops its programs itself, gunicorn's master its workers); whatever is left after the grace period, or
appeared meanwhile, gets SIGKILL. This module's own process and its ancestors (the connection,
ansible-playbook on a local connection) are never matched. Check mode names what would be stopped.
"""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOCUMENTATION = r"""
module: lab_processes
short_description: Stop the processes whose command line names one of a lab host's paths
options:
  patterns:
    description: Substrings of a command line (a lab host's directories with a trailing slash, its files).
    type: list
    elements: str
    required: true
  grace_s:
    description: Seconds between SIGTERM and SIGKILL.
    type: float
    default: 30
"""

RETURN = r"""
processes:
  description: '"<pid> <command line>" of each process stopped (or that would be, in check mode).'
  type: list
"""

POLL_S = 0.1
KILL_ROUNDS = 3


@dataclass(frozen=True)
class Proc:
    pid: int
    ppid: int
    cmdline: str


def snapshot(proc: Path = Path("/proc")) -> dict[int, Proc]:
    """Every live process with a command line (kernel threads have none; zombies are dead already)."""
    found: dict[int, Proc] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "cmdline").read_bytes()
            stat = (entry / "stat").read_text()
        except OSError:
            continue  # gone meanwhile
        fields = stat.rsplit(")", 1)[1].split()
        if not raw or fields[0] == "Z":
            continue
        cmdline = raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")
        found[int(entry.name)] = Proc(int(entry.name), int(fields[1]), cmdline)
    return found


def ancestors(pid: int, procs: dict[int, Proc]) -> set[int]:
    chain: set[int] = set()
    while pid in procs and pid not in chain:
        chain.add(pid)
        pid = procs[pid].ppid
    return chain


def matching(procs: dict[int, Proc], patterns: Sequence[str], exclude: Iterable[int]) -> set[int]:
    """PIDs whose command line contains a pattern, with all their descendants, minus exclude."""
    excluded = set(exclude)
    selected = {p.pid for p in procs.values() if any(pat and pat in p.cmdline for pat in patterns)}
    grew = True
    while grew:
        children = {p.pid for p in procs.values() if p.ppid in selected} - selected
        grew = bool(children)
        selected |= children
    return selected - excluded


def _signal(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _still_there(before: dict[int, Proc], pids: set[int], now: dict[int, Proc]) -> set[int]:
    """The PIDs of pids still running the same command (a PID reused meanwhile is another process)."""
    return {pid for pid in pids if pid in now and now[pid].cmdline == before[pid].cmdline}


def stop(patterns: Sequence[str], grace_s: float, check: bool) -> list[str]:
    procs = snapshot()
    own = ancestors(os.getpid(), procs)
    pids = matching(procs, patterns, own)
    described = [f"{pid} {procs[pid].cmdline[:300]}" for pid in sorted(pids)]
    if check or not pids:
        return described
    roots = {pid for pid in pids if procs[pid].ppid not in pids}
    _signal(roots, signal.SIGTERM)
    deadline = time.monotonic() + grace_s
    while time.monotonic() < deadline:
        if not _still_there(procs, pids, snapshot()):
            return described
        time.sleep(POLL_S)
    for _ in range(KILL_ROUNDS):
        current = snapshot()
        left = _still_there(procs, pids, current) | matching(
            current, patterns, ancestors(os.getpid(), current)
        )
        if not left:
            break
        _signal(left, signal.SIGKILL)
        time.sleep(POLL_S * 5)
    return described


def main() -> None:
    from ansible.module_utils.basic import AnsibleModule

    module = AnsibleModule(
        argument_spec={
            "patterns": {"type": "list", "elements": "str", "required": True},
            "grace_s": {"type": "float", "default": 30.0},
        },
        supports_check_mode=True,
    )
    patterns = [p for p in module.params["patterns"] if p]
    if not patterns:
        module.fail_json(msg="patterns: give at least one non-empty pattern")
    stopped = stop(patterns, module.params["grace_s"], module.check_mode)
    result: dict[str, Any] = {"changed": bool(stopped), "processes": stopped}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
