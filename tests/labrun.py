"""Running the real playbooks on this machine's localhost inventory, for the suites that do (e2e, faults).

The localhost tiers (Postgres on 5432, nginx on 8080, the supervisord of host id `localhost`) are shared by
every suite and every person on the machine: whoever drives them holds /tmp/lab-localhost.lock
(`localhost_lock()`), unless a parent process, e.g. `flock /tmp/lab-localhost.lock make test`, already does.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"
LOCALHOST_LOCK = Path("/tmp/lab-localhost.lock")
MULTIHOST_LOCK = Path("/run/lab-netns.lock")
LOG_DIR = REPO / ".pytest_cache" / "playbook-logs"
HOST_ID = "localhost"


@dataclass
class PlaybookRun:
    returncode: int
    output: str

    @property
    def text(self) -> str:
        """The output with every run of whitespace one space: Ansible's YAML output folds long messages."""
        return " ".join(self.output.split())

    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP counters per host, e.g. {"localhost": {"ok": 30, "changed": 0, ...}}."""
        hosts: dict[str, dict[str, int]] = {}
        for line in self.output.split("PLAY RECAP", 1)[-1].splitlines():
            match = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
            if match:
                hosts[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
        return hosts


def playbook_command(playbook: str, *args: str, extra: dict[str, object] | None = None) -> list[str]:
    cmd = [str(ANSIBLE_PLAYBOOK), "-i", "inventory/local.yml", f"playbooks/{playbook}", *args]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    return cmd


def playbook_env() -> dict[str, str]:
    return {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}


def new_log(name: str) -> Path:
    """A fresh log file beside the test run: a failure deep in a play needs more than the assertion."""
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    return LOG_DIR / f"{name}-{len(list(LOG_DIR.iterdir()))}.log"


def run_playbook(
    playbook: str,
    *args: str,
    extra: dict[str, object] | None = None,
    timeout: float = 1800,
    tree: Path = REPO,
) -> PlaybookRun:
    """ansible-playbook on the localhost inventory, from the checkout at tree (a test may change a copy)."""
    proc = subprocess.run(
        playbook_command(playbook, *args, extra=extra),
        cwd=tree,
        env=playbook_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    output = proc.stdout + proc.stderr
    new_log(playbook).write_text(output)
    return PlaybookRun(proc.returncode, output)


def _ancestors() -> set[int]:
    pids, pid = set(), os.getpid()
    while pid > 1:
        pids.add(pid)
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            break
        pid = int(stat.rsplit(")", 1)[1].split()[1])
    return pids


def _lock_holders(path: Path) -> set[int]:
    """PIDs holding a flock on path, from /proc/locks."""
    try:
        inode = path.stat().st_ino
        lines = Path("/proc/locks").read_text().splitlines()
    except OSError:
        return set()
    holders = set()
    for line in lines:
        fields = line.split()
        # "1: FLOCK  ADVISORY  WRITE 4242 08:01:1234 0 EOF" (a blocked waiter has "->" after the number)
        fields = [f for f in fields if f != "->"]
        if len(fields) >= 6 and fields[1] == "FLOCK" and fields[5].rsplit(":", 1)[-1] == str(inode):
            holders.add(int(fields[4]))
    return holders


@contextlib.contextmanager
def _hold(path: Path) -> Iterator[None]:
    """Hold an flock on path for the block, unless an ancestor process already holds it."""
    path.touch(exist_ok=True)
    if _lock_holders(path) & _ancestors():
        yield
        return
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextlib.contextmanager
def localhost_lock() -> Iterator[None]:
    """Hold /tmp/lab-localhost.lock for the block, unless an ancestor process already holds it."""
    with _hold(LOCALHOST_LOCK):
        yield


@contextlib.contextmanager
def multihost_lock() -> Iterator[None]:
    """Hold the multi-host test lab's lock (tests/multihost/conftest.py) for the block.

    Its hosts are network namespaces of this machine: they share its file system and PIDs, so provisioning
    them stops and disables this machine's distribution nginx, as provisioning localhost does. A test about
    the machine's own services holds this lock so that no multi-host run changes them meanwhile.
    """
    with _hold(MULTIHOST_LOCK):
        yield
