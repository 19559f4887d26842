r"""De-identification: direct identifiers leave the data at intake; text is scanned before output.

At intake every column of a question flagged ``pii: direct`` (names, phones, resident ID
numbers) and every geolocation leaves the working data for the private records, keyed by the
submission and later by the project respondent ID. Phones are normalised and checked against the
mainland mobile pattern ``^1[3-9]\\d{9}$`` and resident ID numbers against the GB 11643-1999
check digit there, inside the secure zone; only counts and project keys come out. Later steps
never see an identifier.

Before anything is written, every remaining text column is scanned for identifiers that slipped
into other places (an "other, specify" answer holding a phone number, a comment with a name):
phone numbers, resident ID numbers and the names collected at intake. What is found is replaced
by ``[phone]``, ``[id_number]`` or ``[name]`` in the clean data; the original text goes to the
private records.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.cleaning.values import (
    normalise,
    normalise_phones,
    resident_id_valid,
    special_text,
    text_series,
)
from evaluation.instruments.model import Instrument, Question

__all__ = [
    "GEO_TYPES",
    "IdentifierColumn",
    "identifier_columns",
    "same_person",
    "scan_text",
    "split_identifiers",
]

#: Question types whose answers locate a person (treated as direct identifiers).
GEO_TYPES = frozenset({"geopoint", "geotrace", "geoshape", "start-geopoint", "background-geopoint"})
_PHONE_HINT = re.compile(r"phone|mobile|tel(?:$|_)|手机|电话")
_ID_HINT = re.compile(r"id_?card|id_?number|id_?no$|sfz|shenfen|身份证")
_NAME_HINT = re.compile(r"name|姓名")
#: Patterns searched in text (RE2 syntax, no look-around: matched with pyarrow).
_PHONE_SCAN = r"(?:^|[^0-9])(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]){8}(?:[^0-9]|$)"
_ID_SCAN = (
    r"(?:^|[^0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}[0-9Xx](?:[^0-9Xx]|$)"
)
#: The same with look-around, to replace only the identifier (Python ``re``, on hits only).
_PHONE_SUB = re.compile(r"(?<![0-9])(?:\+?86[- ]?)?1[3-9][0-9](?:[- ]?[0-9]){8}(?![0-9])")
_ID_SUB = re.compile(
    r"(?<![0-9])[1-9][0-9]{5}(?:18|19|20)[0-9]{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12][0-9]|3[01])"
    r"[0-9]{3}[0-9Xx](?![0-9Xx])"
)


@dataclass(frozen=True, slots=True)
class IdentifierColumn:
    """A column that holds a direct identifier.

    Attributes
    ----------
    table : str
        The table.
    column : str
        The column.
    question : str
        The question it belongs to.
    kind : str
        ``phone``, ``id_number``, ``name``, ``geo`` or ``other``.
    """

    table: str
    column: str
    question: str
    kind: str


def _kind(q: Question) -> str:
    text = " ".join([q.name, q.constraint or "", *(t for _, t in q.label.items)]).lower()
    if q.type in GEO_TYPES:
        return "geo"
    if q.type == "phonenumber" or _PHONE_HINT.search(text) or "1[3-9]" in (q.constraint or ""):
        return "phone"
    if _ID_HINT.search(text) or "{17}" in (q.constraint or ""):
        return "id_number"
    if _NAME_HINT.search(q.name):
        return "name"
    return "other"


def identifier_columns(
    instrument: Instrument, tables: Mapping[str, Iterable[str]]
) -> list[IdentifierColumn]:
    """Find the columns holding direct identifiers in each table.

    Parameters
    ----------
    instrument : Instrument
        The questionnaire (``pii: direct`` flags and question types).
    tables : Mapping
        Table name to its columns.

    Returns
    -------
    list of IdentifierColumn
        Every column of a ``pii: direct`` or geolocation question (its own column and its
        ``<name>/<part>`` columns).
    """
    direct = {q.name: q for q, _ in instrument.walk() if q.pii == "direct" or q.type in GEO_TYPES}
    found = []
    for table, columns in tables.items():
        for column in columns:
            question = column.split("/", 1)[0]
            if question in direct:
                found.append(IdentifierColumn(table, column, question, _kind(direct[question])))
    return found


def split_identifiers(
    frames: Mapping[str, pd.DataFrame],
    instrument: Instrument,
    *,
    special_values: Mapping[str, str],
    text_codes: Mapping[str, str],
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame], list[IdentifierColumn]]:
    """Move direct identifiers out of the working tables, checking phones and ID numbers.

    Parameters
    ----------
    frames : Mapping
        Table name to its rows as text.
    instrument : Instrument
        The questionnaire.
    special_values : Mapping
        Special-code value as text (``"-98"``) to its key: such answers are not invalid.
    text_codes : Mapping
        Text answers read as special codes (``拒绝``).

    Returns
    -------
    tuple of (dict, dict, list of IdentifierColumn)
        The tables without identifier columns; per table the identifiers as received plus
        ``<column>__normalised`` (phones: 11 digits; ID numbers: upper case; others: NFKC;
        ``<NA>`` where blank or a special code such as "refused") and, for phones and ID
        numbers, ``<column>__valid``; and the columns moved.
    """
    columns = identifier_columns(instrument, {t: f.columns for t, f in frames.items()})
    public: dict[str, pd.DataFrame] = {}
    private: dict[str, pd.DataFrame] = {}
    for table, frame in frames.items():
        mine = [c for c in columns if c.table == table]
        store = pd.DataFrame(index=frame.index)
        for found in mine:
            values = text_series(frame[found.column])
            store[found.column] = values
            coded = normalise(values)
            declined = (
                coded.isin(list(special_values)).fillna(False)
                | special_text(coded, text_codes).notna()
            ).to_numpy(dtype=bool)
            empty = coded.fillna("").eq("").to_numpy(dtype=bool)
            if found.kind == "phone":
                normalised, valid = normalise_phones(values)
            elif found.kind == "id_number":
                normalised, valid = coded.str.upper(), resident_id_valid(values)
            else:
                normalised, valid = coded, None
            store[f"{found.column}__normalised"] = normalised.mask(declined | empty)
            if valid is not None:
                store[f"{found.column}__valid"] = pd.array(
                    np.where(declined | empty, pd.NA, valid.to_numpy()), dtype="boolean"
                )
        private[table] = store
        public[table] = frame.drop(columns=[c.column for c in mine])
    return public, private, columns


def same_person(
    identifiers: pd.DataFrame,
    columns: Sequence[IdentifierColumn],
    keys: pd.Series,
    active: np.ndarray,
    extra: pd.DataFrame | None = None,
) -> list[tuple[str, np.ndarray]]:
    """Find submissions under different keys that share a phone, an ID number or a name.

    Parameters
    ----------
    identifiers : pandas.DataFrame
        The main table's private identifiers (from :func:`split_identifiers`).
    columns : sequence of IdentifierColumn
        The identifier columns of the main table.
    keys : pandas.Series
        The respondent key of every row.
    active : numpy.ndarray
        Rows still in the data (excluded rows are not compared).
    extra : pandas.DataFrame, optional
        Columns of the public data that sharpen a name match (a birth year).

    Returns
    -------
    list of (str, numpy.ndarray)
        ``(what, positions)`` per group of rows: what they share (``phone``, ``id_number`` or
        ``name`` plus the extra columns) and their positions; never the shared value.

    Notes
    -----
    DATA.md section 10, #3 (one person under two IDs): the comparison happens on the private
    records only and its result carries project keys, never identifiers.
    """
    groups: list[tuple[str, np.ndarray]] = []
    candidates: list[tuple[str, pd.DataFrame]] = []
    for found in columns:
        if found.kind in {"phone", "id_number"}:
            value = identifiers[f"{found.column}__normalised"].where(
                identifiers[f"{found.column}__valid"].fillna(False)
            )
            candidates.append((found.kind, value.to_frame()))
        elif found.kind == "name":
            value = identifiers[f"{found.column}__normalised"]
            value = value.where(value.str.len() >= 2)
            frame = value.to_frame()
            what = "name"
            if extra is not None and not extra.empty:
                frame = pd.concat(
                    [frame, extra.reset_index(drop=True).set_axis(frame.index)], axis=1
                )
                what = "name and " + " and ".join(extra.columns)
            candidates.append((what, frame))
    for what, frame in candidates:
        usable = frame.notna().all(axis=1).to_numpy() & active
        if not usable.any():
            continue
        sub = frame[usable].astype("string").assign(_key=keys[usable].to_numpy())
        by = [c for c in sub.columns if c != "_key"]
        distinct = sub.groupby(by, dropna=True)["_key"].transform("nunique")
        shared = distinct.to_numpy() > 1
        if not shared.any():
            continue
        codes = sub[shared].groupby(by, dropna=True).ngroup().to_numpy()
        positions = np.flatnonzero(usable)[shared]
        groups.extend((what, np.sort(positions[codes == code])) for code in np.unique(codes))
    return groups


def _names_pattern(names: Iterable[str]) -> str | None:
    usable = sorted({n for n in names if isinstance(n, str) and len(n) >= 2}, key=len, reverse=True)
    if not usable:
        return None
    return "|".join(re.escape(n) for n in usable)


def scan_text(values: pd.Series, names: Iterable[str] = ()) -> tuple[pd.Series, pd.Series]:
    """Find and redact identifiers in text: phone numbers, resident ID numbers, known names.

    Parameters
    ----------
    values : pandas.Series
        Text (free text, other-specify answers, comments...).
    names : iterable of str
        Names collected at intake (names shorter than two characters are ignored).

    Returns
    -------
    tuple of (pandas.Series, pandas.Series)
        The text with each identifier replaced by ``[phone]``, ``[id_number]`` or ``[name]``,
        and a ``string`` series naming what was found in each cell (``phone``,
        ``id_number``, ``name``, joined by ``+``), ``<NA>`` where nothing was.

    Notes
    -----
    Detection runs on the whole column with pyarrow's RE2 engine (full-width digits are
    normalised first); replacement runs only on the cells found. Phone numbers may be written
    with ``+86`` and spaces or dashes (``138-1234-5678``); ID numbers are 18 characters with a
    plausible birth date, whatever their check digit (a mistyped ID number is still one).
    """
    text = text_series(values)
    normal = normalise(text)
    found = pd.Series(pd.NA, index=text.index, dtype="string")
    pattern = _names_pattern(names)
    checks = [("phone", _PHONE_SCAN), ("id_number", _ID_SCAN)]
    if pattern is not None:
        checks.append(("name", pattern))
    hits = {}
    for what, regex in checks:
        hit = normal.str.contains(regex, regex=True).fillna(False).to_numpy(dtype=bool)
        hits[what] = hit
    any_hit = np.zeros(len(text), dtype=bool)
    for hit in hits.values():
        any_hit |= hit
    if not any_hit.any():
        return text, found
    labels = np.full(len(text), "", dtype=object)
    for what, hit in hits.items():
        labels[hit] = np.where(labels[hit] == "", what, labels[hit] + "+" + what)
    names_re = re.compile(pattern) if pattern is not None else None
    redacted = text.copy()
    for position in np.flatnonzero(any_hit):
        cell = str(normal.iloc[position])
        cell = _ID_SUB.sub("[id_number]", cell)
        cell = _PHONE_SUB.sub("[phone]", cell)
        if names_re is not None:
            cell = names_re.sub("[name]", cell)
        redacted.iloc[position] = cell
    found[any_hit] = labels[any_hit]
    return redacted, found
