"""report.html in a real browser (headless Chromium): no console errors, it draws, and it shows the run."""

from __future__ import annotations

import json
import re
import shutil
from dataclasses import replace
from pathlib import Path
from urllib.parse import unquote

import pandas as pd
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement

from analysis.cli import main
from analysis.outputs import write_report
from analysis.report import run_report
from analysis.run import load_run
from analysis.summarize import summarize
from analysis.tables import build_summary

from .browser import full_page_screenshot, open_page
from .conftest import FULL_RUN, SAMPLE_RUN
from .enrich import with_cpu_columns
from .images import image_stats

FULL_TYPES = ["json", "plaintext", "db", "queries"]
FULL_FRAMEWORKS = ["aiohttp", "flask"]


def headers(driver: WebDriver, table: str) -> list[str]:
    return [h.text.rstrip(" ↕↑↓") for h in driver.find_elements(By.CSS_SELECTOR, f"{table} thead th")]


def column_cells(driver: WebDriver, table: str, name: str) -> list[WebElement]:
    column = headers(driver, table).index(name) + 1
    return driver.find_elements(By.CSS_SELECTOR, f"{table} tbody tr td:nth-child({column})")


def column_texts(driver: WebDriver, table: str, name: str) -> list[str]:
    return [c.text for c in column_cells(driver, table, name)]


def requests_per_second(driver: WebDriver, table: str) -> list[float]:
    return [float(t.replace(",", "")) for t in column_texts(driver, table, "requests/s")]


def test_report_loads_without_console_errors_and_draws(
    full_run: Path, browser: WebDriver, tmp_path: Path
) -> None:
    assert open_page(browser, full_run / "report.html") == []
    shot = full_page_screenshot(browser, tmp_path / "report.png")
    stats = image_stats(shot)
    assert stats.looks_drawn(), stats
    assert stats.height > 3000  # settings, tables and a dozen plots: a long page
    # Every embedded plot decoded to a real picture.
    sizes = browser.execute_script(
        "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight])"
    )
    assert len(sizes) == len(list((full_run / "plots").glob("*.png")))
    assert all(complete and width >= 700 and height >= 300 for complete, width, height in sizes), sizes


def test_report_shows_every_framework_and_test_type(full_run: Path, browser: WebDriver) -> None:
    open_page(browser, full_run / "report.html")
    sections = browser.find_elements(By.CSS_SELECTOR, "section.test-type")
    assert [s.get_attribute("data-test-type") for s in sections] == FULL_TYPES
    for test_type in FULL_TYPES:
        table = f'table.summary[data-test-type="{test_type}"]'
        rows = browser.find_elements(By.CSS_SELECTOR, f"{table} tbody tr")
        # aiohttp's queries failed verification, so it was not benchmarked.
        frameworks = ["flask"] if test_type == "queries" else FULL_FRAMEWORKS
        levels = 2 if test_type == "plaintext" else 3
        assert len(rows) == len(frameworks) * levels, test_type
        assert sorted({str(r.get_attribute("data-framework")) for r in rows}) == frameworks
        # Default order: requests/s, descending.
        rps = requests_per_second(browser, table)
        assert rps == sorted(rps, reverse=True) and rps[-1] > 0
        # The richer columns of the summary (repeat statistics, percentiles, resources) are shown.
        assert {"median", "repeat range", "CV %", "flags", "p99", "latencyAvg"} <= set(
            headers(browser, table)
        )
        assert browser.find_element(By.ID, f"plot-throughput-{test_type}").is_displayed()
    verify_rows = browser.find_elements(By.CSS_SELECTOR, "#verify-table tbody tr")
    assert [r.get_attribute("data-framework") for r in verify_rows] == FULL_FRAMEWORKS
    grades = {
        (row.get_attribute("data-framework"), cell.get_attribute("data-test-type")): cell.text
        for row in verify_rows
        for cell in row.find_elements(By.CSS_SELECTOR, "td.grade")
    }
    assert grades == {
        (f, t): "fail" if (f, t) == ("aiohttp", "queries") else "pass"
        for f in FULL_FRAMEWORKS
        for t in FULL_TYPES
    }
    for row in verify_rows:
        links = [a.text for a in row.find_elements(By.CSS_SELECTOR, "td:last-child > a")]
        assert links == ["verification.txt", "summary.json"], links
    assert "fewer than the 10,240 expected" in verify_rows[0].text
    hosts = browser.find_elements(By.CSS_SELECTOR, "div.environment")
    assert [h.get_attribute("data-host") for h in hosts] == ["localhost"]
    assert browser.find_element(By.ID, "plot-resources").is_displayed()
    run_id = json.loads((FULL_RUN / "run.json").read_text())["run_id"]
    assert browser.find_element(By.ID, "run-id").text == run_id


def test_every_link_points_at_a_file_of_the_run(full_run: Path, browser: WebDriver) -> None:
    open_page(browser, full_run / "report.html")
    hrefs = [a.get_attribute("href") or "" for a in browser.find_elements(By.CSS_SELECTOR, "a[href]")]
    files = [h for h in hrefs if "#" not in h]
    assert len(files) > 100  # run files, plots, verification output, every raw file
    for href in files:
        assert href.startswith("file://"), href
        assert Path(unquote(href.removeprefix("file://"))).is_file(), href
    raw = {p for p in (full_run / "raw").rglob("*") if p.is_file()}
    linked = {Path(unquote(h.removeprefix("file://"))) for h in files}
    assert raw <= linked


