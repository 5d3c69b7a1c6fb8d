"""A host that cannot be reached stops the benchmark before anything changes, and is named (issue 9, point 4).

The localhost side of the check (tests/multihost has the SSH lab): the local inventory plus a client host at
an address where nothing listens (127.0.0.2, port 1, over SSH). The preflight must name that host and its
address, and the run must stop before it creates its run directory or touches a tier.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from ..labrun import ANSIBLE_PLAYBOOK, REPO, PlaybookRun, new_log, playbook_env

GHOST = "ghost-client"
GHOST_ADDRESS = "127.0.0.2"


@pytest.fixture(scope="module")
def refused(lab: None, tmp_path_factory: pytest.TempPathFactory) -> tuple[PlaybookRun, Path]:
    root = tmp_path_factory.mktemp("unreachable")
    inventory = yaml.safe_load((REPO / "inventory" / "local.yml").read_text())
    inventory["all"]["hosts"][GHOST] = {
        "ansible_host": GHOST_ADDRESS,
        "ansible_port": 1,
        "ansible_connection": "ssh",
        "ansible_user": "nobody",
        "lab_address": GHOST_ADDRESS,
    }
    inventory["all"]["children"]["client"]["hosts"][GHOST] = None
    path = root / "inventory.yml"
    path.write_text(yaml.safe_dump(inventory))
    results = root / "results"
    command = [
        str(ANSIBLE_PLAYBOOK),
        "-i",
        str(path),
        "playbooks/benchmark.yml",
        "-e",
        f"lab_results_dir={results}",
    ]
    proc = subprocess.run(
        command, cwd=REPO, env=playbook_env(), capture_output=True, text=True, timeout=300, check=False
    )
    output = proc.stdout + proc.stderr
    new_log("faults-unreachable").write_text(output)
    return PlaybookRun(proc.returncode, output), results


def test_the_run_stops_and_names_the_host(refused: tuple[PlaybookRun, Path]) -> None:
    run, _ = refused
    assert run.returncode != 0, run.output[-3000:]
    assert f"[{GHOST}]: UNREACHABLE!" in run.output, run.output[-3000:]
    assert GHOST_ADDRESS in run.output
    assert run.recap()[GHOST]["unreachable"] == 1


def test_nothing_changed_before_it_stopped(refused: tuple[PlaybookRun, Path]) -> None:
    run, results = refused
    assert not results.exists() or not any(results.iterdir()), list(results.rglob("*"))
    assert run.recap()["localhost"]["changed"] == 0, run.output[-3000:]
    assert "Benchmark one framework" not in run.output
