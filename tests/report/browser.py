"""Headless Chromium (Debian's chromium + chromium-driver) driven through selenium, for checking HTML reports.

Chromium runs as root here, so it needs --no-sandbox; the background-networking flags keep it from calling
out (this network refuses those connections, and a test must not depend on them). Every session gets a new
empty profile. Console messages are read through chromedriver's browser log: uncaught exceptions and
console.error() both arrive there with level SEVERE, and so do resources that fail to load.
"""

from __future__ import annotations

import base64
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.chrome.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,1000",
)


def require_chromium() -> None:
    """Skip where Chromium is missing (a developer machine); in CI, where `make test` installs it, fail."""
    missing = [str(p) for p in (CHROMIUM, CHROMEDRIVER) if not p.is_file()]
    if missing:
        message = (
            f"{', '.join(missing)} not installed (apt-get install chromium chromium-driver; make test-deps)"
        )
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)


@contextmanager
def chromium() -> Iterator[WebDriver]:
    require_chromium()
    # Selenium Manager would try to download a driver; the paths are given, and it must never go online.
    os.environ.setdefault("SE_OFFLINE", "true")
    profile = tempfile.mkdtemp(prefix="lab-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def open_page(driver: WebDriver, page: Path) -> list[str]:
    """Load a local file, wait until it has loaded, and return its console errors (SEVERE log entries)."""
    _browser_log(driver)  # drop what an earlier page left
    driver.get(page.resolve().as_uri())
    WebDriverWait(driver, 30).until(lambda d: d.execute_script("return document.readyState") == "complete")
    return console_errors(driver)


def _browser_log(driver: WebDriver) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]  # untyped in selenium
    return entries


def console_errors(driver: WebDriver) -> list[str]:
    return [str(entry["message"]) for entry in _browser_log(driver) if entry["level"] == "SEVERE"]


def full_page_screenshot(driver: WebDriver, out: Path) -> Path:
    """The whole page as one PNG (beyond the window's height), through the DevTools protocol."""
    width = int(driver.execute_script("return document.documentElement.scrollWidth"))
    height = int(driver.execute_script("return document.documentElement.scrollHeight"))
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    out.write_bytes(base64.b64decode(shot["data"]))
    return out
