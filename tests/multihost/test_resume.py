"""A run whose controller dies halfway is resumed over SSH with -e lab_run_id: the same run, every point once.

The controller (ansible-playbook and its workers, one process group) is killed by PID while the client host
measures a level of the second test type; the client's runner goes on without it. The resume keeps every
point the client finished, measures the rest, and the run's results hold every point of both types.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from .conftest import TINY, MultiHostLab, PlaybookRun

pytestmark = pytest.mark.multihost

FRAMEWORK = "aiohttp"
TYPES = ["json", "db"]
# Levels long enough to be interrupted in the middle of one.
SETTINGS: dict[str, object] = {
    **TINY,
    "lab_duration_s": 3,
    "lab_frameworks": [FRAMEWORK],
    "lab_test_types": TYPES,
}
STEMS = {"primer-r1", "warmup-r1", "level-c8-r1", "level-c32-r1"}


def _metas(raw: Path) -> dict[str, dict[str, Any]]:
    """{"<type>/<stem>": meta} of the finished points under a raw directory."""
    return {
        f"{path.parts[-3]}/{path.name.removesuffix('.meta.json')}": json.loads(path.read_text())
        for path in raw.glob(f"{FRAMEWORK}/*/labclient1/*.meta.json")
    }


def _descendants(pid: int) -> list[int]:
    """Every process below pid, from /proc (ansible-playbook's workers start sessions of their own, so its
    process group does not hold them all)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _kill_all(pid: int) -> None:
    """SIGKILL the controller's process group and every process below it at once."""
    below = _descendants(pid)
    os.killpg(pid, signal.SIGKILL)
    for child in below:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signal.SIGKILL)


def test_a_run_whose_controller_was_killed_is_resumed(
    mh: MultiHostLab, three_host_inventory: Path, provisioned: PlaybookRun, tmp_path: Path
) -> None:
    run_id = f"mh-resume-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    settings = {**SETTINGS, "lab_run_id": run_id, "lab_results_dir": str(tmp_path)}
    client_raw = Path("/var/lib/lab/labclient1/results") / run_id / "raw"
    proc, log = mh.start(three_host_inventory, "benchmark.yml", extra=settings)
    try:
        deadline = time.monotonic() + 600
        # The first db point on the client (json is done by then): the controller dies during the db sweep.
        while not any(key.startswith("db/") for key in _metas(client_raw)):
            assert proc.poll() is None, log.read_text()[-5000:]
            assert time.monotonic() < deadline, log.read_text()[-5000:]
            time.sleep(0.1)
        # The controller dies as a laptop does: ansible-playbook and its forked workers at once.
        _kill_all(proc.pid)
        killed_ms = time.time_ns() // 1_000_000
    finally:
        if proc.poll() is None:
            _kill_all(proc.pid)
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    run_dir = tmp_path / run_id
    assert "end_ms" not in json.loads((run_dir / "run.json").read_text())
    # The client may still finish the point it was measuring; what it finished is kept.
    time.sleep(5)  # longer than a level (3 s)
    before = _metas(client_raw)

    resumed = mh.run(three_host_inventory, "benchmark.yml", extra=settings)
    assert resumed.returncode == 0, resumed.output[-6000:]
    final = _metas(run_dir / "raw")
    assert set(final) == {f"{t}/{stem}" for t in TYPES for stem in STEMS}, sorted(final)
    for point, meta in final.items():
        assert meta["exit_code"] == 0 and meta["run_id"] == run_id, (point, meta)
        if point in before and before[point]["exit_code"] == 0:
            assert meta["start_ms"] == before[point]["start_ms"], point  # kept, not measured again
        else:
            assert meta["start_ms"] > killed_ms, point  # measured by the resume
    assert any(key.startswith("json/") for key in before)  # something was really kept
    run = json.loads((run_dir / "run.json").read_text())
    assert len(run["resumed_ms"]) == 1 and run["end_ms"] > run["start_ms"]
    tidy = pd.read_csv(run_dir / "tidy.csv")
    assert set(zip(tidy.test_type, tidy.level.astype(int), strict=True)) == {
        (t, level) for t in TYPES for level in (8, 32)
    }
    assert (tidy.totalRequests > 0).all()
    outcome = json.loads((run_dir / "frameworks" / f"{FRAMEWORK}.json").read_text())
    assert outcome["status"] == "ok" and set(outcome["verify"].values()) == {"pass"}, outcome
