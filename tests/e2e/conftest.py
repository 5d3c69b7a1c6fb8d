"""End-to-end runs of the real playbooks on this machine (local inventory: every tier is localhost)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ..labrun import REPO, PlaybookRun, localhost_lock, run_playbook

__all__ = ["REPO", "PlaybookRun", "run_playbook"]

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


@pytest.fixture(scope="session", autouse=True)
def _localhost_tiers() -> Iterator[None]:
    """The suite drives the shared localhost tiers: hold /tmp/lab-localhost.lock while it runs."""
    with localhost_lock():
        yield


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
