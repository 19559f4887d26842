"""What a reader of the HTML report sees in headless Chromium (shared by the browser tests).

:func:`read_report_page` opens a written ``index.html`` through the ``browser`` fixture of
``tests/conftest.py``, asserts what must hold for any report, and returns what the tests compare
with the report they built.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Page:
    """What the browser found: headings in order and the images with their natural widths."""

    h1: list[str]
    h2: list[str]
    images: list[tuple[str, int]]
    screenshot: pathlib.Path


def read_report_page(browser, index: pathlib.Path, screenshot: pathlib.Path) -> Page:
    """Open ``index`` and check it as a reader would; save a full-page screenshot.

    Asserted for every report: no console error, uncaught script error or failed load
    (Chromium logs each as SEVERE); every image decoded with a real size; every heading
    visible; every contents link scrolls its section's heading into view below the sticky
    "simulated data" banner (when there is one); the banners above tables and figures scroll
    away instead of piling up over it; nothing wider than the window at 1280 px.
    """
    from selenium.webdriver.common.by import By

    browser.get(index.as_uri())
    assert browser.execute_script("return document.readyState") == "complete"
    log = browser.get_log("browser")
    assert [e["message"] for e in log if e["level"] == "SEVERE"] == []

    images = browser.execute_script(
        "return Array.from(document.images, i => [i.alt, i.complete, i.naturalWidth]);"
    )
    assert all(complete and width > 0 for _, complete, width in images), images

    h1 = browser.find_elements(By.TAG_NAME, "h1")
    h2 = browser.find_elements(By.TAG_NAME, "h2")
    assert all(h.is_displayed() for h in h1 + h2)

    banners = browser.find_elements(By.CSS_SELECTOR, "body > .banner")
    for link in browser.find_elements(By.CSS_SELECTOR, "nav a"):
        browser.execute_script("window.scrollTo(0, 0);")  # back to the contents, as a reader
        link.click()
        heading = browser.find_element(By.CSS_SELECTOR, f"{link.get_attribute('hash')} > h2")
        assert heading.text.endswith(link.text)
        top = browser.execute_script("return arguments[0].getBoundingClientRect().top;", heading)
        for banner in banners:
            bottom = browser.execute_script(
                "return arguments[0].getBoundingClientRect().bottom;", banner
            )
            assert top >= bottom, f"{heading.text!r} is hidden under the banner"
    covered = browser.execute_script(
        """
        const page = document.querySelector("body > .banner");
        if (page === null) return [];
        return Array.from(document.querySelectorAll("main .banner"), b => {
            window.scrollTo(0, b.getBoundingClientRect().top + window.scrollY + 80);
            const top = document.elementFromPoint(window.innerWidth / 2, 5);
            return page.contains(top) ? null : b.textContent;
        }).filter(x => x !== null);
        """
    )
    assert covered == [], "table or figure banners pile up over the page banner"
    widths = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];"
    )
    assert widths[0] <= widths[1], f"page wider than the window: {widths}"

    page = Page(
        h1=[h.text for h in h1],
        h2=[h.text for h in h2],
        images=[(alt, width) for alt, _, width in images],
        screenshot=screenshot,
    )
    height, chrome = browser.execute_script(
        "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];"
    )
    browser.set_window_size(1280, height + chrome)
    assert browser.save_screenshot(str(screenshot))
    header = screenshot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    size = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    assert size == (1280, height)
    return page