def test_tables_sort_when_a_header_is_clicked(full_run: Path, browser: WebDriver) -> None:
    open_page(browser, full_run / "report.html")
    table = 'table.summary[data-test-type="json"]'
    header_cells = browser.find_elements(By.CSS_SELECTOR, f"{table} thead th")
    names = headers(browser, table)
    header_cells[names.index("framework")].click()
    frameworks = column_texts(browser, table, "framework")
    assert frameworks == sorted(frameworks) and frameworks[0] != frameworks[-1]
    requests = header_cells[names.index("requests/s")]
    requests.click()
    assert requests_per_second(browser, table) == sorted(requests_per_second(browser, table))
    requests.click()
    rps = requests_per_second(browser, table)
    assert rps == sorted(rps, reverse=True)
    assert requests.get_attribute("aria-sort") == "descending"
    # Latency sorts by value, not by text: the p50 column mixes "727.50us" and "2.30ms".
    header_cells[names.index("p50")].click()
    cells = column_cells(browser, table, "p50")
    keys = [float(c.get_attribute("data-key") or "nan") for c in cells]
    assert keys == sorted(keys)
    assert {c.text[-2:] for c in cells} == {"us", "ms"}


def test_a_run_without_the_richer_files_says_not_recorded(sample_run: Path, browser: WebDriver) -> None:
    assert open_page(browser, sample_run / "report.html") == []
    page = browser.find_element(By.TAG_NAME, "body").text
    assert "Environment: not recorded" in page
    assert "CPU per request: not recorded" in page
    assert "Resource samples: not recorded" in page
    assert "verification failed: json body differs" in page
    errors = browser.find_element(By.ID, "level-errors").text
    assert "pyfix/json level 16 repeat 1 client localhost: errors read=9872" in errors
    warnings = browser.find_element(By.ID, "warnings").text
    assert "incomplete point" in warnings
    flagged = browser.find_elements(By.CSS_SELECTOR, 'table.summary[data-test-type="json"] tr.has-errors')
    assert [r.get_attribute("data-framework") for r in flagged] == ["pyfix"]
    assert "n/a (pipelined)" in browser.find_element(By.ID, "type-plaintext").text
    sections = browser.find_elements(By.CSS_SELECTOR, "section.test-type")
    assert [s.get_attribute("data-test-type") for s in sections] == ["json", "plaintext", "queries"]


def test_the_console_check_catches_an_error(full_run: Path, browser: WebDriver, tmp_path: Path) -> None:
    """The check above can fail: a throwaway copy of the report with one script error is caught."""
    broken = tmp_path / "report.html"
    html = (full_run / "report.html").read_text(encoding="utf-8")
    broken.write_text(html.replace("</body>", "<script>undefinedReportFunction();</script></body>"))
    errors = open_page(browser, broken)
    assert len(errors) == 1 and "undefinedReportFunction is not defined" in errors[0], errors
    logged = tmp_path / "logged.html"
    logged.write_text(html.replace("</body>", '<script>console.error("bad plot");</script></body>'))
    assert any("bad plot" in e for e in open_page(browser, logged))


def test_text_from_the_run_is_escaped(tmp_path: Path, browser: WebDriver) -> None:
    run_dir = tmp_path / "escaped"
    shutil.copytree(SAMPLE_RUN, run_dir)
    broken = json.loads((run_dir / "frameworks" / "broken.json").read_text())
    broken["reason"] = '<script>console.error("injected")</script><b>bold</b>'
    (run_dir / "frameworks" / "broken.json").write_text(json.dumps(broken))
    assert main(["summarize", str(run_dir)]) == 0
    assert open_page(browser, run_dir / "report.html") == []
    assert (
        '<script>console.error("injected")</script><b>bold</b>'
        in browser.find_element(By.ID, "verification").text
    )


def test_report_is_self_contained(full_run: Path) -> None:
    html = (full_run / "report.html").read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html), "no network resource"
    assert html.count('src="data:image/png;base64,') == len(list((full_run / "plots").glob("*.png")))
    assert "<script src" not in html and '<link rel="stylesheet"' not in html


def test_richer_tidy_and_summary_columns_are_shown(tmp_path: Path, browser: WebDriver) -> None:
    """Columns other parts of the analysis add (CPU per request, repeat statistics) reach the report."""
    run = load_run(FULL_RUN)
    samples = pd.read_csv(FULL_RUN / "resources" / "samples.csv")
    analysis = replace(
        summarize(run),
        tidy=with_cpu_columns(run.tidy, samples),
        summary=build_summary(run.tidy).assign(some_new_metric=1.5, unstable=False),
    )
    # the report and its plots go to tmp_path; the saved run stays untouched
    report = write_report(tmp_path, run_report(run, analysis))
    assert open_page(browser, report) == []
    assert browser.find_element(By.ID, "plot-cpu-per-request").is_displayed()
    table = 'table.summary[data-test-type="db"]'
    assert set(column_texts(browser, table, "some_new_metric")) == {"1.5"}
    assert "app CPU ms / 1k req" in headers(browser, table)
