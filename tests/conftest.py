"""Shared test fixtures: reference data, Java for ODK Validate, and CI strictness."""

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
