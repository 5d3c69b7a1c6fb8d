"""End-to-end runs of the real playbooks on this machine (local inventory: every tier is localhost)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_PLAYBOOK = Path(sys.executable).parent / "ansible-playbook"

# Tiny sweeps: every phase of the real sequence runs, each for a second; levels for two, the shortest that
# always holds a whole 1 s resource sample (analysis/resources.py).
CONCURRENCY_LEVELS = [8, 32]
PIPELINE_LEVELS = [32]
QUERY_LEVELS = [1, 5]
TINY: dict[str, object] = {
    "lab_duration_s": 2,
    "lab_primer_duration_s": 1,
    "lab_warmup_duration_s": 1,
    "lab_pause_s": 0,
    "lab_concurrency_levels": CONCURRENCY_LEVELS,
    "lab_pipeline_concurrency_levels": PIPELINE_LEVELS,
    "lab_query_levels": QUERY_LEVELS,
}
E2E_FRAMEWORKS = ["aiohttp", "flask"]


@dataclass
class PlaybookRun:
    returncode: int
    output: str

    def recap(self) -> dict[str, dict[str, int]]:
        """PLAY RECAP counters per host, e.g. {"localhost": {"ok": 30, "changed": 0, ...}}."""
        hosts: dict[str, dict[str, int]] = {}
        for line in self.output.split("PLAY RECAP", 1)[-1].splitlines():
            match = re.match(r"^(\S+)\s+:\s+(.*)$", line.strip())
            if match:
                hosts[match.group(1)] = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(2))}
        return hosts


def run_playbook(playbook: str, *args: str, extra: dict[str, object] | None = None) -> PlaybookRun:
    cmd = [str(ANSIBLE_PLAYBOOK), "-i", "inventory/local.yml", f"playbooks/{playbook}", *args]
    if extra:
        cmd += ["-e", json.dumps(extra)]
    env = {**os.environ, "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=1800, check=False)
    output = proc.stdout + proc.stderr
    # Keep the full log beside the test run: a failure deep in a play needs more than the assertion.
    log_dir = REPO / ".pytest_cache" / "e2e-logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    (log_dir / f"{playbook}-{len(list(log_dir.iterdir()))}.log").write_text(output)
    return PlaybookRun(proc.returncode, output)


@pytest.fixture(scope="session")
def provisioned() -> PlaybookRun:
    run = run_playbook("site.yml", extra={"lab_frameworks": E2E_FRAMEWORKS})
    assert run.returncode == 0, run.output[-6000:]
    return run


@pytest.fixture(scope="session")
def results_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("results")


@pytest.fixture(scope="session")
def benchmark_run(provisioned: PlaybookRun, results_dir: Path) -> PlaybookRun:
    run = run_playbook(
        "benchmark.yml",
        extra={**TINY, "lab_frameworks": E2E_FRAMEWORKS, "lab_results_dir": str(results_dir)},
    )
    assert run.returncode == 0, run.output[-6000:]
    return run
