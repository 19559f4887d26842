"""The sample frame: reading and validating it, the endline preload roster, the back-check sample.

The sample frame is the master list of the evaluation's units: the project respondent ID, the
enterprise, the treatment assignment and the strata (DIME: one master data set per unit of
observation, the authority for IDs and design variables). It is read as text and validated
before anything is linked to it. From the clean baseline frame :func:`preload_roster` writes the
CSV that endline forms pre-load (``select_one_from_file`` or ``pulldata()``), and
:func:`backcheck_sample` draws the respondents back-checkers revisit.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.instruments.model import Instrument
from evaluation.loaders.columns import normalised_headers
from evaluation.loaders.errors import FrameError, HeaderError, MangledValueError, RowCountError
from evaluation.loaders.files import digest, read_bytes
from evaluation.loaders.model import MAIN_TABLE, SourceInfo, SourceIssue
from evaluation.loaders.parsing import TextTable, parse_csv, parse_xlsx
from evaluation.loaders.sources import FrameSource
from evaluation.loaders.text import mangled_reason

__all__ = [
    "SampleFrame",
    "backcheck_sample",
    "check_frame",
    "preload_roster",
    "read_sample_frame",
]


@dataclass(frozen=True, slots=True)
class SampleFrame:
    """A validated sample frame or roster.

    Attributes
    ----------
    data : pandas.DataFrame
        Every column as text (headers normalised), one row per unit, in file order.
    source : FrameSource
        Its declaration.
    info : SourceInfo
        Hash, size, format, encoding and rows of the file.
    source_rows : numpy.ndarray
        Line (CSV) or worksheet row of every row.
    issues : tuple of SourceIssue
        What was reported while reading.

    Notes
    -----
    Unit of observation: respondent (or the roster's unit). Key: ``source.key``, unique and
    non-missing (checked).
    """

    data: pd.DataFrame
    source: FrameSource
    info: SourceInfo
    source_rows: np.ndarray
    issues: tuple[SourceIssue, ...] = ()


def _rows(rows: np.ndarray, mask: np.ndarray, limit: int = 10) -> str:
    listed = ", ".join(str(int(r)) for r in rows[mask][:limit])
    more = f" and {int(mask.sum()) - limit} more" if mask.sum() > limit else ""
    return listed + more


def check_frame(data: pd.DataFrame, source: FrameSource, rows: np.ndarray, where: str) -> None:
    """Check a frame against its declaration: columns, unique keys, ID patterns, treatment codes.

    Parameters
    ----------
    data : pandas.DataFrame
        The frame as text.
    source : FrameSource
        The declaration (key, patterns, treatment values, strata).
    rows : numpy.ndarray
        Line or worksheet row of every row, for messages.
    where : str
        The file as named in messages.

    Raises
    ------
    HeaderError
        When a declared column is absent (the message lists the columns there are).
    FrameError
        When a key is empty or repeated, a key or enterprise ID does not match its pattern, a
        treatment value is not allowed, or a stratum is empty. Messages give rows, never the
        values of the key column (they may be identifiers).
    MangledValueError
        When keys were mangled by a spreadsheet (scientific notation, digits lost).
    """
    declared = [source.key, source.enterprise, source.treatment, *source.strata]
    for column in (c for c in declared if c):
        if column not in data.columns:
            msg = (
                f"{where}: no column {column!r} (declared in sources.toml); columns: "
                f"{list(data.columns)}"
            )
            raise HeaderError(msg)
    keys = data[source.key].astype("str")
    empty = (keys.fillna("").str.strip() == "").to_numpy()
    if empty.any():
        msg = (
            f"{where}: column {source.key!r} is empty on rows {_rows(rows, empty)}; every unit "
            "needs a key"
        )
        raise FrameError(msg)
    mangled = [(i, mangled_reason(str(v))) for i, v in enumerate(keys)]
    mangled = [(i, r) for i, r in mangled if r is not None]
    if mangled:
        listed = ", ".join(f"row {rows[i]} ({r})" for i, r in mangled[:10])
        msg = f"{where}: column {source.key!r} holds keys mangled by a spreadsheet: {listed}"
        raise MangledValueError(msg)
    repeated = keys.duplicated(keep=False).to_numpy()
    if repeated.any():
        msg = (
            f"{where}: {int(keys[repeated].nunique())} keys of column {source.key!r} appear more "
            f"than once, on rows {_rows(rows, repeated)}; keys must be unique"
        )
        raise FrameError(msg)
    for column, pattern, show in (
        (source.key, source.key_pattern, False),
        (source.enterprise, source.enterprise_pattern, True),
    ):
        if not column or not pattern:
            continue
        values = data[column].astype("str").fillna("")
        bad = ~values.str.fullmatch(pattern).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            shown = (
                f"{values.iloc[first]!r}"
                if show
                else f"a value of {len(values.iloc[first])} characters"
            )
            msg = (
                f"{where}: column {column!r} does not match {pattern!r} on rows "
                f"{_rows(rows, bad)} (row {rows[first]}: {shown})"
            )
            raise FrameError(msg)
    if source.treatment and source.treatment_values:
        values = data[source.treatment].astype("str").fillna("")
        bad = ~values.isin(source.treatment_values).to_numpy()
        if bad.any():
            first = int(np.flatnonzero(bad)[0])
            msg = (
                f"{where}: column {source.treatment!r} on rows {_rows(rows, bad)} holds "
                f"{values.iloc[first]!r} (row {rows[first]}); allowed: "
                f"{list(source.treatment_values)}"
            )
            raise FrameError(msg)
    for column in source.strata:
        blank = (data[column].astype("str").fillna("").str.strip() == "").to_numpy()
        if blank.any():
            msg = f"{where}: stratum column {column!r} is empty on rows {_rows(rows, blank)}"
            raise FrameError(msg)


def read_sample_frame(source: FrameSource) -> SampleFrame:
    """Read and validate the sample frame (or a roster) declared in ``sources.toml``.

    Parameters
    ----------
    source : FrameSource
        The declaration.

    Returns
    -------
    SampleFrame
        The frame as text with its source metadata.

    Raises
    ------
    SourceFormatError
        Or a subclass, for an unreadable file (see :func:`check_frame` for the rules).

    Notes
    -----
    Reads: the declared CSV (strict decoding with the declared encoding and delimiter) or
    workbook sheet. Unit of observation: respondent; key ``source.key``.
    """
    data = read_bytes(source.path, source.name)
    sheets: tuple[tuple[str, str], ...] = ()
    if source.format == "csv":
        assert source.encoding is not None
        assert source.delimiter is not None
        table = parse_csv(
            data,
            encoding=source.encoding,
            delimiter=source.delimiter,
            where=source.name,
            table=MAIN_TABLE,
        )
    else:

        def _select(names: tuple[str, ...]) -> dict[str, str]:
            sheet = source.sheet or (names[0] if len(names) == 1 else None)
            if sheet is None or sheet not in names:
                what = f"no sheet named {sheet!r}" if sheet else f"{len(names)} sheets"
                msg = (
                    f"{source.name}: {what}; the workbook's sheets are {list(names)} (declare "
                    "sheet)"
                )
                raise HeaderError(msg)
            return {MAIN_TABLE: sheet}

        _, tables = parse_xlsx(data, _select, source.name)
        table = tables[MAIN_TABLE]
        sheets = ((MAIN_TABLE, source.sheet or ""),)
    return _frame_from_table(source, table, data, sheets)


def _frame_from_table(
    source: FrameSource, table: TextTable, data: bytes, sheets: tuple[tuple[str, str], ...]
) -> SampleFrame:
    headers, issues = normalised_headers(table.headers, table.where, MAIN_TABLE)
    frame = table.frame.set_axis(headers, axis=1)
    check_frame(frame, source, table.source_rows, table.where)
    if source.expected_rows is not None and len(frame) < source.expected_rows:
        msg = (
            f"{source.name}: {len(frame)} rows but sources.toml expects {source.expected_rows}; "
            "the file looks truncated"
        )
        raise RowCountError(msg)
    info = SourceInfo(
        name=source.name,
        sha256=digest(data),
        size=len(data),
        format=source.format,
        encoding=source.encoding,
        delimiter=source.delimiter,
        sheets=sheets,
        rows=((MAIN_TABLE, len(frame)),),
    )
    return SampleFrame(
        data=frame,
        source=source,
        info=info,
        source_rows=table.source_rows,
        issues=(*table.issues, *issues),
    )


def preload_roster(
    frame: pd.DataFrame,
    columns: Sequence[str],
    *,
    key: str = "resp_id",
    label: Sequence[str] = (),
    instrument: Instrument | None = None,
    allow_direct_identifiers: bool = False,
) -> bytes:
    r"""Build the endline preload CSV (``select_one_from_file`` / ``pulldata()``) from a frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        A clean baseline frame, one row per respondent.
    columns : sequence of str
        Columns to pre-load (shown for confirmation or used in expressions).
    key : str, optional
        The key column (default ``resp_id``); written as the ``name`` column the form looks up.
    label : sequence of str, optional
        Columns joined by ``" · "`` into the ``label`` shown in a ``select_one_from_file``
        list (default: the key).
    instrument : Instrument, optional
        When given, columns the instrument flags as direct identifiers (``pii: direct``) are
        refused unless ``allow_direct_identifiers`` is set: the file travels to every device.
    allow_direct_identifiers : bool, optional
        Allow direct identifiers (for tracking forms that must show a name).

    Returns
    -------
    bytes
        UTF-8 CSV without byte-order mark, ``\\n`` line ends, header
        ``name,label,<columns...>``, one row per key sorted by key; missing values are empty.

    Raises
    ------
    FrameError
        When the key column or a requested column is absent, a key is empty or repeated, or a
        direct identifier is requested without permission.

    Notes
    -----
    Unit: respondent; key ``key``. ODK Collect and KoboToolbox read ``name`` as the choice value
    and ``label`` as its text; ``pulldata('roster', 'column', 'name', ${resp_id})`` looks a value
    up by key.
    """
    wanted = [key, *columns, *label]
    missing = [c for c in dict.fromkeys(wanted) if c not in frame.columns]
    if missing:
        msg = (
            f"preload roster: no column {missing[0]!r} in the frame; columns: {list(frame.columns)}"
        )
        raise FrameError(msg)
    if instrument is not None and not allow_direct_identifiers:
        direct = {q.name for q, _ in instrument.walk() if q.pii == "direct"}
        leaked = [c for c in (*columns, *label) if c in direct]
        if leaked:
            msg = (
                f"preload roster: column {leaked[0]!r} is a direct identifier (pii: direct) and "
                "the "
                "file goes to every device; pass allow_direct_identifiers=True to include it"
            )
            raise FrameError(msg)
    keys = frame[key].astype("str")
    empty = keys.fillna("").str.strip() == ""
    if empty.any():
        msg = f"preload roster: {int(empty.sum())} rows have an empty {key!r}"
        raise FrameError(msg)
    if keys.duplicated().any():
        repeated = int(keys.duplicated().sum())
        msg = f"preload roster: {repeated} keys of {key!r} repeat; keys must be unique"
        raise FrameError(msg)
    order = np.argsort(keys.to_numpy(dtype=str), kind="stable")
    table = frame.iloc[order]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["name", "label", *columns])
    text = table[list(dict.fromkeys([key, *columns, *label]))].astype("str").fillna("")
    for _, row in text.iterrows():
        shown = " · ".join(row[c] for c in label) if label else row[key]
        writer.writerow([row[key], shown, *(row[c] for c in columns)])
    return out.getvalue().encode("utf-8")


def backcheck_sample(
    submissions: pd.DataFrame,
    *,
    key: str,
    enumerator: str,
    rng: np.random.Generator,
    rate: float = 0.1,
    minimum: int = 1,
    strata: Sequence[str] = (),
) -> pd.DataFrame:
    """Draw a stratified back-check sample: a share of each enumerator's interviews, at least n.

    Parameters
    ----------
    submissions : pandas.DataFrame
        One row per completed interview.
    key : str
        Column of the respondent key (unique, non-empty).
    enumerator : str
        Column of the enumerator ID.
    rng : numpy.random.Generator
        The seeded generator (from the plan's seed).
    rate : float, optional
        Share to back-check in each stratum, in (0, 1] (default 10%).
    minimum : int, optional
        At least this many per stratum (capped at the stratum's size; default 1).
    strata : sequence of str, optional
        Further stratification columns (city, team...): strata are enumerator x these.

    Returns
    -------
    pandas.DataFrame
        Columns ``key``, ``enumerator``, the strata columns and ``stratum_size``, one row per
        sampled interview, sorted by key.

    Raises
    ------
    FrameError
        When a column is absent, a key is empty or repeated, an enumerator is empty, or ``rate``
        or ``minimum`` is out of range.

    Notes
    -----
    In a stratum of ``n`` interviews, ``k = min(n, max(minimum, ceil(rate * n)))`` are drawn
    without replacement with equal probability. Interviews are sorted by key and strata visited
    in sorted order before drawing, so the sample depends only on the data and the generator's
    state, never on row order.
    """
    if not 0 < rate <= 1:
        msg = f"back-check sample: rate {rate!r} must be in (0, 1]"
        raise FrameError(msg)
    if minimum < 0:
        msg = f"back-check sample: minimum {minimum!r} must be non-negative"
        raise FrameError(msg)
    groups = [enumerator, *strata]
    missing = [c for c in [key, *groups] if c not in submissions.columns]
    if missing:
        msg = f"back-check sample: no column {missing[0]!r}; columns: {list(submissions.columns)}"
        raise FrameError(msg)
    text = submissions[[key, *groups]].astype("str").fillna("")
    if (text[key].str.strip() == "").any() or text[key].duplicated().any():
        msg = f"back-check sample: keys of {key!r} must be non-empty and unique"
        raise FrameError(msg)
    for column in groups:
        blank = int((text[column].str.strip() == "").sum())
        if blank:
            msg = f"back-check sample: column {column!r} is empty on {blank} rows"
            raise FrameError(msg)
    ordered = text.sort_values(key, kind="stable").reset_index(drop=True)
    picked = []
    for _, members in ordered.groupby(groups, sort=True):
        size = len(members)
        wanted = min(size, max(minimum, math.ceil(round(rate * size, 9))))
        chosen = np.sort(rng.choice(size, size=wanted, replace=False))
        sample = members.iloc[chosen].copy()
        sample["stratum_size"] = size
        picked.append(sample)
    result = pd.concat(picked, ignore_index=True) if picked else ordered.iloc[0:0]
    return result.sort_values(key, kind="stable").reset_index(drop=True)
