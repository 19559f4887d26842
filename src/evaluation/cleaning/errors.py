"""Errors raised by cleaning.

Each names the source file, the row or key, the column, the value when it cannot be an
identifier, and what was expected; the type says which kind of problem it is, so that the command
line (and a data manager) can tell a broken decisions file from data that needs a decision.
Values of direct identifiers (names, phones, ID numbers) never appear in a message.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "CleaningError",
    "ConservationError",
    "DecisionsError",
    "DisclosureError",
    "HarmonisationError",
    "LinkageError",
    "PrivacyError",
    "TypingError",
    "UnresolvedDuplicatesError",
]


class CleaningError(ValueError):
    """Data cannot be cleaned safely (base class of every cleaning error)."""


class DecisionsError(CleaningError):
    """A decisions file or ``cleaning.toml`` is malformed, stale or contradicts itself."""


class TypingError(CleaningError):
    """Values cannot be read as their question's type (unknown codes, text in numeric fields)."""


class HarmonisationError(CleaningError):
    """Columns are not mapped onto the instrument, or choice lists conflict across rounds."""


class LinkageError(CleaningError):
    """Keys are missing, or do not link to the sample frame or across rounds."""


class PrivacyError(CleaningError):
    """Identifiers would leave the private store (an output holds one, or paths overlap)."""


class DisclosureError(CleaningError):
    """A partner export fails the disclosure check (k-anonymity below the configured k)."""


class ConservationError(CleaningError):
    """Rows were lost: ``rows_in != rows_kept + rows_excluded`` for a source."""


class UnresolvedDuplicatesError(CleaningError):
    """Duplicate submissions need a reviewed decision before cleaning can go on.

    Parameters
    ----------
    message : str
        What is unresolved and how to resolve it.
    report : pandas.DataFrame
        One row per submission of every unresolved group, with empty decision columns to fill
        in (columns :data:`~evaluation.cleaning.duplicates.REPORT_COLUMNS`; written by
        :func:`~evaluation.cleaning.outputs.write_duplicates_report`).
    """

    def __init__(self, message: str, report: Any) -> None:
        super().__init__(message)
        self.report = report
