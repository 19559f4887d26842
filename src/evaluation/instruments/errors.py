"""Errors shared by the instrument modules."""

from __future__ import annotations

__all__ = ["InstrumentError"]


class InstrumentError(Exception):
    """A survey definition is broken; the message names the file, the question and the problem."""
