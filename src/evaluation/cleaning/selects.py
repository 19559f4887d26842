"""Select-multiple questions rebuilt from the codes and the choice list, in every export encoding.

Platforms write a select_multiple as a space-separated list of codes (``1 3``) and often also
as one indicator column per option, each in its own way (DATA.md section 10, #15): KoboToolbox
``q/opt`` 1/0 and blank when not answered; ODK Central ``q/opt`` only for options seen, 0 even
when the question was skipped; SurveyCTO and ``odkmeta`` ``q_1``; an SPSS file from a survey firm
may hold only the indicators. The answer is rebuilt from the codes (or, when a file has no code
column, from the indicators), checked against the choice list (an unknown code is an error),
and written as the codes plus one ``Int64`` dummy per option, ``q__<code>`` (``q__<key>`` for
special options such as ``q__dont_know``): 1/0 when the question was answered, ``<NA>`` when it
was not (never 0 for "not asked"). Indicator columns present in the file are cross-checked and
every disagreement is flagged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.cleaning._ledger import log_entries, problem_entries
from evaluation.cleaning.questions import SpecialCodes
from evaluation.cleaning.values import normalise, special_text, text_series
from evaluation.instruments.model import Instrument, Question

__all__ = ["SelectMultiple", "dummy_name", "indicator_names", "type_select_multiple"]

_TRUE = frozenset({"1", "1.0", "true", "yes"})
_FALSE = frozenset({"0", "0.0", "false", "no"})


def dummy_name(question: str, code: str, special: str | None) -> str:
    """Return the name of an option's dummy column.

    Parameters
    ----------
    question : str
        The select_multiple question.
    code : str
        The option's code.
    special : str or None
        The option's special-code key, if it is one.

    Returns
    -------
    str
        ``<question>__<code>`` (a ``-`` in a code becomes ``m``), or ``<question>__<key>`` for
        special options.
    """
    return f"{question}__{special or code.replace('-', 'm')}"


def indicator_names(question: str, code: str, special: str | None = None) -> tuple[str, ...]:
    """Return the names an export may give an option's indicator column.

    Parameters
    ----------
    question : str
        The select_multiple question.
    code : str
        The option's code.
    special : str, optional
        The option's special-code key, if it is one (``dont_know``).

    Returns
    -------
    tuple of str
        ``<question>/<code>`` (KoboToolbox and ODK, as the loaders name them),
        ``<question>_<code>`` (SurveyCTO, ``odkmeta``) and ``<question>__<code>``; for a
        special option also ``<question>_<key>`` and ``<question>__<key>`` (SPSS and Stata
        names cannot hold the ``-`` of ``-99``, so survey firms name the dummy by its meaning).
    """
    names = (f"{question}/{code}", f"{question}_{code}", f"{question}__{code}")
    if special:
        names += (f"{question}_{special}", f"{question}__{special}")
    return names


@dataclass(frozen=True, slots=True)
class SelectMultiple:
    """A select_multiple question, typed.

    Attributes
    ----------
    value : pandas.Series
        ``string``: the selected codes (special options left out), space-separated in the order
        given; ``<NA>`` when blank or only special options were chosen.
    reason : pandas.Series
        ``string``: the special key when only special options were chosen.
    coded : pandas.Series
        ``string``: the codes as a form holds them (special options as their codes).
    dummies : pandas.DataFrame
        ``Int64`` 0/1 per option; ``<NA>`` where not answered.
    invalid : numpy.ndarray
        Positions holding codes that are not in the list (or unreadable indicators).
    expected : str
        What was expected, for the error message.
    unknown : Mapping
        Position to its unknown codes (for the error message).
    log : list of pandas.DataFrame
        Log entries (normalised lists, answers rebuilt from indicators).
    problems : list of pandas.DataFrame
        Indicator columns that disagree with the codes; exclusive options combined.
    """

    value: pd.Series
    reason: pd.Series
    coded: pd.Series
    dummies: pd.DataFrame
    invalid: np.ndarray
    expected: str
    unknown: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    log: list[pd.DataFrame] = field(default_factory=list)
    problems: list[pd.DataFrame] = field(default_factory=list)


def _indicator(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Read indicator cells as 1.0/0.0/NaN and flag the cells that are none of those."""
    norm = normalise(values).str.lower()
    is_true = norm.isin(list(_TRUE)).fillna(False).to_numpy()
    is_false = norm.isin(list(_FALSE)).fillna(False).to_numpy()
    empty = norm.fillna("").eq("").to_numpy()
    out = np.where(is_true, 1.0, np.where(is_false, 0.0, np.nan))
    return out, ~(is_true | is_false | empty)


