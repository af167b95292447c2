"""Headless Chromium for the dashboard's browser tests: Debian's `chromium`, driven by Selenium
through Debian's `chromium-driver` (/usr/bin/chromedriver, built with chromium: their versions
match). Both come from `bash scripts/setup-browser.sh`; selenium from the `test` extra.

Nothing is downloaded at test time: the chromedriver path is given to Selenium's Service, so
Selenium Manager (which would fetch a driver and a browser) never runs, and SE_OFFLINE keeps it
offline should it ever be asked. Chromium runs as root here, headless, quiet on the network (no
sync, no updates, no QUIC, nothing in the background) and with a fresh profile; chromedriver
listens on the loopback only.

    with chromium(tmp_path / "profile") as driver:
        driver.get(page.as_uri())
        driver.find_element(By.CSS_SELECTOR, "a[href='recipes/x.html']").click()   # a real click
        save_screenshot(driver, ARTIFACTS / "page.png")
"""

from __future__ import annotations

import base64
import importlib.util
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_ccci.swarm.picture import QUIET_CHROMIUM_FLAGS

if TYPE_CHECKING:  # imported where a browser starts: selenium is a test extra, the swarm tests need none
    from selenium.webdriver.chrome.webdriver import WebDriver

FLAGS = (
    *QUIET_CHROMIUM_FLAGS,  # the plugin's own way of starting chromium quietly
    "--disable-dev-shm-usage",
    "--window-size=1400,900",
)
TIMEOUT = 30.0  # seconds for a page to load or a script to answer


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


def missing() -> str | None:
    """Why the browser tests cannot run here (None: they can)."""
    found = {"chromium": chromium_path(), "chromedriver": shutil.which("chromedriver")}
    absent = [name for name, path in found.items() if path is None]
    if absent:
        return f"{' and '.join(absent)} not installed: bash scripts/setup-browser.sh"
    if importlib.util.find_spec("selenium") is None:
        return "selenium is not installed: pip install -e .[test]"
    return None


@contextmanager
def chromium(profile: Path) -> Iterator[WebDriver]:
    """A headless Chromium with a fresh profile in `profile`, quit on the way out."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager, were it ever asked, fetches nothing
    options = webdriver.ChromeOptions()
    options.binary_location = str(chromium_path())
    for flag in (*FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    service = Service(executable_path=shutil.which("chromedriver"))  # given: Selenium Manager never runs
    driver = webdriver.Chrome(service=service, options=options)
    try:
        driver.set_page_load_timeout(TIMEOUT)
        driver.set_script_timeout(TIMEOUT)
        yield driver
    finally:
        driver.quit()


def save_screenshot(driver: WebDriver, path: Path) -> None:
    """The whole page, beyond the window too, as a PNG at `path`."""
    shot = driver.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
    path.write_bytes(base64.b64decode(shot["data"]))
