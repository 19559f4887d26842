"""The HTML report as a reader sees it: opened in a real headless Chromium.

Driver choice: selenium with Debian's ``chromium-driver`` rather than Python Playwright. Both
work with Debian's ``chromium`` here, but selenium is the lighter of the two (about 45 MB of
pure-Python wheels plus a 24 MB Debian package built from the same Chromium source, so the two
versions always match) where Playwright's wheel bundles its own Node.js runtime (about 165 MB
installed). Chromium's log, read through ChromeDriver's ``goog:loggingPrefs``, holds every
console message, uncaught script error and failed resource load, which is what we assert on.

The ``browser`` fixture (``tests/conftest.py``) starts Chromium with the flags this closed
network needs (no background networking, component updates, sync or QUIC, a fresh empty
profile); without them Chromium's start-up connections are refused.
"""

from __future__ import annotations

import pathlib

import pytest

from evaluation.reporting import write_report

pytestmark = pytest.mark.browser


def test_report_in_chromium(report, browser, tmp_path):
    out = tmp_path / "reports"
    write_report(report, out)
    browser.get((out / "index.html").as_uri())
    assert browser.execute_script("return document.readyState") == "complete"

    # No console errors, uncaught script errors or failed loads (Chromium logs all as SEVERE).
    log = browser.get_log("browser")
    assert [e["message"] for e in log if e["level"] == "SEVERE"] == []

    # Every image decoded: one per figure in the report, each with a real size.
    images = browser.execute_script(
        "return Array.from(document.images, i => [i.alt, i.complete, i.naturalWidth]);"
    )
    n_figures = sum(type(i).__name__ == "FigureItem" for s in report.sections for i in s.items)
    assert len(images) == n_figures == 2
    assert all(complete and width > 0 for _, complete, width in images), images

    # The main headings are there and visible, in the report's order.
    from selenium.webdriver.common.by import By

    h1 = browser.find_elements(By.TAG_NAME, "h1")
    assert [h.text for h in h1] == [report.title]
    h2 = browser.find_elements(By.TAG_NAME, "h2")
    expected = ["Contents"] + [f"{k}. {s.title}" for k, s in enumerate(report.sections, 1)]
    assert [h.text for h in h2] == expected
    assert all(h.is_displayed() for h in h1 + h2)

    # Every contents link leads to its section, and the heading is not left under the sticky
    # "simulated data" banner once the browser has scrolled there.
    banner = browser.find_element(By.CSS_SELECTOR, "body > .banner")
    links = browser.find_elements(By.CSS_SELECTOR, "nav a")
    assert len(links) == len(report.sections)
    for link, title in zip(links, expected[1:], strict=True):
        browser.execute_script("window.scrollTo(0, 0);")  # back to the contents, as a reader
        link.click()
        heading = browser.find_element(By.CSS_SELECTOR, f"{link.get_attribute('hash')} > h2")
        assert heading.text == title
        top, bottom = browser.execute_script(
            "return [arguments[0].getBoundingClientRect().top,"
            " arguments[1].getBoundingClientRect().bottom];",
            heading,
            banner,
        )
        assert top >= bottom, f"{title!r} is hidden under the banner ({top} < {bottom})"

    # Only the page banner stays on screen while scrolling: the banners above tables and
    # figures scroll away with them instead of piling up over it.
    covered = browser.execute_script(
        """
        const page = document.querySelector("body > .banner");
        return Array.from(document.querySelectorAll("main .banner"), b => {
            window.scrollTo(0, b.getBoundingClientRect().top + window.scrollY + 80);
            const top = document.elementFromPoint(window.innerWidth / 2, 5);
            return page.contains(top) ? null : b.textContent;
        }).filter(x => x !== null);
        """
    )
    assert covered == []

    # Nothing wider than the window at a laptop width.
    widths = browser.execute_script(
        "return [document.documentElement.scrollWidth, window.innerWidth];"
    )
    assert widths[0] <= widths[1], widths

    # A full-page screenshot for a person to look at.
    height, chrome = browser.execute_script(
        "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];"
    )
    browser.set_window_size(1280, height + chrome)
    shot = tmp_path / "report.png"
    assert browser.save_screenshot(str(shot))
    assert _png_size(shot) == (1280, height)


def _png_size(path: pathlib.Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
