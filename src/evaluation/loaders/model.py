"""The values the loaders return: :class:`RawRound` and its source metadata.

A :class:`RawRound` is one source file of one survey round, read but not cleaned: the responses
exactly as received, the repeat tables linked by keys, canonical submission metadata, and
everything known about the file (hash, size, format, declared encoding, labels). Cleaning and the
data-quality checks start from it; nothing downstream reads the raw file again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import pandas as pd

from evaluation.instruments.model import Instrument
from evaluation.loaders.sources import Source

__all__ = [
    "LINK_COLUMNS",
    "MAIN_TABLE",
    "META_COLUMNS",
    "Labels",
    "RawRound",
    "SourceInfo",
    "SourceIssue",
    "issue",
]

#: Name of the main table in ``RawRound.source_path`` and :meth:`RawRound.table`.
MAIN_TABLE = "main"
#: Columns of ``RawRound.meta``, in order.
META_COLUMNS = (
    "source_row",
    "key",
    "instance_id",
    "submitted_at",
    "start",
    "end",
    "form_version",
    "device_id",
    "review_state",
)
#: Link columns leading every repeat table, in order.
LINK_COLUMNS = ("submission_row", "instance_id", "parent_key", "key", "source_row")


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True, slots=True)
class SourceIssue:
    """A problem found while reading that is reported and counted, not raised.

    Attributes
    ----------
    kind : str
        What was found: ``unknown_column``, ``missing_column``, ``header_normalised``,
        ``blank_lines``, ``mixed_form_versions``, ``unexpected_form_version``,
        ``duplicate_instance_id``, ``suspected_mojibake``, ``non_text_cells``,
        ``date_cells``, ``unknown_choice_column``, ``empty_rows``, ``no_final_newline``,
        ``encoding_override``, ``platform_metadata_missing``, ``row_count_changed``.
    table : str
        The table (:data:`MAIN_TABLE` or a repeat name).
    column : str or None
        The column concerned (a header as found in the file), when there is one.
    count : int
        How many cells, rows or columns are affected.
    rows : tuple of int
        Up to ten ``source_row`` numbers where it was seen (empty when not row-specific).
    message : str
        A sentence for the data manager; never contains an identifier's value.
    """

    kind: str
    table: str
    column: str | None
    count: int
    rows: tuple[int, ...]
    message: str


def issue(
    kind: str,
    table: str,
    message: str,
    *,
    column: str | None = None,
    count: int = 1,
    rows: tuple[int, ...] = (),
) -> SourceIssue:
    """Build a :class:`SourceIssue` (a shorthand for the readers).

    Parameters
    ----------
    kind : str
        The issue kind.
    table : str
        The table.
    message : str
        The sentence for the data manager.
    column : str, optional
        The column concerned.
    count : int, optional
        Cells, rows or columns affected (default 1).
    rows : tuple of int, optional
        Up to ten ``source_row`` numbers.

    Returns
    -------
    SourceIssue
        The issue.
    """
    return SourceIssue(
        kind=kind, table=table, column=column, count=count, rows=rows[:10], message=message
    )


@dataclass(frozen=True, slots=True)
class Labels:
    """Variable labels, value labels and missing-value definitions of an SPSS or Stata file.

    Attributes
    ----------
    variable_labels : Mapping
        Column to its label (columns without a label are absent).
    value_labels : Mapping
        Column to ``{value: label}``.
    missing_ranges : Mapping
        SPSS user-defined missing values: column to a list of ``{"lo": x, "hi": y}`` (a discrete
        missing value has ``lo == hi``).
    missing_user_values : Mapping
        Stata extended missing values (``.a`` .. ``.z``) found per column, as letters.
    variable_types : Mapping
        Column to its storage type as written in the file (``F8.2``, ``A20``, ``%9.0g``...).
    variable_measure : Mapping
        SPSS measurement level per column (``nominal``, ``ordinal``, ``scale``, ``unknown``).
    file_label : str or None
        The data set label.
    file_encoding : str or None
        The encoding the file declares (SPSS) or that was used (Stata).
    """

    variable_labels: Mapping[str, str] = field(default_factory=dict)
    value_labels: Mapping[str, Mapping[Any, str]] = field(default_factory=dict)
    missing_ranges: Mapping[str, tuple[Mapping[str, Any], ...]] = field(default_factory=dict)
    missing_user_values: Mapping[str, tuple[Any, ...]] = field(default_factory=dict)
    variable_types: Mapping[str, str] = field(default_factory=dict)
    variable_measure: Mapping[str, str] = field(default_factory=dict)
    file_label: str | None = None
    file_encoding: str | None = None

    def __post_init__(self) -> None:
        """Freeze the mappings."""
        for name in (
            "variable_labels",
            "variable_types",
            "variable_measure",
        ):
            object.__setattr__(self, name, _freeze(getattr(self, name)))
        object.__setattr__(
            self,
            "value_labels",
            _freeze({k: _freeze(v) for k, v in self.value_labels.items()}),
        )
        object.__setattr__(
            self,
            "missing_ranges",
            _freeze({k: tuple(_freeze(r) for r in v) for k, v in self.missing_ranges.items()}),
        )
        object.__setattr__(
            self,
            "missing_user_values",
            _freeze({k: tuple(v) for k, v in self.missing_user_values.items()}),
        )

    def renamed(self, names: Mapping[str, str]) -> Labels:
        """Return the labels with columns renamed.

        Parameters
        ----------
        names : Mapping
            Old column name to new name; columns not listed keep their name.

        Returns
        -------
        Labels
            The same labels under the new names.
        """

        def _move(mapping: Mapping[str, Any]) -> dict[str, Any]:
            return {names.get(k, k): v for k, v in mapping.items()}

        return Labels(
            variable_labels=_move(self.variable_labels),
            value_labels=_move(self.value_labels),
            missing_ranges=_move(self.missing_ranges),
            missing_user_values=_move(self.missing_user_values),
            variable_types=_move(self.variable_types),
            variable_measure=_move(self.variable_measure),
            file_label=self.file_label,
            file_encoding=self.file_encoding,
        )


@dataclass(frozen=True, slots=True)
class SourceInfo:
    """Facts about a source file, for the manifest and for every message about it.

    Attributes
    ----------
    name : str
        The file as declared in ``sources.toml`` (relative to the raw folder).
    sha256 : str
        SHA-256 of the file's bytes (hexadecimal).
    size : int
        Size in bytes.
    format : str
        The declared format (``kobo-xlsx``, ``odk-zip``, ``spss``...).
    platform : str or None
        The platform recognised from signature columns (``kobo``, ``odk``, ``surveycto``), or
        ``None`` for files without platform metadata.
    encoding : str or None
        The declared encoding (text formats and old Stata files).
    delimiter : str or None
        The field delimiter of CSV files.
    sheets : tuple of (str, str)
        For workbooks: table name to the sheet it was read from.
    members : tuple of (str, str, str)
        For zip files and multi-file sources: table name, the file or archive member read, and
        its SHA-256.
    rows : tuple of (str, int)
        Table name to its number of data rows.
    format_version : str or None
        The file format's own version when it matters (``dta 117``, ``sav``, ``zsav``).
    """

    name: str
    sha256: str
    size: int
    format: str
    platform: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    sheets: tuple[tuple[str, str], ...] = ()
    members: tuple[tuple[str, str, str], ...] = ()
    rows: tuple[tuple[str, int], ...] = ()
    format_version: str | None = None


@dataclass(frozen=True, slots=True)
class RawRound:
    """One source file of a survey round, read but not cleaned.

    Attributes
    ----------
    instrument : Instrument
        The questionnaire the file answers (from :mod:`evaluation.instruments`).
    round : str
        The round (``baseline``, ``endline``...).
    source : Source
        The declaration the file was read with (from ``sources.toml``).
    info : SourceInfo
        Hash, size, format, encoding, sheets and row counts of the file.
    data : pandas.DataFrame
        The main table: one row per submission in file order, every column of the file. For text
        formats (CSV, XLSX, platform exports) every cell is a string exactly as received; an empty
        cell is ``""`` (none of those formats can tell an empty cell from an empty string), and a
        missing value (NA) means the source holds no cell at all. For SPSS and Stata the values
        keep their stored types: numbers stay numbers, user-defined missing codes stay values
        (described in ``labels``), system-missing is NaN. Columns are named by the bare
        question name (group paths stripped); select_multiple indicator columns are
        ``<question>/<choice>``, geopoint parts ``<question>/<part>``; platform columns keep the
        header they had (``_uuid``, ``KEY``, ``SubmitterID``...); columns the instrument does not
        know keep their header and are listed in ``issues``.
    meta : pandas.DataFrame
        Canonical submission metadata, one row per row of ``data`` (same index):
        ``source_row`` (int: line of a CSV record, worksheet row, or case number of SPSS/Stata),
        ``key`` (the submission's key: ``instance_id``, or ``row:<source_row>`` when the file
        has none), ``instance_id`` (ODK/SurveyCTO ``KEY``, Kobo ``uuid:`` + ``_uuid``),
        ``submitted_at``, ``start``, ``end`` (tz-aware UTC), ``form_version``, ``device_id``,
        ``review_state`` (str). Missing metadata is NA.
    repeats : Mapping
        Repeat name to its table: ``submission_row`` (the parent submission's ``source_row``,
        which links unambiguously even when instance IDs repeat), ``instance_id``,
        ``parent_key``, ``key`` (ODK Central's form ``<parent key>/<path>/<repeat>[n]``,
        built the same way for KoboToolbox and SurveyCTO wide files), ``source_row``, then the
        repeat's columns as text.
    source_path : Mapping
        Table name (:data:`MAIN_TABLE` or a repeat) to ``{column: header in the file}``.
    labels : Labels or None
        Variable labels, value labels and missing-value definitions of SPSS and Stata files.
    issues : tuple of SourceIssue
        Problems reported and counted rather than raised (unknown and missing columns, mixed form
        versions, duplicate instance IDs, suspected mojibake...).

    Notes
    -----
    Unit of observation: submission (main table) and repeat instance (repeat tables). Key:
    ``meta.source_row`` is unique within the file; ``instance_id`` is the platform's submission
    key and may repeat (duplicate downloads, edits); resolving that is cleaning's job.
    """

    instrument: Instrument
    round: str
    source: Source
    info: SourceInfo
    data: pd.DataFrame
    meta: pd.DataFrame
    repeats: Mapping[str, pd.DataFrame] = field(default_factory=dict)
    source_path: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    labels: Labels | None = None
    issues: tuple[SourceIssue, ...] = ()

    def __post_init__(self) -> None:
        """Freeze the mappings."""
        object.__setattr__(self, "repeats", _freeze(self.repeats))
        object.__setattr__(
            self, "source_path", _freeze({k: _freeze(v) for k, v in self.source_path.items()})
        )

    def __len__(self) -> int:
        """Return the number of submissions (rows of the main table)."""
        return len(self.data)

    def table(self, name: str = MAIN_TABLE) -> pd.DataFrame:
        """Return the main table or a repeat table by name.

        Parameters
        ----------
        name : str, optional
            :data:`MAIN_TABLE` (default) or a repeat name.

        Returns
        -------
        pandas.DataFrame
            The table.

        Raises
        ------
        KeyError
            When there is no such table; the message lists the tables.
        """
        if name == MAIN_TABLE:
            return self.data
        if name not in self.repeats:
            msg = f"{self.info.name}: no table {name!r}; tables: {[MAIN_TABLE, *self.repeats]}"
            raise KeyError(msg)
        return self.repeats[name]

    def issues_of(self, kind: str) -> tuple[SourceIssue, ...]:
        """Return the reported issues of one kind.

        Parameters
        ----------
        kind : str
            An issue kind such as ``"unknown_column"``.

        Returns
        -------
        tuple of SourceIssue
            The issues of that kind, in the order found.
        """
        return tuple(i for i in self.issues if i.kind == kind)
