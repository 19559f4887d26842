"""Reporting tests draw figures off-screen and share one small report."""

from __future__ import annotations

import matplotlib as mpl
import pytest

from evaluation.reporting import Report
from tests.unit.reporting._data import build_report

mpl.use("Agg")


@pytest.fixture(scope="module")
def report() -> Report:
    """The small report of :func:`build_report`, with one recorded plan deviation."""
    return build_report(
        deviations=(
            {
                "id": "D01",
                "date": "2025-09-01",
                "who": "Evaluation manager",
                "what": "Wild bootstrap",
                "why": "Few clusters",
                "changes": {"inference.method": "wild"},
            },
        )
    )
