"""Labelled tables for partners who work in SPSS or Stata (pure; written by ``outputs``).

A partner file carries what the clean data carries, in the form SPSS and Stata users expect:
variable labels (the question text in English or Chinese), value labels (the choice lists), and
the missing reasons as missing values instead of companion columns. In SPSS the instrument's
special codes go back into the value column and are declared user-missing on every question
that has a reason (SPSS allows three discrete codes: don't know, refused, not applicable), and
skipped and missing answers are system-missing. In Stata the reasons become extended missing
values: ``.d`` don't know, ``.r`` refused, ``.n`` not applicable, ``.s`` skipped, ``.m``
missing. Device metadata and free text stay out of partner files (DIME: free text is
identifying until reviewed); dates and times are written as naive UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.cleaning.disclosure import DEVICE_TYPES
from evaluation.cleaning.errors import CleaningError
from evaluation.instruments.model import Instrument, Text

__all__ = ["STATA_LETTERS", "LabelledTable", "labelled_table"]

#: Extended missing letter of each reason in Stata files.
STATA_LETTERS = {
    "dont_know": "d",
    "refused": "r",
    "not_applicable": "n",
    "skipped": "s",
    "missing": "m",
}
_REASON_TEXT = {
    "skipped": Text.of({"en": "Skipped (not asked)", "zh": "跳过（未询问）"}),
    "missing": Text.of({"en": "Missing (asked, no answer)", "zh": "缺失（已询问，无回答）"}),
}
_STATA_LABEL = 80
_NAME_LIMIT = 32


@dataclass(frozen=True, slots=True)
class LabelledTable:
    """A table ready for pyreadstat's ``write_sav`` or ``write_dta``.

    Attributes
    ----------
    data : pandas.DataFrame
        Values as pyreadstat writes them (numbers as ``float64``, text as ``str`` with ``""``
        for missing, naive date-times; Stata: extended-missing letters in numeric columns).
    column_labels : Mapping
        Column to variable label.
    value_labels : Mapping
        Column to ``{value: label}``.
    missing_ranges : Mapping
        SPSS: column to its user-missing codes.
    missing_user_values : Mapping
        Stata: column to the extended-missing letters used.
    """

    data: pd.DataFrame
    column_labels: Mapping[str, str] = field(default_factory=dict)
    value_labels: Mapping[str, Mapping[object, str]] = field(default_factory=dict)
    missing_ranges: Mapping[str, list[float]] = field(default_factory=dict)
    missing_user_values: Mapping[str, list[str]] = field(default_factory=dict)


def _label(text: Text, language: str) -> str:
    return text.get(language) or text.first()


def labelled_table(
    data: pd.DataFrame,
    instrument: Instrument,
    *,
    kind: str,
    language: str = "en",
    include_text: bool = False,
    keep: tuple[str, ...] = (),
) -> LabelledTable:
    """Turn clean data into a labelled SPSS or Stata table.

    Parameters
    ----------
    data : pandas.DataFrame
        A clean round or panel (value columns with ``<name>__reason`` companions).
    instrument : Instrument
        The questionnaire (labels, lists, special codes).
    kind : str
        ``"sav"`` or ``"dta"``.
    language : str, optional
        Language code of the labels (``"en"`` or ``"zh"``).
    include_text : bool, optional
        Keep free-text answers (left out by default; text questions with a constraint, such
        as codes checked by a pattern, are not free text and stay).
    keep : tuple of str, optional
        Columns kept whatever their type (the key).

    Returns
    -------
    LabelledTable
        The table and its labels.

    Raises
    ------
    CleaningError
        When ``kind`` is unknown or a column name is longer than 32 characters (Stata).
    """
    if kind not in {"sav", "dta"}:
        msg = f"unknown partner format {kind!r} (sav or dta)"
        raise CleaningError(msg)
    questions = {q.name: q for q, _ in instrument.walk()}
    special = {c.key: c for c in instrument.special_codes}
    dropped = {
        name
        for name, q in questions.items()
        if q.type in DEVICE_TYPES or (q.type == "text" and not q.constraint and not include_text)
    } - set(keep)
    columns: dict[str, pd.Series] = {}
    labels: dict[str, str] = {}
    value_labels: dict[str, dict[object, str]] = {}
    missing_ranges: dict[str, list[float]] = {}
    missing_letters: dict[str, list[str]] = {}
    for name in data.columns:
        if name.endswith("__reason") or name in dropped:
            continue
        base = name.split("__", 1)[0]
        if base in dropped:
            continue
        if len(name) > _NAME_LIMIT:
            msg = f"column {name!r} is longer than {_NAME_LIMIT} characters (the Stata limit)"
            raise CleaningError(msg)
        values = data[name]
        q = questions.get(name)
        if q is not None:
            label = _label(q.label, language)
            if label:
                labels[name] = label[:_STATA_LABEL] if kind == "dta" else label
        reason = data.get(f"{name}__reason")
        if isinstance(values.dtype, pd.DatetimeTZDtype):
            values = values.dt.tz_convert("UTC").dt.tz_localize(None)
        if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            numbers = values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
            if q is not None and q.is_select and q.list_name:
                try:
                    choices = instrument.choice_list(q.list_name)
                    value_labels[name] = {
                        float(c.name): _label(c.label, language)
                        for c in choices.choices
                        if c.name.lstrip("-").isdigit()
                    }
                except KeyError:
                    pass
            if reason is not None:
                column, extra = _missing(numbers, reason, special, kind, language)
                if kind == "sav":
                    declared = sorted(special, key=lambda k: -special[k].value)[:3]
                    if declared:
                        missing_ranges[name] = [float(special[k].value) for k in declared]
                        value_labels.setdefault(name, {}).update(
                            {
                                float(special[k].value): _label(special[k].label, language)
                                for k in declared
                            }
                        )
                    columns[name] = pd.Series(column, index=data.index)
                else:
                    if extra:
                        missing_letters[name] = sorted(STATA_LETTERS[k] for k in extra)
                        value_labels.setdefault(name, {}).update(
                            {STATA_LETTERS[k]: _reason_label(k, special, language) for k in extra}
                        )
                    columns[name] = pd.Series(column, index=data.index)
            else:
                columns[name] = pd.Series(numbers, index=data.index)
        elif pd.api.types.is_datetime64_any_dtype(values):
            columns[name] = values
        elif pd.api.types.is_bool_dtype(values):
            columns[name] = values.astype("Float64").to_numpy(dtype=float, na_value=np.nan)
        else:
            columns[name] = pd.Series(
                values.astype("string").fillna("").to_numpy(dtype=object), index=data.index
            )
    for name in list(value_labels):
        if not value_labels[name]:
            del value_labels[name]
    return LabelledTable(
        data=pd.DataFrame(columns, index=data.index).reset_index(drop=True),
        column_labels=labels,
        value_labels=value_labels,
        missing_ranges=missing_ranges,
        missing_user_values=missing_letters,
    )


def _reason_label(key: str, special: Mapping[str, object], language: str) -> str:
    if key in special:
        return _label(special[key].label, language)  # type: ignore[attr-defined]
    return _label(_REASON_TEXT[key], language)


def _missing(
    numbers: np.ndarray,
    reason: pd.Series,
    special: Mapping[str, object],
    kind: str,
    language: str,
) -> tuple[np.ndarray, set[str]]:
    """Put the reasons back into a numeric column as SPSS codes or Stata letters."""
    keys = reason.astype("string").to_numpy(dtype=object, na_value=None)
    used = {k for k in pd.unique(keys) if isinstance(k, str)}
    if kind == "sav":
        out = numbers.copy()
        extra = {k for k in used if k in special}
        for key in extra:
            out[keys == key] = float(special[key].value)  # type: ignore[attr-defined]
        return out, extra
    extra = {k for k in used if k in STATA_LETTERS}
    if not extra:
        return numbers, extra
    out_obj = numbers.astype(object)
    for key in extra:
        out_obj[keys == key] = STATA_LETTERS[key]
    return out_obj, extra
