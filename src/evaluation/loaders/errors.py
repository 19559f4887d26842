"""Errors raised by the loaders.

Every error names the file, the row (or line, or key), the column, the offending value when it is
not an identifier, and what was expected. The exception type says which kind of problem it is, so
that a caller can tell a broken declaration from a broken file. Values of columns that may hold
identifiers (names, phones, ID numbers) are never put into a message; their shape is described
instead ("18 digits ending in 000").
"""

from __future__ import annotations

__all__ = [
    "DecodingError",
    "FrameError",
    "HeaderError",
    "LabelExportError",
    "LinkError",
    "MangledValueError",
    "RowCountError",
    "SourceFormatError",
    "SourcesConfigError",
]


class SourceFormatError(ValueError):
    """A source file cannot be read as declared (base class of every loader error)."""


class SourcesConfigError(SourceFormatError):
    """``sources.toml`` is malformed: the message names the file, the entry and the key."""


class DecodingError(SourceFormatError):
    """Bytes do not decode with the declared encoding, or decode to mojibake."""


class HeaderError(SourceFormatError):
    """The header row is blank, duplicated, ambiguous or does not fit the instrument."""


class LabelExportError(HeaderError):
    """The file is a label export (headers or values are labels): export XML values and headers."""


class RowCountError(SourceFormatError):
    """The file is empty, has no data rows, has ragged rows, or fewer rows than expected."""


class MangledValueError(SourceFormatError):
    """Identifiers were mangled by a spreadsheet (scientific notation, digits lost to ``000``)."""


class LinkError(SourceFormatError):
    """Repeat rows do not link to a parent row (orphans or keys that do not resolve)."""


class FrameError(SourceFormatError):
    """The sample frame or a roster breaks its rules (duplicate keys, bad ID patterns)."""
