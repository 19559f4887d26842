"""Typing by the instrument: each question's text becomes a typed value and a missing reason.

Types follow the XLSForm type (``notes/clean_data.md``): select_one → ``Int64`` codes (``string``
when a list has non-numeric codes), integer → ``Int64``, decimal and range → ``Float64``, text
and the other text-like types → ``string``, date and today → naive ``datetime64``, dateTime and
start/end → tz-aware UTC. Special codes never stay in a value column: the instrument's codes
(``-99`` don't know, ``-98`` refused, ``-97`` not applicable), a survey firm's own codes mapped
under ``[code_aliases]`` and text such as ``不知道`` listed under ``[text_codes]`` become ``<NA>``
with the special-code key in the reason. Values are never coerced: a cell that is not what its
type expects is returned as invalid for the caller to report as an error.

Each question also yields a *coded* text: the answer as a form would hold it (normalised, with
special codes as their numbers), on which skip logic and constraints are evaluated, because
forms test special codes in their expressions (``${job_wage} = -99``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.cleaning._ledger import log_entries, problem_entries
from evaluation.cleaning.errors import DecisionsError
from evaluation.cleaning.rules import CleaningRules
from evaluation.cleaning.values import (
    blank,
    normalise,
    parse_dates,
    parse_datetimes,
    parse_numbers,
    special_text,
    text_series,
)
from evaluation.instruments.model import NUMERIC_TYPES, Instrument, Question

__all__ = [
    "SpecialCodes",
    "TypedColumn",
    "special_codes",
    "type_column",
]

#: Types whose answers may be special codes (besides text questions that accept them).
_SPECIAL_TYPES = NUMERIC_TYPES | frozenset({"select_one", "date", "dateTime", "time", "rank"})
#: Types kept as normalised text (codes, identifiers of the project).
_CODE_TEXT_TYPES = frozenset({"select_one_from_file", "barcode"})
#: Types kept as text exactly as received (surrounding white space stripped).
_TEXT_TYPES = frozenset(
    {
        "text",
        "calculate",
        "hidden",
        "deviceid",
        "subscriberid",
        "simserial",
        "phonenumber",
        "username",
        "email",
        "audit",
        "acknowledge",
        "image",
        "audio",
        "video",
        "file",
        "background-audio",
        "select_multiple_from_file",
    }
)
_TIME = r"[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]+)?)?(?:Z|[+-][0-9]{2}:?[0-9]{2})?"
_LONG_DIGITS = re.compile(r"[0-9]{7,}")


@dataclass(frozen=True, slots=True)
class SpecialCodes:
    """The special codes of an instrument and the ways a file may write them.

    Attributes
    ----------
    values : Mapping
        Key (``dont_know``) to the instrument's code (``-99``).
    by_number : Mapping
        Numeric code (float) to key: the instrument's codes and ``[code_aliases]``.
    texts : Mapping
        Text answer to key (``[text_codes]``), for keys the instrument declares.
    """

    values: Mapping[str, int]
    by_number: Mapping[float, str]
    texts: Mapping[str, str]

    @property
    def by_text(self) -> dict[str, str]:  # numpydoc ignore=RT01
        """Numeric codes as a file writes them (``-99``, ``-99.0``) to their key."""
        found = {}
        for number, key in self.by_number.items():
            found[_number_str(number)] = key
            found[repr(float(number))] = key
        return found

    @property
    def own_texts(self) -> frozenset[str]:  # numpydoc ignore=RT01
        """The instrument's own codes as text (``-99``, ``-99.0``)."""
        return frozenset(
            text for v in self.values.values() for text in (str(v), repr(float(v)))
        )

    def code_text(self, key: str) -> str:
        """Return the instrument's code of a key as text.

        Parameters
        ----------
        key : str
            A special-code key.

        Returns
        -------
        str
            The code, e.g. ``"-99"``.
        """
        return str(self.values[key])