def type_select_multiple(
    text: pd.Series | None,
    indicators: Mapping[str, pd.Series],
    question: Question,
    instrument: Instrument,
    codes: SpecialCodes,
    *,
    table: str,
    size: int,
) -> SelectMultiple:
    """Rebuild a select_multiple answer and its dummies, cross-checking indicator columns.

    Parameters
    ----------
    text : pandas.Series or None
        The space-separated codes as received (``None`` when the file has no such column).
    indicators : Mapping
        Option code to its indicator column in the file (any encoding above).
    question : Question
        The question.
    instrument : Instrument
        The questionnaire (its choice list).
    codes : SpecialCodes
        Special codes, aliases and texts.
    table : str
        The table, for log entries.
    size : int
        Number of rows.

    Returns
    -------
    SelectMultiple
        The typed answer.

    Notes
    -----
    Codes and aliases are read once per distinct answer. A whole answer listed under
    ``[text_codes]`` (``不知道``) becomes the list's option for that key. When both the codes and
    indicators are present, the codes win and each row where an indicator disagrees (a 1 for an
    option not in the codes, a 0 or blank for one that is, a 1 where the question is blank) is
    flagged ``select_multiple_mismatch``.
    """
    choices = instrument.choice_list(question.list_name or "")
    special_choice = {c.name: c.special for c in choices.choices if c.special}
    exclusive = {c.name for c in choices.choices if c.exclusive}
    index = pd.RangeIndex(size)
    log: list[pd.DataFrame] = []
    problems: list[pd.DataFrame] = []
    parsed_ind: dict[str, np.ndarray] = {}
    bad_ind = np.zeros(size, dtype=bool)
    for code, column in indicators.items():
        values, bad = _indicator(text_series(column).reset_index(drop=True))
        parsed_ind[code] = values
        bad_ind |= bad
    rebuilt = False
    if text is None:
        rebuilt = True
        tokens_by_row = np.full(size, "", dtype=object)
        for c in choices.codes:
            if c in parsed_ind:
                on = parsed_ind[c] == 1.0
                tokens_by_row[on] = np.where(
                    tokens_by_row[on] == "", c, tokens_by_row[on] + " " + c
                )
        raw = pd.Series(tokens_by_row, index=index, dtype="string")
    else:
        raw = text_series(text).reset_index(drop=True)
    norm = normalise(raw).str.replace(r"\s+", " ", regex=True)
    whole = special_text(norm, codes.texts)
    keyed = {k: v for v, k in special_choice.items()}
    codes_of, uniques = pd.factorize(norm.where(whole.isna(), "\0" + whole), use_na_sentinel=True)
    known_codes = set(choices.codes)
    per_unique = []
    # special codes the list does not offer: kept as the reason, flagged as not accepted
    outside: list[str | None] = []
    for u in uniques:
        if u.startswith("\0"):
            key = u[1:]
            if key in keyed:
                per_unique.append(([keyed[key]], (), True))
                outside.append(None)
            else:
                per_unique.append(([], (), True))
                outside.append(key)
            continue
        tokens, unknown, aliased, extra = [], [], False, None
        for t in dict.fromkeys(u.split()):
            if t in known_codes:
                tokens.append(t)
                continue
            try:
                number = float(t)
            except ValueError:
                number = None
            key = codes.by_number.get(number) if number is not None else None
            if key is not None and key in keyed:
                tokens.append(keyed[key])
                aliased = True
            elif key is not None:
                extra = extra or key
                aliased = True
            else:
                unknown.append(t)
        per_unique.append((tokens, tuple(unknown), aliased or " ".join(tokens) != u))
        outside.append(extra)
    n_unique = len(uniques)
    canonical = np.array([" ".join(t) for t, _, _ in per_unique] + [""], dtype=object)
    values_text = np.array(
        [" ".join(x for x in t if x not in special_choice) for t, _, _ in per_unique] + [""],
        dtype=object,
    )
    first_special = np.array(
        [
            next((special_choice[x] for x in t if x in special_choice), None)
            for t, _, _ in per_unique
        ]
        + [None],
        dtype=object,
    )
    outside_arr = np.array([*outside, None], dtype=object)
    unknown_u = [u for _, u, _ in per_unique] + [()]
    changed_u = np.array([c for _, _, c in per_unique] + [False], dtype=bool)
    take = np.where(codes_of >= 0, codes_of, n_unique)
    coded_arr = canonical[take]
    extra_arr = outside_arr[take]
    has_extra = np.array([k is not None for k in extra_arr], dtype=bool)
    code_of = {k: str(v) for k, v in codes.values.items()}
    coded_arr = np.where(
        has_extra & (coded_arr == ""),
        np.array([code_of.get(k, "") if k else "" for k in extra_arr], dtype=object),
        coded_arr,
    )
    answered = coded_arr != ""
    value_arr = values_text[take]
    reason_arr = np.where(has_extra & pd.isna(first_special[take]), extra_arr, first_special[take])
    only_special = answered & (value_arr == "")
    reason = pd.Series(np.where(only_special, reason_arr, None), index=index, dtype="string")
    if has_extra.any():
        positions = np.flatnonzero(has_extra)
        problems.append(
            problem_entries(
                table,
                positions,
                question.name,
                "special_code_not_accepted",
                "error",
                message=[
                    f"{question.name}: special code {k!r} is not an option of list {choices.name!r}"
                    for k in extra_arr[positions]
                ],
                value=extra_arr[positions],
            )
        )
    value = pd.Series(np.where(value_arr == "", None, value_arr), index=index, dtype="string")
    coded = pd.Series(np.where(answered, coded_arr, None), index=index, dtype="string")
    has_unknown = np.array([bool(u) for u in unknown_u], dtype=bool)[take]
    unknown_rows = {int(p): unknown_u[take[p]] for p in np.flatnonzero(has_unknown)}
    invalid_mask = np.zeros(size, dtype=bool)
    if unknown_rows:
        invalid_mask[list(unknown_rows)] = True
    invalid_mask |= bad_ind
    changed = changed_u[take] & ~rebuilt
    if changed.any():
        positions = np.flatnonzero(changed)
        log.append(
            log_entries(
                table,
                positions,
                question.name,
                raw.to_numpy(dtype=object)[positions],
                coded_arr[positions],
                rule="normalised",
            )
        )
    dummies = {}
    membership = {}
    for choice in choices.choices:
        member_u = np.array([choice.name in t for t, _, _ in per_unique] + [False], dtype=bool)
        hit = member_u[take]
        membership[choice.name] = hit
        column = pd.array(np.where(hit, 1, 0), dtype="Int64")
        column[~answered | (has_extra & (value_arr == ""))] = pd.NA
        dummies[dummy_name(question.name, choice.name, choice.special)] = column
    if parsed_ind and not rebuilt:
        mismatch = np.zeros(size, dtype=bool)
        which = np.full(size, "", dtype=object)
        for code, ind in parsed_ind.items():
            if code not in membership:
                continue
            expected = np.where(membership[code], 1.0, 0.0)
            wrong = np.where(answered, ind != expected, ind == 1.0)
            wrong &= ~bad_ind
            mismatch |= wrong
            which[wrong] = np.where(which[wrong] == "", code, which[wrong] + "," + code)
        if mismatch.any():
            positions = np.flatnonzero(mismatch)
            problems.append(
                problem_entries(
                    table,
                    positions,
                    question.name,
                    "select_multiple_mismatch",
                    "warning",
                    message=[
                        f"{question.name}: indicator columns of options {w} disagree with the "
                        "codes (the codes are kept)"
                        for w in which[positions]
                    ],
                )
            )
    if exclusive:
        count = np.zeros(size, dtype=np.int64)
        any_exclusive = np.zeros(size, dtype=bool)
        for code, hit in membership.items():
            count += hit
            if code in exclusive:
                any_exclusive |= hit
        combined = any_exclusive & (count > 1)
        if combined.any():
            positions = np.flatnonzero(combined)
            problems.append(
                problem_entries(
                    table,
                    positions,
                    question.name,
                    "exclusive_combined",
                    "error",
                    message=(
                        f"{question.name}: an exclusive option (none, don't know) is combined "
                        "with other options"
                    ),
                    value=coded_arr[positions],
                )
            )
    expected = f"codes of list {choices.name!r} ({', '.join(choices.codes)}) separated by spaces"
    if bad_ind.any():
        expected += "; indicator columns hold 1/0 or blank"
    return SelectMultiple(
        value=value,
        reason=reason,
        coded=coded,
        dummies=pd.DataFrame(dummies, index=index),
        invalid=np.flatnonzero(invalid_mask),
        expected=expected,
        unknown=unknown_rows,
        log=log,
        problems=problems,
    )
