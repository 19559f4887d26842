"""Shared test fixtures: reference data, Java for ODK Validate, Chromium, and CI strictness."""

from __future__ import annotations

import os
import pathlib
import shutil

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _shared_data() -> pathlib.Path:
    configured = os.environ.get("EVALUATION_REFERENCE_DATA")
    if configured:
        return pathlib.Path(configured).resolve().parent
    return ROOT.parent / "shared" / "data"


def _require(path: pathlib.Path, what: str) -> pathlib.Path:
    if path.exists():
        return path
    message = f"{what} not found at {path} (set EVALUATION_REFERENCE_DATA)"
    if IN_CI:
        pytest.fail(f"{message}; under CI=true these tests must run")
    pytest.skip(message)
    return path  # pragma: no cover - skip raises


@pytest.fixture(scope="session")
def reference_data() -> pathlib.Path:
    """Folder of small public reference data sets (``../shared/data/reference``)."""
    configured = os.environ.get("EVALUATION_REFERENCE_DATA")
    folder = pathlib.Path(configured) if configured else _shared_data() / "reference"
    return _require(folder, "reference data folder")


@pytest.fixture(scope="session")
def platform_data() -> pathlib.Path:
    """Folder of real survey-platform exports and XLSForms (``../shared/data/platform``)."""
    return _require(_shared_data() / "platform", "platform export fixtures")


@pytest.fixture(scope="session")
def java() -> str:
    """Path to Java for ODK Validate; skips visibly when absent, fails under CI=true."""
    found = shutil.which("java")
    if found is None:
        if IN_CI:
            pytest.fail("Java is required under CI=true (ODK Validate); .ci/run installs it")
        pytest.skip("Java not found: ODK Validate tests skipped (install default-jre-headless)")
    return found


@pytest.fixture(scope="session")
def chromium() -> tuple[str, str]:
    """Paths to headless Chromium and its ChromeDriver for the browser test.

    Skips visibly when either (or the selenium package) is absent; fails under CI=true, where
    ``.ci/run`` installs the Debian packages ``chromium`` and ``chromium-driver``.
    """
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    found = {"chromium": browser, "chromium-driver": driver}
    missing = [name for name, path in found.items() if not path]
    try:
        import selenium  # noqa: F401
    except ImportError:
        missing.append("the selenium package (test dependency group)")
    if missing:
        message = f"browser test needs {' and '.join(missing)}"
        if IN_CI:
            pytest.fail(f"{message}; under CI=true it must run (.ci/run installs them)")
        pytest.skip(f"{message}: not found, browser test skipped")
    return str(browser), str(driver)


# Flags this closed network needs; without them Chromium's start-up connections are refused.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--window-size=1280,900",
)


@pytest.fixture
def browser(chromium, tmp_path):
    """A headless Chromium session (selenium) with a fresh profile, its console log recorded."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path = chromium
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()