def special_codes(instrument: Instrument, rules: CleaningRules) -> SpecialCodes:
    """Collect the special codes of an instrument with the rules' aliases and texts.

    Parameters
    ----------
    instrument : Instrument
        The questionnaire (``special_codes``).
    rules : CleaningRules
        ``[code_aliases]`` and ``[text_codes]``.

    Returns
    -------
    SpecialCodes
        The codes.

    Raises
    ------
    DecisionsError
        When an alias maps onto a key the instrument does not declare, or an alias is itself one
        of the instrument's codes for another key.
    """
    values = {c.key: int(c.value) for c in instrument.special_codes}
    by_number = {float(v): k for k, v in values.items()}
    for code, key in rules.code_aliases.items():
        if key not in values:
            msg = (
                f"cleaning.toml: code_aliases maps {code} to {key!r}, which instrument "
                f"{instrument.form_id!r} does not declare (declared: {sorted(values)})"
            )
            raise DecisionsError(msg)
        number = float(code)
        if number in by_number and by_number[number] != key:
            msg = f"cleaning.toml: code_aliases maps {code} to {key!r} but it is the code of {by_number[number]!r}"
            raise DecisionsError(msg)
        by_number[number] = key
    texts = {t: k for t, k in rules.text_codes.items() if k in values}
    return SpecialCodes(values=values, by_number=by_number, texts=texts)


@dataclass(frozen=True, slots=True)
class TypedColumn:
    """One question's column, typed.

    Attributes
    ----------
    value : pandas.Series
        The typed values (``<NA>`` where blank, special or invalid).
    reason : pandas.Series
        ``string``: the special-code key where the answer was a special code, else ``<NA>``.
    coded : pandas.Series
        ``string``: the answer as a form holds it, for skip logic and constraints.
    invalid : numpy.ndarray
        Positions of cells that cannot be read as the type expects.
    expected : str
        What the type expects, for the error message.
    log : list of pandas.DataFrame
        Cleaning-log entries (normalisations, aliases and texts read as special codes).
    problems : list of pandas.DataFrame
        Flags (special codes the question does not accept).
    """

    value: pd.Series
    reason: pd.Series
    coded: pd.Series
    invalid: np.ndarray
    expected: str
    log: list[pd.DataFrame] = field(default_factory=list)
    problems: list[pd.DataFrame] = field(default_factory=list)


def _accepted(question: Question, instrument: Instrument) -> set[str]:
    accepted = set(question.special)
    if question.is_select and question.list_name:
        try:
            accepted |= set(instrument.choice_list(question.list_name).special)
        except KeyError:
            pass
    return accepted


