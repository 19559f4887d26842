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

import contextlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from evaluation.cleaning._ledger import log_entries, problem_entries
from evaluation.cleaning.errors import DecisionsError
from evaluation.cleaning.rules import CleaningRules
from evaluation.cleaning.values import (
    NUMBER_PATTERN,
    fold,
    normalise_one,
    parse_dates,
    parse_datetimes,
)
from evaluation.instruments.model import NUMERIC_TYPES, Instrument, Question

__all__ = [
    "SpecialCodes",
    "TypedColumn",
    "describe_invalid",
    "show_value",
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
    def folded(self) -> dict[str, str]:  # numpydoc ignore=RT01
        """Text answers (case-folded and normalised) to their key."""
        return {fold(t): k for t, k in self.texts.items()}

    @property
    def own_texts(self) -> frozenset[str]:  # numpydoc ignore=RT01
        """The instrument's own codes as text (``-99``, ``-99.0``)."""
        return frozenset(text for v in self.values.values() for text in (str(v), repr(float(v))))

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
            msg = (
                f"cleaning.toml: code_aliases maps {code} to {key!r} but it is the code of "
                f"{by_number[number]!r}"
            )
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
        with contextlib.suppress(KeyError):
            accepted |= set(instrument.choice_list(question.list_name).special)
    return accepted


def show_value(value: object) -> str:
    """Quote a value for a message, never showing a long run of digits (it may be an ID).

    Parameters
    ----------
    value : object
        A cell or code.

    Returns
    -------
    str
        Its ``repr``, cut to 30 characters, runs of seven or more digits shown as
        ``<11 digits>``.
    """
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
    shown = ", ".join(show_value(v) for v in distinct[:limit])
    more = f" and {len(distinct) - limit} more" if len(distinct) > limit else ""
    return shown + more


def _distinct(values: pd.Series) -> tuple[np.ndarray, list[str]]:
    """Factorise a column: codes per row (-1 for ``<NA>``) and its distinct texts."""
    cells = values.to_numpy(dtype=object, na_value=None)
    codes, uniques = pd.factorize(cells, use_na_sentinel=True)
    return codes, [str(u) for u in uniques]


def _take(per_unique: list[object] | np.ndarray, codes: np.ndarray, missing: object) -> np.ndarray:
    """Per-row values from per-distinct values; ``missing`` where the cell is ``<NA>``."""
    table = np.empty(len(per_unique) + 1, dtype=object)
    table[: len(per_unique)] = per_unique
    table[-1] = missing
    return table[codes]


def _strings(values: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(values, dtype="string"))


def _special_key(
    norm: str, by_text: Mapping[str, str], own: frozenset[str], folded: Mapping[str, str]
) -> tuple[str | None, str | None]:
    """Return the special-code key of a normalised answer and the rule that read it, if any."""
    key = by_text.get(norm)
    if key is not None:
        return key, (None if norm in own else "code_alias")
    key = folded.get(norm.lower())
    if key is not None:
        return key, "special_text"
    return None, None


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
    Every rule runs once per distinct answer (a coded column of a million rows has a few dozen)
    and the results are spread back to the rows by their factor codes. Normalisation (NFKC,
    white space) applies to every type whose answers are codes or numbers, and each changed cell
    is logged with rule ``normalised``; free text keeps its characters (only surrounding white
    space is stripped, not logged). select_multiple is typed by
    :func:`evaluation.cleaning.selects.type_select_multiple`.
    """
    kind = question.type
    size = len(values)
    row_codes, uniques = _distinct(values)
    raw_rows = values.to_numpy(dtype=object, na_value=None)
    log: list[pd.DataFrame] = []
    problems: list[pd.DataFrame] = []
    textual = kind in _TEXT_TYPES or (
        kind not in _SPECIAL_TYPES | _CODE_TEXT_TYPES | {"start", "end", "today"}
    )
    if kind in {"start", "end"} and times is not None:
        value = pd.Series(times.array)
        if not isinstance(value.dtype, pd.DatetimeTZDtype):
            value = pd.to_datetime(value).dt.tz_localize("UTC")
        stripped = [u.strip() or None for u in uniques]
        return TypedColumn(
            value=value.dt.as_unit("us"),
            reason=pd.Series(pd.NA, index=range(size), dtype="string"),
            coded=_strings(_take(stripped, row_codes, None)),
            invalid=np.zeros(0, np.int64),
            expected="a date-time",
        )
    with_specials = not textual or (kind == "text" and bool(question.special))
    norm_u = [normalise_one(u) for u in uniques] if with_specials or not textual else uniques
    by_text, own, folded = codes.by_text, codes.own_texts, codes.folded
    reason_u: list[str | None] = [None] * len(uniques)
    rule_u: list[str | None] = [None] * len(uniques)
    if with_specials:
        for i, text in enumerate(norm_u):
            if text:
                reason_u[i], rule_u[i] = _special_key(text, by_text, own, folded)
    code_of = {k: str(v) for k, v in codes.values.items()}
    special_u = [r is not None for r in reason_u]
    reason = _strings(_take(reason_u, row_codes, None))
    for which in ("code_alias", "special_text"):
        hit_u = np.array([r == which for r in rule_u] + [False], dtype=bool)
        hit = hit_u[row_codes]
        if hit.any():
            positions = np.flatnonzero(hit)
            new = _take([code_of.get(r or "", "") for r in reason_u], row_codes, "")[positions]
            log.append(
                log_entries(table, positions, question.name, raw_rows[positions], new, rule=which)
            )
    problems += _not_accepted(table, reason, question, instrument)
    if textual:
        stripped = [u.strip() or None for u in uniques]
        value_u = [None if special_u[i] else stripped[i] for i in range(len(uniques))]
        coded_u = [
            code_of[reason_u[i]] if special_u[i] else stripped[i] for i in range(len(uniques))
        ]
        return TypedColumn(
            value=_strings(_take(value_u, row_codes, None)),
            reason=reason,
            coded=_strings(_take(coded_u, row_codes, None)),
            invalid=np.zeros(0, np.int64),
            expected="text",
            log=log,
            problems=problems,
        )
    changed_u = np.array([n != u for n, u in zip(norm_u, uniques, strict=True)] + [False], bool)
    changed = (
        changed_u[row_codes]
        & np.array([bool(u.strip()) for u in uniques] + [False], bool)[row_codes]
    )
    if changed.any():
        positions = np.flatnonzero(changed)
        norm_rows = _take(norm_u, row_codes, None)
        log.append(
            log_entries(
                table,
                positions,
                question.name,
                raw_rows[positions],
                norm_rows[positions],
                rule="normalised",
            )
        )
    coded_u: list[str | None] = [
        code_of[reason_u[i]] if special_u[i] else (norm_u[i] or None) for i in range(len(uniques))
    ]
    remaining = [None if special_u[i] or not norm_u[i] else norm_u[i] for i in range(len(uniques))]
    if kind in _CODE_TEXT_TYPES:
        return TypedColumn(
            value=_strings(_take(remaining, row_codes, None)),
            reason=reason,
            coded=_strings(_take(coded_u, row_codes, None)),
            invalid=np.zeros(0, np.int64),
            expected="a code",
            log=log,
            problems=problems,
        )
    invalid_u = np.zeros(len(uniques) + 1, dtype=bool)
    if kind in NUMERIC_TYPES:
        integer = kind == "integer"
        numbers = np.full(len(uniques), np.nan)
        regrouped: list[int] = []
        for i, text in enumerate(remaining):
            if text is None:
                continue
            number, grouped = _read_number(text, integer)
            if number is None:
                invalid_u[i] = True
            else:
                numbers[i] = number
                if grouped:
                    regrouped.append(i)
                    coded_u[i] = _number_str(number)
        if regrouped:
            hit = np.isin(row_codes, regrouped)
            positions = np.flatnonzero(hit)
            new = _take(coded_u, row_codes, None)[positions]
            norm_rows = _take(norm_u, row_codes, None)[positions]
            log.append(
                log_entries(
                    table, positions, question.name, norm_rows, new, rule="thousands_separator"
                )
            )
        column = np.append(numbers, np.nan)[row_codes]
        missing = np.isnan(column)
        if integer:
            value = pd.Series(
                pd.arrays.IntegerArray(np.where(missing, 0, column).astype(np.int64), missing)
            )
            expected = "a whole number"
        else:
            value = pd.Series(pd.arrays.FloatingArray(np.where(missing, 0.0, column), missing))
            expected = "a number"
    elif kind in {"select_one", "rank"}:
        value, invalid_u, expected = _select_one(remaining, row_codes, question, instrument)
    elif kind in {"date", "today"}:
        fmt = rules.date_format(question.name)  # today is written like the date questions
        parsed, bad = parse_dates(pd.Series(remaining, dtype="string"), fmt)
        invalid_u[:-1] = bad.to_numpy()
        value = pd.Series(
            _take(list(parsed.to_numpy()), row_codes, np.datetime64("NaT")).astype("datetime64[us]")
        )
        expected = f"a date in the declared format {fmt!r} ([dates] in cleaning.toml)"
    elif kind == "dateTime":
        parsed, bad, no_zone = parse_datetimes(pd.Series(remaining, dtype="string"), rules.timezone)
        invalid_u[:-1] = bad.to_numpy()
        value = pd.Series(pd.DatetimeIndex(parsed).take(np.where(row_codes >= 0, row_codes, 0)))
        value = value.mask(row_codes < 0).astype("datetime64[us, UTC]")
        expected = "an ISO 8601 date-time" + (
            " with a UTC offset (or declare timezone in cleaning.toml)" if no_zone.any() else ""
        )
    elif kind == "time":
        ok = [t is not None and re.fullmatch(_TIME, t) is not None for t in remaining]
        invalid_u[:-1] = [t is not None and not good for t, good in zip(remaining, ok, strict=True)]
        value = _strings(
            _take(
                [t if good else None for t, good in zip(remaining, ok, strict=True)],
                row_codes,
                None,
            )
        )
        expected = "a time HH:MM[:SS]"
    else:  # pragma: no cover - every type is handled above
        raise AssertionError(kind)
    return TypedColumn(
        value=value,
        reason=reason,
        coded=_strings(_take(coded_u, row_codes, None)),
        invalid=np.flatnonzero(invalid_u[row_codes]),
        expected=expected,
        log=log,
        problems=problems,
    )


_NUMBER_RE = re.compile(NUMBER_PATTERN)
_THOUSANDS_RE = re.compile(r"[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]*)?")


def _read_number(text: str, integer: bool) -> tuple[float | None, bool]:
    """Read a normalised answer as a number (``None`` if it is not one); say if regrouped."""
    grouped = _THOUSANDS_RE.fullmatch(text) is not None
    plain = text.replace(",", "") if grouped else text
    if _NUMBER_RE.fullmatch(plain) is None:
        return None, False
    number = float(plain)
    if integer and (number != round(number) or abs(number) > 2**53):
        return None, False
    return number, grouped


def _number_str(value: object) -> str:
    number = float(value)  # type: ignore[arg-type]
    return str(int(number)) if number.is_integer() else repr(number)


def _select_one(
    remaining: list[str | None], row_codes: np.ndarray, question: Question, instrument: Instrument
) -> tuple[pd.Series, np.ndarray, str]:
    invalid_u = np.zeros(len(remaining) + 1, dtype=bool)
    try:
        choices = instrument.choice_list(question.list_name or "")
    except KeyError:
        return _strings(_take(remaining, row_codes, None)), invalid_u, "a code"
    real = {c.name for c in choices.choices if not c.special}
    numeric = all(re.fullmatch(r"-?[0-9]+", c) for c in choices.codes)
    known = [t if t in real else None for t in remaining]
    invalid_u[:-1] = [t is not None and t not in real for t in remaining]
    listed = ", ".join(choices.codes[:12]) + ("..." if len(choices.codes) > 12 else "")
    expected = f"a code of list {choices.name!r} ({listed})"
    if not numeric:
        return _strings(_take(known, row_codes, None)), invalid_u, expected
    numbers = np.array([np.nan if t is None else float(t) for t in known] + [np.nan])[row_codes]
    missing = np.isnan(numbers)
    value = pd.Series(
        pd.arrays.IntegerArray(np.where(missing, 0, numbers).astype(np.int64), missing)
    )
    return value, invalid_u, expected


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
            message=[
                f"{question.name}: special code {k!r} is not accepted (accepted: {allowed})"
                for k in keys
            ],
            value=keys,
        )
    ]
