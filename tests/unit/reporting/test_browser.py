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

import pytest

from evaluation.reporting import write_report
from tests.browser import read_report_page

pytestmark = pytest.mark.browser


def test_report_in_chromium(report, browser, tmp_path):
    write_report(report, tmp_path / "reports")
    page = read_report_page(browser, tmp_path / "reports" / "index.html", tmp_path / "report.png")
    # One decoded image per figure, in order, and the headings of the report's sections.
    figures = [i for s in report.sections for i in s.items if type(i).__name__ == "FigureItem"]
    assert [alt for alt, _ in page.images] == [
        f"Figure {k}. {f.caption}" for k, f in enumerate(figures, 1)
    ]
    assert len(page.images) == 2
    assert page.h1 == [report.title]
    assert page.h2 == ["Contents"] + [f"{k}. {s.title}" for k, s in enumerate(report.sections, 1)]
