"""One run at a time (playbooks/files/lab_lock.py): the lock file a run takes, keeps, yields or takes over."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "playbooks" / "files"))
import lab_lock  # noqa: E402  (a script of the playbooks, run on the hosts)


def _owner(token: str, controller_id: str = "ctl-a", pid: int = 100) -> dict[str, Any]:
    return {
        "token": token,
        "run_id": f"run-{token}",
        "playbook": "benchmark.yml",
        "controller": "laptop",
        "controller_id": controller_id,
        "pid": pid,
        "since": "2026-12-02T01:00:00Z",
    }


def test_a_free_host_is_taken_and_the_owner_written(tmp_path: Path) -> None:
    path = tmp_path / "run" / "lab.lock"
    assert lab_lock.take(path, _owner("t1"), "ctl-a", {100}) == {
        "taken": True,
        "took_over": None,
        "holder": None,
    }
    assert json.loads(path.read_text())["token"] == "t1"
    # The same run taking it again keeps it.
    assert lab_lock.take(path, _owner("t1"), "ctl-a", {100})["taken"]


def test_a_live_run_keeps_it_and_is_named(tmp_path: Path) -> None:
    path = tmp_path / "lab.lock"
    lab_lock.take(path, _owner("t1", pid=100), "ctl-a", {100})
    answer = lab_lock.take(path, _owner("t2", pid=200), "ctl-a", {100, 200})
    assert (
        answer["taken"] is False and answer["holder"]["run_id"] == "run-t1" and answer["holder"]["pid"] == 100
    )
    assert json.loads(path.read_text())["token"] == "t1"


def test_another_controllers_run_cannot_be_checked_so_it_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "lab.lock"
    lab_lock.take(path, _owner("t1", controller_id="ctl-b", pid=100), "ctl-b", {100})
    assert lab_lock.take(path, _owner("t2"), "ctl-a", set())["taken"] is False


def test_a_run_that_died_is_taken_over_and_said(tmp_path: Path) -> None:
    path = tmp_path / "lab.lock"
    lab_lock.take(path, _owner("t1", pid=100), "ctl-a", {100})
    answer = lab_lock.take(path, _owner("t2", pid=200), "ctl-a", {200})  # pid 100 is no playbook any more
    assert answer["taken"] is True and answer["took_over"]["token"] == "t1"
    assert json.loads(path.read_text())["token"] == "t2"
    path.write_text("{half a fi")  # a run killed while writing it
    assert lab_lock.take(path, _owner("t3", pid=300), "ctl-a", {200, 300})["took_over"] == {
        "token": "",
        "unreadable": True,
    }


def test_only_the_owner_releases_it(tmp_path: Path) -> None:
    path = tmp_path / "lab.lock"
    lab_lock.take(path, _owner("t1"), "ctl-a", {100})
    assert lab_lock.release(path, "t2") == {"released": False} and path.exists()
    assert lab_lock.release(path, "t1") == {"released": True} and not path.exists()
    assert lab_lock.release(path, "t1") == {"released": False}
