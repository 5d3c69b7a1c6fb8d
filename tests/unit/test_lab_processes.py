"""Stopping a lab host's processes by PID (playbooks/library/lab_processes.py): those naming its paths and
their descendants, never another host's, never the caller's own ancestors; check mode only names them."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "playbooks" / "library"))
import lab_processes  # noqa: E402  (an Ansible module of the playbooks, run on the hosts)

# A parent that names the host's path, with a child that does not (as nginx's workers or Postgres' backends).
PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
print(child.pid, flush=True)
time.sleep(600)
"""


def _proc(pid: int, ppid: int, cmdline: str) -> lab_processes.Proc:
    return lab_processes.Proc(pid, ppid, cmdline)


def test_matching_takes_descendants_and_never_another_hosts_paths() -> None:
    procs = {
        p.pid: p
        for p in (
            _proc(
                10,
                1,
                "/opt/lab/web1/venvs/supervisor/bin/python supervisord -c /etc/lab/web1/supervisord.conf",
            ),
            _proc(11, 10, "nginx: master process /usr/sbin/nginx -c /etc/lab/web1/nginx/nginx.conf"),
            _proc(12, 11, "nginx: worker process"),
            _proc(20, 1, "/opt/lab/web10/venvs/supervisor/bin/python supervisord"),
            _proc(30, 1, "sshd: root@notty"),
            _proc(31, 30, "python3 -c lab module for /etc/lab/web1/"),  # the caller itself
        )
    }
    assert lab_processes.matching(procs, ["/etc/lab/web1/", "/opt/lab/web1/"], {30, 31}) == {10, 11, 12}
    assert lab_processes.ancestors(31, procs) == {31, 30}


@pytest.fixture
def tree(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int, str]]:
    marker = f"{tmp_path}/opt/lab/unit-{os.getpid()}/"
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT, marker], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        # On a loaded machine the child's /proc entry can lag its PID (a CI run missed it once): the tests are
        # about stopping the tree, so it starts once /proc shows the child under its parent.
        deadline = time.monotonic() + 10
        while lab_processes.snapshot().get(child, lab_processes.Proc(child, 0, "")).ppid != parent.pid:
            assert time.monotonic() < deadline, f"child {child} of {parent.pid} not in /proc"
            time.sleep(0.05)
        yield parent, child, marker
    finally:
        for pid in (child, parent.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        parent.wait(timeout=10)


def _alive(pid: int) -> bool:
    return pid in lab_processes.snapshot()


def test_check_mode_names_them_and_stops_nothing(tree: tuple[subprocess.Popen[str], int, str]) -> None:
    parent, child, marker = tree
    named = lab_processes.stop([marker], grace_s=5, check=True)
    assert [int(line.split()[0]) for line in named] == sorted([parent.pid, child])
    assert _alive(parent.pid) and _alive(child)


def test_the_tree_is_stopped_by_pid(tree: tuple[subprocess.Popen[str], int, str]) -> None:
    parent, child, marker = tree
    stopped = lab_processes.stop([marker], grace_s=1, check=False)  # the orphaned child needs SIGKILL
    assert {int(line.split()[0]) for line in stopped} == {parent.pid, child}
    parent.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:  # orphaned, reaped by init
        time.sleep(0.1)
    assert not _alive(child)
    assert lab_processes.stop([marker], grace_s=5, check=False) == []  # a second time: nothing
