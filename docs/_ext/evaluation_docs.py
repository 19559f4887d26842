"""Directives that draw documentation from the package, the tests and ``surveys/``."""

from __future__ import annotations

from typing import Any

from sphinx.application import Sphinx


def setup(app: Sphinx) -> dict[str, Any]:
    """Register the directives."""
    return {"parallel_read_safe": True, "parallel_write_safe": True}
