"""One run at a time: while a benchmark runs, a provisioning of the same hosts (or a second benchmark on the
same results) stops at once, naming the run that holds them, and changes nothing (issue 14, point 1)."""

from __future__ import annotations

import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from ..labrun import HOST_ID, run_playbook
from .conftest import SHORT, live_playbook, point_processes, wait_for

FRAMEWORK = "aiohttp"


def test_a_second_run_is_refused_while_one_holds_the_hosts(
    lab: None, tmp_path_factory: pytest.TempPathFactory
) -> None:
    results = tmp_path_factory.mktemp("lock-results")
    run_id = f"faults-lock-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
    settings = {
        **SHORT,
        # One long level: the run still holds the hosts when the two refused ones are done.
        "lab_concurrency_levels": [8],
        "lab_duration_s": 60,
        "lab_frameworks": [FRAMEWORK],
        "lab_test_types": ["json"],
        "lab_run_id": run_id,
        "lab_results_dir": str(results),
    }
    with live_playbook("benchmark.yml", settings) as live:
        wait_for(lambda: point_processes(FRAMEWORK, "json", "level-c8-r1"), "json level-c8 to run", live=live)
        started = time.monotonic()
        with ThreadPoolExecutor(2) as pool:
            provision_run = pool.submit(
                run_playbook, "site.yml", extra={"lab_frameworks": [FRAMEWORK]}, timeout=300
            )
            second_run = pool.submit(
                run_playbook, "benchmark.yml", extra={**settings, "lab_run_id": ""}, timeout=300
            )
            provision, second = provision_run.result(), second_run.result()
        refused_in = time.monotonic() - started
        assert live.process.poll() is None, "the first run ended before the others were refused"
        first = live.wait(600)
    holder = f"benchmark.yml run {run_id} from controller {socket.gethostname()}, pid {live.pid}, since "
    assert provision.returncode != 0 and f"localhost is in use by {holder}" in provision.text, (
        provision.output[-3000:]
    )
    # Refused before any host changed: no task of the first role ran but its exports (a set_fact, run by
    # lock.yml for the lock's own path).
    lab_base_tasks = [line for line in provision.output.splitlines() if line.startswith("TASK [lab_base")]
    assert lab_base_tasks, "the provisioning got as far as the lock without the base's exports"
    exports = "TASK [lab_base : What this host's base exports]"
    assert all(line.startswith(exports) for line in lab_base_tasks), lab_base_tasks
    assert second.returncode != 0 and "the results directory is in use by " + holder in second.text, (
        second.output[-3000:]
    )
    assert "TASK [Start this host's sampler]" not in second.output
    assert refused_in < 55, refused_in
    # The first run was not disturbed, and released everything at its end.
    assert first.returncode == 0, first.output[-6000:]
    assert not (results / ".lab.lock").exists()
    assert not os.path.exists(f"/run/lab/{HOST_ID}/lab.lock")