def _specials(
    norm: pd.Series, codes: SpecialCodes, question: Question, instrument: Instrument
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Find special answers: (reason key, coded text, rule) per cell, ``<NA>`` elsewhere."""
    index = norm.index
    reason = pd.Series(pd.NA, index=index, dtype="string")
    rule = pd.Series(pd.NA, index=index, dtype="string")
    if codes.by_text:
        keys = norm.map(codes.by_text, na_action="ignore").astype("string")
        hit = keys.notna()
        if hit.any():
            reason = reason.mask(hit, keys)
            own = norm.isin(list(codes.own_texts)).fillna(False)
            rule = rule.mask(hit & ~own, "code_alias")
    if codes.texts:
        keys = special_text(norm, codes.texts)
        hit = keys.notna() & reason.isna()
        if hit.any():
            reason = reason.mask(hit, keys)
            rule = rule.mask(hit, "special_text")
    coded = reason.map({k: str(v) for k, v in codes.values.items()}, na_action="ignore").astype(
        "string"
    )
    return reason, coded, rule


def _show(value: object) -> str:
    text = str(value)
    text = _LONG_DIGITS.sub(lambda m: f"<{len(m.group())} digits>", text)
    return repr(text[:30])


def describe_invalid(values: pd.Series, positions: np.ndarray, limit: int = 5) -> str:
    """List a few invalid values, never long digit runs (they may be identifiers).

    Parameters
    ----------
    values : pandas.Series
        The raw column.
    positions : numpy.ndarray
        Invalid positions.
    limit : int, optional
        How many distinct values to show.

    Returns
    -------
    str
        ``'不详', '/' and 3 more`` (runs of 7 or more digits shown as ``<11 digits>``).
    """
    distinct = pd.unique(values.to_numpy(dtype=object)[positions])
    shown = ", ".join(_show(v) for v in distinct[:limit])
    more = f" and {len(distinct) - limit} more" if len(distinct) > limit else ""
    return shown + more


def type_column(
    values: pd.Series,
    question: Question,
    instrument: Instrument,
    codes: SpecialCodes,
    rules: CleaningRules,
    *,
    table: str,
    times: pd.Series | None = None,
) -> TypedColumn:
    """Type one question's column by its XLSForm type and split off special codes.

    Parameters
    ----------
    values : pandas.Series
        The column as text (positions are the table's row positions).
    question : Question
        Its question.
    instrument : Instrument
        The questionnaire (choice lists).
    codes : SpecialCodes
        From :func:`special_codes`.
    rules : CleaningRules
        Date formats and the time zone.
    table : str
        The table, for log entries.
    times : pandas.Series, optional
        For ``start`` and ``end``: the times the loaders parsed (tz-aware UTC).

    Returns
    -------
    TypedColumn
        Values, reasons, coded text, invalid positions, log entries and problems.

    Notes
    -----
    Normalisation (NFKC, white space) applies to every type whose answers are codes or numbers
    and each changed cell is logged with rule ``normalised``; free text keeps its characters
    (only surrounding white space is stripped, not logged). select_multiple is typed by
    :func:`evaluation.cleaning.selects.type_select_multiple`.
    """
    raw = text_series(values).reset_index(drop=True)
    kind = question.type
    index = raw.index
    log: list[pd.DataFrame] = []
    problems: list[pd.DataFrame] = []
    if kind in _TEXT_TYPES or (
        kind not in _SPECIAL_TYPES
        and kind not in _CODE_TEXT_TYPES
        and kind not in {"start", "end", "today"}
    ):
        stripped = raw.str.strip()
        value = stripped.mask(stripped.eq(""))
        reason = pd.Series(pd.NA, index=index, dtype="string")
        coded = value.copy()
        if kind == "text" and question.special:
            norm = normalise(raw)
            found, code_text, rule = _specials(norm, codes, question, instrument)
            hit = found.notna().to_numpy()
            reason = found
            value = value.mask(hit)
            coded = coded.mask(hit, code_text)
            log += _rule_log(table, raw, code_text, rule, question.name)
            problems += _not_accepted(table, found, question, instrument)
        return TypedColumn(value, reason, coded, np.zeros(0, np.int64), "text", log, problems)
    norm = normalise(raw)
    changed = (norm.fillna("") != raw.fillna("")).to_numpy() & ~blank(raw).to_numpy()
    if changed.any():
        positions = np.flatnonzero(changed)
        log.append(
            log_entries(
                table,
                positions,
                question.name,
                raw.to_numpy(dtype=object)[positions],
                norm.to_numpy(dtype=object)[positions],
                "normalised",
            )
        )
    empty = blank(norm).to_numpy()
    if kind in _CODE_TEXT_TYPES:
        value = norm.mask(empty)
        reason = pd.Series(pd.NA, index=index, dtype="string")
        return TypedColumn(
            value, reason, value.copy(), np.zeros(0, np.int64), "a code", log, problems
        )
    if kind in {"start", "end"} and times is not None:
        value = pd.Series(times.array, index=index)
        if not isinstance(value.dtype, pd.DatetimeTZDtype):
            value = pd.to_datetime(value).dt.tz_localize("UTC")
        value = value.dt.as_unit("us")
        reason = pd.Series(pd.NA, index=index, dtype="string")
        return TypedColumn(
            value, reason, norm.mask(empty), np.zeros(0, np.int64), "a date-time", log, problems
        )
    found, code_text, rule = _specials(norm, codes, question, instrument)
    special = found.notna().to_numpy()
    log += _rule_log(table, raw, code_text, rule, question.name)
    problems += _not_accepted(table, found, question, instrument)
    coded = norm.mask(special, code_text).mask(empty & ~special)
    remaining = norm.mask(special | empty)
    if kind in NUMERIC_TYPES:
        integer = kind == "integer"
        parsed = parse_numbers(remaining, integer=integer)
        numbers = parsed.values
        invalid = parsed.invalid.to_numpy() & ~special
        if parsed.regrouped.any():
            positions = np.flatnonzero(parsed.regrouped.to_numpy())
            plain = numbers.to_numpy(dtype=object)[positions]
            shown = [_number_str(v) for v in plain]
            log.append(
                log_entries(
                    table,
                    positions,
                    question.name,
                    norm.to_numpy(dtype=object)[positions],
                    shown,
                    "thousands_separator",
                )
            )
            coded = coded.mask(
                parsed.regrouped.to_numpy(), pd.Series(shown, index=positions).reindex(index)
            )
        value = numbers.round().astype("Int64") if integer else numbers.astype("Float64")
        expected = "a whole number" if integer else "a number"
    elif kind in {"select_one", "rank"}:
        value, invalid, expected = _select_one(remaining, question, instrument)
    elif kind in {"date", "today"}:
        fmt = "iso8601" if kind == "today" else rules.date_format(question.name)
        value, bad = parse_dates(remaining, fmt)
        invalid = bad.to_numpy()
        expected = f"a date in the declared format {fmt!r} ([dates] in cleaning.toml)"
    elif kind == "dateTime":
        value, bad, no_zone = parse_datetimes(remaining, rules.timezone)
        invalid = bad.to_numpy()
        expected = "an ISO 8601 date-time" + (
            " with a UTC offset (or declare timezone in cleaning.toml)" if no_zone.any() else ""
        )
    elif kind == "time":
        ok = remaining.str.fullmatch(_TIME).fillna(False).to_numpy(dtype=bool)
        invalid = ~ok & ~blank(remaining).to_numpy()
        value = remaining.mask(~ok)
        expected = "a time HH:MM[:SS]"
    else:  # pragma: no cover - every type is handled above
        raise AssertionError(kind)
    reason = found
    return TypedColumn(
        value=pd.Series(value, index=index).mask(special),
        reason=reason,
        coded=coded,
        invalid=np.flatnonzero(invalid),
        expected=expected,
        log=log,
        problems=problems,
    )


def _number_str(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() else repr(number)


def _select_one(
    values: pd.Series, question: Question, instrument: Instrument
) -> tuple[pd.Series, np.ndarray, str]:
    try:
        choices = instrument.choice_list(question.list_name or "")
    except KeyError:
        empty = blank(values).to_numpy()
        return values.mask(empty), np.zeros(len(values), bool), "a code"
    real = [c.name for c in choices.choices if not c.special]
    known = values.isin(real).fillna(False).to_numpy()
    invalid = ~known & ~blank(values).to_numpy()
    numeric = all(re.fullmatch(r"-?[0-9]+", c) for c in choices.codes)
    expected = f"a code of list {choices.name!r} ({', '.join(choices.codes[:12])}{'...' if len(choices.codes) > 12 else ''})"
    if numeric:
        value = parse_numbers(values.where(known), integer=True).values.round().astype("Int64")
    else:
        value = values.where(known).astype("string")
    return value, invalid, expected


def _rule_log(
    table: str, raw: pd.Series, code_text: pd.Series, rule: pd.Series, name: str
) -> list[pd.DataFrame]:
    entries = []
    for which in ("code_alias", "special_text"):
        hit = rule.eq(which).fillna(False).to_numpy()
        if hit.any():
            positions = np.flatnonzero(hit)
            entries.append(
                log_entries(
                    table,
                    positions,
                    name,
                    raw.to_numpy(dtype=object)[positions],
                    code_text.to_numpy(dtype=object)[positions],
                    which,
                )
            )
    return entries


def _not_accepted(
    table: str, reason: pd.Series, question: Question, instrument: Instrument
) -> list[pd.DataFrame]:
    accepted = _accepted(question, instrument)
    bad = reason.notna() & ~reason.isin(list(accepted)).fillna(False)
    bad = bad.fillna(False).to_numpy()
    if not bad.any():
        return []
    positions = np.flatnonzero(bad)
    keys = reason.to_numpy(dtype=object)[positions]
    allowed = sorted(accepted) or "none"
    return [
        problem_entries(
            table,
            positions,
            question.name,
            "special_code_not_accepted",
            "error",
            [
                f"{question.name}: special code {k!r} is not accepted (accepted: {allowed})"
                for k in keys
            ],
            value=keys,
        )
    ]
