"""lookup('lab_controller'): who is running this playbook, for the lab's lock files (playbooks/lock.yml).

Returns one dict: the pid of the ansible-playbook process (lookups run in a worker forked from it, so it is
the worker's parent), this machine's id (/etc/machine-id, else its host name), its host name, and the pids of
every ansible-playbook process alive here now (a lock whose owner is none of them was left by a run that
died).
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Any

from ansible.plugins.lookup import LookupBase

DOCUMENTATION = """
name: lab_controller
short_description: the ansible-playbook process of this run, and which are alive on this controller
description: Used by the lab's lock files (playbooks/lock.yml).
"""


def _machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            value = Path(path).read_text().strip()
        except OSError:
            continue
        if value:
            return value
    return socket.gethostname()


def _playbook_pids() -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(part.endswith(b"ansible-playbook") for part in argv[:2]):
            pids.append(int(entry.name))
    return sorted(pids)


class LookupModule(LookupBase):  # type: ignore[misc]
    def run(self, terms: list[Any], variables: Any = None, **kwargs: Any) -> list[dict[str, Any]]:
        return [
            {
                "pid": os.getppid(),
                "machine_id": _machine_id(),
                "hostname": socket.gethostname(),
                "live_pids": _playbook_pids(),
            }
        ]
