"""Shared fixtures of the report tests: the saved runs, each summarized once, and one headless Chromium."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver

from analysis.cli import main

from .browser import chromium

REPO = Path(__file__).resolve().parents[2]
RUNS = REPO / "tests" / "fixtures" / "runs"
# A real short run (aiohttp and flask on this kind of machine) with everything a report can show:
# resource samples, environment.json, verification output. See its README.md.
FULL_RUN = RUNS / "two-frameworks"
# Hand-picked wrk outputs: three frameworks, one failed, levels with errors, several clients; nothing more.
SAMPLE_RUN = RUNS / "sample"


def summarized_copy(source: Path, parent: Path) -> Path:
    """A writable copy of a saved run after ``python -m analysis summarize`` (plots/ and report.html)."""
    run_dir = parent / source.name
    shutil.copytree(source, run_dir)
    assert main(["summarize", str(run_dir)]) == 0
    return run_dir


@pytest.fixture(scope="session")
def full_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return summarized_copy(FULL_RUN, tmp_path_factory.mktemp("full"))


@pytest.fixture(scope="session")
def sample_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return summarized_copy(SAMPLE_RUN, tmp_path_factory.mktemp("sample"))


@pytest.fixture(scope="session")
def browser() -> Iterator[WebDriver]:
    with chromium() as driver:
        yield driver
