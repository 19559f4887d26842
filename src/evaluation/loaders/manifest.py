"""The file manifest: what was read in a run (hash, size, format, encoding, rows per table).

DIME's rule is that raw data are kept exactly as received and documented; the manifest is that
record. Comparing it with the previous run's manifest catches a download that lost rows (a
truncated file is otherwise silent: it is cut at a line boundary and parses fine).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass

from evaluation.loaders.errors import RowCountError, SourceFormatError

__all__ = [
    "Manifest",
    "ManifestEntry",
    "check_row_counts",
    "manifest_from_json",
    "manifest_to_json",
]


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    """One file read in a run.

    Attributes
    ----------
    name : str
        The path as declared in ``sources.toml``.
    kind : str
        ``survey``, ``backcheck``, ``sample_frame`` or ``roster``.
    instrument : str or None
        Instrument family (survey and back-check files).
    round : str or None
        Round (survey and back-check files).
    format : str
        The declared format.
    sha256 : str
        SHA-256 of the file.
    size : int
        Size in bytes.
    encoding : str or None
        Declared encoding.
    delimiter : str or None
        Field delimiter.
    sheets : tuple of (str, str)
        Table to sheet read.
    members : tuple of (str, str, str)
        Table, member or extra file, and its SHA-256 (zip members, SurveyCTO repeat files).
    rows : tuple of (str, int)
        Table to its number of data rows.
    format_version : str or None
        The file format's version (``dta 117``...).
    """

    name: str
    kind: str
    instrument: str | None
    round: str | None
    format: str
    sha256: str
    size: int
    encoding: str | None = None
    delimiter: str | None = None
    sheets: tuple[tuple[str, str], ...] = ()
    members: tuple[tuple[str, str, str], ...] = ()
    rows: tuple[tuple[str, int], ...] = ()
    format_version: str | None = None

    def rows_of(self, table: str) -> int | None:
        """Return the number of rows read for a table.

        Parameters
        ----------
        table : str
            The table name.

        Returns
        -------
        int or None
            The count, or ``None`` when the table was not read.
        """
        return dict(self.rows).get(table)


@dataclass(frozen=True, slots=True)
class Manifest:
    """Every file read in a run, sorted by name.

    Attributes
    ----------
    entries : tuple of ManifestEntry
        One entry per file.
    """

    entries: tuple[ManifestEntry, ...] = ()

    def __post_init__(self) -> None:
        """Sort the entries by name so that the manifest is deterministic."""
        object.__setattr__(self, "entries", tuple(sorted(self.entries, key=lambda e: e.name)))

    def entry(self, name: str) -> ManifestEntry | None:
        """Return the entry of a file.

        Parameters
        ----------
        name : str
            The path as declared.

        Returns
        -------
        ManifestEntry or None
            The entry, or ``None`` when the file was not in the run.
        """
        for entry in self.entries:
            if entry.name == name:
                return entry
        return None


def manifest_to_json(manifest: Manifest) -> str:
    """Serialise a manifest as JSON text (sorted keys, two-space indent, final newline).

    Parameters
    ----------
    manifest : Manifest
        The manifest.

    Returns
    -------
    str
        The JSON text.
    """
    document = {"files": [asdict(entry) for entry in manifest.entries]}
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _pairs(value: Iterable[Iterable[object]]) -> tuple[tuple[object, ...], ...]:
    return tuple(tuple(item) for item in value)


def manifest_from_json(text: str, where: str) -> Manifest:
    """Parse a manifest written by :func:`manifest_to_json`.

    Parameters
    ----------
    text : str
        The JSON text.
    where : str
        The file as named in messages.

    Returns
    -------
    Manifest
        The manifest.

    Raises
    ------
    SourceFormatError
        When the text is not such a manifest.
    """
    try:
        document = json.loads(text)
        entries = []
        for item in document["files"]:
            fields = dict(item)
            for key in ("sheets", "members", "rows"):
                fields[key] = _pairs(fields.get(key, ()))
            entries.append(ManifestEntry(**fields))
    except (ValueError, KeyError, TypeError) as err:
        msg = f"{where}: not a loader manifest ({type(err).__name__}: {err})"
        raise SourceFormatError(msg) from None
    return Manifest(tuple(entries))


def check_row_counts(
    name: str, table: str, rows: int, *, expected: int | None, previous: int | None
) -> None:
    """Refuse a file with fewer rows than declared or than the previous download.

    Parameters
    ----------
    name : str
        The file as named in messages.
    table : str
        The table counted.
    rows : int
        Rows read now.
    expected : int or None
        ``expected_rows`` from ``sources.toml`` (the count the server reported).
    previous : int or None
        Rows of the same file in the previous run's manifest.

    Raises
    ------
    RowCountError
        When ``rows < expected`` (truncated download) or ``rows < previous`` (cumulative
        downloads must not shrink).
    """
    if expected is not None and rows < expected:
        msg = (
            f"{name}: table {table!r} has {rows} rows but sources.toml expects {expected} "
            "(expected_rows, the server's count): the file looks truncated; download it again"
        )
        raise RowCountError(msg)
    if previous is not None and rows < previous:
        msg = (
            f"{name}: table {table!r} has {rows} rows but the previous run read {previous}; "
            "cumulative downloads must not lose rows: check the download"
        )
        raise RowCountError(msg)
