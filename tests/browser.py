"""A headless Chromium (Debian's ``chromium`` and ``chromium-driver``) driven by selenium, to check that an HTML
report really renders: it loads, every image decodes, the console has no errors.

``check_report_in_browser`` skips the calling test only when the browser cannot be had (selenium not importable,
the binaries missing); an installed browser that fails to start fails the test, and once the page is open every
problem is the page's and the caller's asserts fail on it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
MISSING = f"no headless browser: {CHROMIUM} or {CHROMEDRIVER} missing (apt-get install chromium chromium-driver)"

_IMAGES = """
return Array.from(document.images).map(function (im) {
    return {alt: im.alt, complete: im.complete, width: im.naturalWidth, height: im.naturalHeight};
});
"""


def skip_without_browser() -> None:
    """Skip the calling test unless selenium imports and both browser binaries exist."""
    try:
        import selenium  # noqa: F401
    except ImportError as exc:
        pytest.skip(f"no headless browser: selenium is not importable ({exc})")
    if not (CHROMIUM.is_file() and CHROMEDRIVER.is_file()):
        pytest.skip(MISSING)


def _driver(profile: Path) -> object:
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic",
                "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                f"--user-data-dir={profile}", "--window-size=1280,900"):  # fmt: skip
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        return webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    except WebDriverException as exc:
        # the browser is installed, so a start failure is a failure (CI installs it: a skip would hide it)
        pytest.fail(f"chromium and chromedriver are installed but did not start: {exc.msg or exc}")


def check_report_in_browser(path: Path, *, screenshot: Path | None = None) -> dict:
    """Open the HTML file ``path`` in headless Chromium and report what it shows.

    Returns ``{"title", "images" (count), "broken_images" (alt texts of images not complete or 0 px wide),
    "image_sizes" ([(width, height)]), "headline" (a ``#headline`` table is shown), "scripts" (count of
    ``<script>`` elements), "console_errors" (SEVERE browser-log messages), "height" (page height, px),
    "overflow_x" (the page scrolls sideways in a 1280 px wide window)}``.
    With ``screenshot``, a full-height PNG of the page is saved there. Skips the calling test when no browser.
    """
    skip_without_browser()
    from selenium.webdriver.common.by import By

    path = Path(path).resolve()
    with tempfile.TemporaryDirectory(prefix="riskgpu-chromium-") as profile:
        driver = _driver(Path(profile))
        try:
            driver.set_page_load_timeout(15)
            driver.get(path.as_uri())
            images = driver.execute_script(_IMAGES)
            headline = driver.find_elements(By.CSS_SELECTOR, "table#headline")
            height = int(driver.execute_script("return document.documentElement.scrollHeight"))
            seen = {
                "title": driver.title,
                "images": len(images),
                "broken_images": [im["alt"] for im in images if not (im["complete"] and im["width"] > 0)],
                "image_sizes": [(im["width"], im["height"]) for im in images],
                "headline": bool(headline) and headline[0].is_displayed(),
                "scripts": int(driver.execute_script("return document.scripts.length")),
                "console_errors": [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"],
                "height": height,
                "overflow_x": bool(driver.execute_script(
                    "return document.documentElement.scrollWidth > document.documentElement.clientWidth")),
            }  # fmt: skip
            if screenshot is not None:
                chrome = int(driver.execute_script("return window.outerHeight - window.innerHeight"))
                driver.set_window_size(1280, min(max(height, 900), 16000) + chrome)
                driver.save_screenshot(str(screenshot))
        finally:
            driver.quit()
    return seen
