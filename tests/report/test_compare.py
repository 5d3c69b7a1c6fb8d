"""``python -m analysis report-compare A B``: one HTML file putting two runs side by side."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By

from analysis.cli import main

from .browser import open_page
from .conftest import FULL_RUN

FULL_TYPES = ["json", "plaintext", "db", "queries"]


def test_a_run_against_itself_changes_nothing(
    full_run: Path, browser: WebDriver, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    again = tmp_path / "again"
    shutil.copytree(FULL_RUN, again)
    out = tmp_path / "compare.html"
    assert main(["report-compare", str(full_run), str(again), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"report: {out}"
    assert open_page(browser, out) == []
    sections = browser.find_elements(By.CSS_SELECTOR, "section.test-type")
    assert [s.get_attribute("data-test-type") for s in sections] == FULL_TYPES
    rows = browser.find_elements(By.CSS_SELECTOR, "table.comparison tbody tr")
    assert len(rows) == 2 * (3 + 2 + 3) + 3  # 2 frameworks x levels of json, plaintext, db; flask queries
    for row in rows:
        cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
        assert cells[2] == cells[3] and cells[4] == "+0.0 %", cells
        assert cells[5] == "not significant (p = 1)", cells
    assert len(browser.find_elements(By.CSS_SELECTOR, "figure img")) == len(FULL_TYPES)
    assert browser.execute_script("return Array.from(document.images).every(i => i.naturalWidth > 600)")
    # Nothing but the run id (and the name) differs.
    assert browser.find_elements(By.CSS_SELECTOR, "tr.differs") == []


def test_different_runs_show_what_is_only_in_one(
    full_run: Path, sample_run: Path, browser: WebDriver, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report-compare", str(sample_run), str(full_run)]) == 0
    baseline_id = json.loads((sample_run / "run.json").read_text())["run_id"]
    out = full_run / f"compare-{baseline_id}.html"
    assert capsys.readouterr().out.strip() == f"report: {out}"
    assert open_page(browser, out) == []
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "Only in A: broken, nginx, pyfix" in page
    assert "Only in B: aiohttp, flask" in page
    differing = {
        r.find_element(By.TAG_NAME, "td").text for r in browser.find_elements(By.CSS_SELECTOR, "tr.differs")
    }
    assert {"concurrency_levels", "duration_s", "frameworks"} <= differing
    sections = [
        s.get_attribute("data-test-type") for s in browser.find_elements(By.CSS_SELECTOR, "section.test-type")
    ]
    assert sections == ["json", "plaintext", "queries", "db"]
    json_rows = browser.find_elements(By.CSS_SELECTOR, 'table.comparison[data-test-type="json"] tbody tr')
    assert {r.get_attribute("data-framework") for r in json_rows} == {"aiohttp", "flask", "nginx", "pyfix"}
    assert "not measured" in browser.find_element(By.ID, "type-json").text


def test_missing_run_is_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report-compare", str(tmp_path / "nope"), str(FULL_RUN)]) == 1
    assert "no such run directory" in capsys.readouterr().err
