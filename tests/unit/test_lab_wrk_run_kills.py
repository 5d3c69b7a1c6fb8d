"""lab_wrk_run.py when processes die mid-point (issue 9, point 1): real wrk, real SIGKILLs by PID.

A killed point leaves no meta file and is run again; a point whose wrk was killed is recorded as failed and
run again; a second run of the same point waits for the first and keeps what it finished; killing the script
kills its wrk too (no orphan load on the server).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from .test_lab_wrk_run import LAB_WRK_RUN, META, lab_run, wrk_cmd


def _start(prefix: Path, command: list[str]) -> subprocess.Popen[str]:
    args = [
        sys.executable,
        str(LAB_WRK_RUN),
        "--out",
        str(prefix),
        "--meta",
        json.dumps(META),
        "--skip-existing",
    ]
    return subprocess.Popen(
        [*args, "--", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _wait_for_child(pid: int, timeout: float = 10) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        children = _children(pid)
        if children:
            return children[0]
        time.sleep(0.02)
    raise AssertionError(f"process {pid} started no child within {timeout}s")


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _long_wrk(wrk_binary: str, url: str) -> list[str]:
    command = wrk_cmd(wrk_binary, url)
    command[command.index("1s")] = "4s"
    return command


def test_killed_script_leaves_no_finished_point_and_takes_wrk_with_it(
    tmp_path: Path, wrk_binary: str, hello_server: str
) -> None:
    prefix = tmp_path / "level-c2-r1"
    first = _start(prefix, _long_wrk(wrk_binary, hello_server))
    wrk_pid = _wait_for_child(first.pid)
    time.sleep(0.5)
    os.kill(first.pid, signal.SIGKILL)
    first.wait(5)
    deadline = time.monotonic() + 3
    while _alive(wrk_pid) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not _alive(wrk_pid), "wrk outlived the killed lab_wrk_run.py"
    assert not prefix.with_name(prefix.name + ".meta.json").exists()
    # A leftover of the killed run, as a rename that never happened would leave it.
    leftover = tmp_path / ".level-c2-r1.json.wrk-999999"
    leftover.write_text("{partial")

    again = lab_run(prefix, wrk_cmd(wrk_binary, hello_server), "--skip-existing")
    assert again.returncode == 0, again.stderr
    assert "kept" not in again.stdout
    meta = json.loads(prefix.with_name(prefix.name + ".meta.json").read_text())
    assert meta["exit_code"] == 0
    assert not leftover.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "level-c2-r1.json",
        "level-c2-r1.meta.json",
        "level-c2-r1.txt",
    ]


def test_killed_wrk_is_recorded_as_failed_and_run_again(
    tmp_path: Path, wrk_binary: str, hello_server: str
) -> None:
    prefix = tmp_path / "level-c2-r1"
    first = _start(prefix, _long_wrk(wrk_binary, hello_server))
    wrk_pid = _wait_for_child(first.pid)
    time.sleep(0.5)
    os.kill(wrk_pid, signal.SIGKILL)
    assert first.wait(10) != 0
    meta_path = prefix.with_name(prefix.name + ".meta.json")
    assert json.loads(meta_path.read_text())["exit_code"] == -signal.SIGKILL
    assert not prefix.with_name(prefix.name + ".json").exists()

    again = lab_run(prefix, wrk_cmd(wrk_binary, hello_server), "--skip-existing")
    assert again.returncode == 0, again.stderr
    assert "kept" not in again.stdout
    assert json.loads(meta_path.read_text())["exit_code"] == 0


def test_second_run_of_a_point_waits_for_the_first_and_keeps_it(
    tmp_path: Path, wrk_binary: str, hello_server: str
) -> None:
    """What a resume started right after a controller was killed does: the killed controller's run goes on."""
    prefix = tmp_path / "level-c2-r1"
    first = _start(prefix, wrk_cmd(wrk_binary, hello_server))
    _wait_for_child(first.pid)
    second = lab_run(prefix, wrk_cmd(wrk_binary, hello_server), "--skip-existing")
    assert first.wait(10) == 0
    assert second.returncode == 0, second.stderr
    assert "waiting for the lock" in second.stderr
    assert "kept" in second.stdout
    meta = json.loads(prefix.with_name(prefix.name + ".meta.json").read_text())
    assert meta["exit_code"] == 0
