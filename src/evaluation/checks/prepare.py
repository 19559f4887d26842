"""A raw round made ready for the checks: normalised text, special codes, skip logic, times.

Every check starts from a :class:`PreparedRound`, built once per round by
:func:`prepare_round` (the checks also accept a :class:`~evaluation.loaders.RawRound` and prepare
it themselves). Preparing changes nothing in the raw data; it computes, column by column:

- the text as received (``shown``), for display;
- the normalised text (``frame``): NFKC (full-width digits and signs become ASCII), surrounding
  and zero-width spaces removed, a leading dash or minus sign before a digit written ``-``; cells
  recognised as a special code written as the code (``-99``), so that skip logic and
  constraints see what the form would have stored;
- the status of every answer: empty, answered, or one of the instrument's special codes
  (recognised from their values, ``-99`` / ``-99.0`` / ``－９９``, their labels in every
  language, ``不知道``, and the aliases in ``checks.toml``);
- whether each question was asked (its skip logic and that of its groups) and required;
- the respondent key, submission, enumerator, local start, end and submission times and day.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from evaluation.checks.config import CheckConfig
from evaluation.checks.findings import Redactor, finding_frame
from evaluation.checks.plan import MAIN, FormPlan, plan_form
from evaluation.instruments.expressions import (
    Expression,
    ExpressionError,
    evaluate_frame,
    holds_frame,
    parse,
)
from evaluation.loaders.model import RawRound

__all__ = [
    "ANSWERED",
    "EMPTY",
    "PreparedRound",
    "PreparedTable",
    "as_text",
    "normalise_text",
    "prepare_round",
    "prepared",
    "submission_order",
]

#: Status of an empty answer.
EMPTY = -1
#: Status of an answer that is not a special code.
ANSWERED = 0
_ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
_DASH_BEFORE_DIGIT = re.compile("^[\u2212\u2010-\u2015\ufe58]\\s*(?=\\d)")
_SIGN_SPACE = re.compile(r"^([+-])\s+(?=\d)")
_POSITION = re.compile(r"\[(\d+)\]$")
_CLOCK_FUNCTIONS = frozenset({"today", "now"})


def as_text(values: pd.Series) -> pd.Series:
    """Return any column as text, as a text export would hold it.

    Parameters
    ----------
    values : pandas.Series
        Text (CSV, XLSX and platform exports) or typed values (SPSS, Stata).

    Returns
    -------
    pandas.Series
        Python strings on the same index: missing values ``""``, integral numbers without a
        decimal point (``25.0`` is ``"25"``), other numbers in their shortest form, date-times in
        ISO 8601.
    """
    if pd.api.types.is_bool_dtype(values):
        return values.map({True: "1", False: "0"}).fillna("").astype(object)
    if pd.api.types.is_numeric_dtype(values):
        numbers = values.to_numpy(dtype=float)
        text = np.full(len(numbers), "", dtype=object)
        finite = np.isfinite(numbers)
        integral = finite & (np.floor(numbers) == numbers) & (np.abs(numbers) < 2**53)
        text[integral] = numbers[integral].astype(np.int64).astype(str)
        other = finite & ~integral
        text[other] = [repr(float(x)) for x in numbers[other]]
        return pd.Series(text, index=values.index, dtype=object)
    if pd.api.types.is_datetime64_any_dtype(values):
        text = values.dt.strftime("%Y-%m-%dT%H:%M:%S")
        return text.fillna("").astype(object)
    result = values.astype(object).where(values.notna(), "")
    if pd.api.types.is_string_dtype(values.dtype) and not pd.api.types.is_object_dtype(values):
        return result
    return result.map(lambda v: v if isinstance(v, str) else str(v)).astype(object)


def _normal(text: str) -> str:
    if not text.isascii():
        text = _ZERO_WIDTH.sub("", unicodedata.normalize("NFKC", text))
        text = _DASH_BEFORE_DIGIT.sub("-", text.strip())
    text = text.strip()
    return _SIGN_SPACE.sub(r"\1", text) if text[:1] in "+-" else text


def normalise_text(values: pd.Series) -> pd.Series:
    """Normalise answers typed as text so that equal answers compare equal.

    Parameters
    ----------
    values : pandas.Series
        Answers as text (``""`` for empty).

    Returns
    -------
    pandas.Series
        NFKC-normalised (``２５`` is ``25``, ``－９９`` is ``-99``), zero-width characters removed,
        surrounding white space stripped, a leading minus sign or dash before a digit written
        ``-`` and a space after a sign removed (``- 99`` is ``-99``).

    Notes
    -----
    Runs once per distinct value: callers pass the distinct values of a column.
    """
    return pd.Series([_normal(str(v)) for v in values], index=values.index, dtype=object)


@dataclass(frozen=True, slots=True)
class PreparedTable:
    """One table of a prepared round (the main table or a repeat).

    Attributes
    ----------
    name : str
        ``main`` or the repeat's name.
    frame : pandas.DataFrame
        Normalised text with special codes written as codes (what expressions read).
    shown : pandas.DataFrame
        The text as received (for display, after redaction).
    status : Mapping
        Variable to an ``int8`` array: :data:`EMPTY`, :data:`ANSWERED`, or ``k`` for the k-th
        special code of the instrument.
    relevant : Mapping
        Variable to a boolean array (asked on that row), or ``None`` when its skip logic could
        not be evaluated (the reason is in ``PreparedRound.notes``).
    required : Mapping
        Variable to a boolean array (an answer was required on that row, when asked).
    parent : numpy.ndarray
        Position in the main table of each row's submission.
    ids : numpy.ndarray
        What identifies each row in findings: the submission key, or the repeat instance key.
    numbers : Mapping
        Numeric variable to its regular answers as floats (NaN for empty answers, special
        codes and text that is not a number).
    """

    name: str
    frame: pd.DataFrame
    shown: pd.DataFrame
    status: Mapping[str, np.ndarray]
    relevant: Mapping[str, np.ndarray | None]
    required: Mapping[str, np.ndarray]
    parent: np.ndarray
    ids: np.ndarray
    numbers: Mapping[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Freeze the mappings."""
        for name in ("status", "relevant", "required", "numbers"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    def __len__(self) -> int:
        """Return the number of rows."""
        return len(self.frame)


@dataclass(frozen=True, slots=True)
class PreparedRound:
    """A raw round with everything the checks compute once.

    Attributes
    ----------
    raw : RawRound
        The round as read.
    plan : FormPlan
        What to check.
    main : PreparedTable
        The main table.
    repeats : Mapping
        Repeat name to its prepared table.
    key : numpy.ndarray
        Respondent key of each submission (normalised text, ``""`` when absent).
    submission : numpy.ndarray
        Submission key (``meta.key``) of each submission.
    enumerator : numpy.ndarray
        Enumerator ID of each submission (``""`` when absent).
    start, end, submitted : pandas.Series
        Local start and end of the interview and the submission time (time zone of the
        configuration; NaT when unknown).
    day : numpy.ndarray
        Local day of the interview (``YYYY-MM-DD``; of the submission when the start is
        unknown; ``""`` when neither is known).
    consented : numpy.ndarray or None
        Whether each submission records consent (``None`` without a consent question).
    completed : numpy.ndarray
        Whether each submission is a completed interview (consent given, or every submission
        when the form has no consent question).
    redactor : Redactor
        Masks the round's names and phones in any text shown.
    notes : tuple of (str, str, str)
        ``(variable, rule, message)`` about what could not be checked (missing columns, skip
        logic that cannot be evaluated).
    """

    raw: RawRound
    plan: FormPlan
    main: PreparedTable
    repeats: Mapping[str, PreparedTable]
    key: np.ndarray
    submission: np.ndarray
    enumerator: np.ndarray
    start: pd.Series
    end: pd.Series
    submitted: pd.Series
    day: np.ndarray
    consented: np.ndarray | None
    completed: np.ndarray
    redactor: Redactor
    notes: tuple[tuple[str, str, str], ...] = field(default=())

    def __post_init__(self) -> None:
        """Freeze the mapping."""
        object.__setattr__(self, "repeats", MappingProxyType(dict(self.repeats)))

    @property
    def label(self) -> str:  # numpydoc ignore=RT01
        """The form label, ``family/round``."""
        return self.plan.label

    def table(self, name: str) -> PreparedTable:
        """Return a prepared table by name.

        Parameters
        ----------
        name : str
            ``main`` or a repeat.

        Returns
        -------
        PreparedTable
            The table.
        """
        return self.main if name == MAIN else self.repeats[name]

    def tables(self) -> list[PreparedTable]:
        """Return the main table and the repeats.

        Returns
        -------
        list of PreparedTable
            Main first.
        """
        return [self.main, *self.repeats.values()]

    def shown(self, table: PreparedTable, variable: str, rows: np.ndarray) -> np.ndarray:
        """Return values as the supervisor may see them: redacted, direct identifiers hidden.

        Parameters
        ----------
        table : PreparedTable
            The table holding the variable.
        variable : str
            The variable.
        rows : numpy.ndarray
            Row positions in ``table``.

        Returns
        -------
        numpy.ndarray
            ``[redacted]`` for questions flagged ``pii: direct``; otherwise the text as received
            with phone numbers, ID numbers and the round's names masked.
        """
        question = self.plan.variables.get(variable)
        if question is not None and question.question.pii == "direct":
            return np.full(len(rows), "[redacted]", dtype=object)
        if variable not in table.shown.columns:
            return np.full(len(rows), "", dtype=object)
        values = table.shown[variable].to_numpy(dtype=object)[rows]
        return self.redactor.values(values)

    def findings(
        self,
        check: str,
        table: PreparedTable,
        rows: np.ndarray,
        *,
        variable: str | np.ndarray,
        rule: str | np.ndarray,
        severity: str | np.ndarray,
        message: str | np.ndarray,
        value: np.ndarray | None = None,
    ) -> pd.DataFrame:
        """Build findings about rows of a table.

        Parameters
        ----------
        check : str
            The check's name.
        table : PreparedTable
            The table the rows belong to.
        rows : numpy.ndarray
            Row positions in ``table``.
        variable, rule, severity, message : str or numpy.ndarray
            One value for all rows or one per row.
        value : numpy.ndarray, optional
            The values shown (default: the variable's values, see :meth:`shown`).

        Returns
        -------
        pandas.DataFrame
            Findings with the respondent key, submission and enumerator of each row.
        """
        rows = np.asarray(rows, dtype=int)
        parent = table.parent[rows]
        if value is None and isinstance(variable, str):
            value = self.shown(table, variable, rows)
        elif value is None:
            variable = np.asarray(variable, dtype=object)
            value = np.empty(len(rows), dtype=object)
            for name in np.unique(variable):
                at = variable == name
                value[at] = self.shown(table, str(name), rows[at])
        return finding_frame(
            check=check,
            form=self.label,
            key=self.key[parent],
            submission=table.ids[rows],
            enumerator=self.enumerator[parent],
            variable=variable,
            value=value,
            rule=rule,
            severity=severity,
            message=message,
        )

    def rows_of(self, table: PreparedTable, values: np.ndarray) -> np.ndarray:
        """Map a per-submission array onto the rows of a table.

        Parameters
        ----------
        table : PreparedTable
            The main table or a repeat.
        values : numpy.ndarray
            One value per submission (such as ``key``).

        Returns
        -------
        numpy.ndarray
            One value per row of ``table``.
        """
        return values[table.parent]


# --------------------------------------------------------------------------------------------
# Special codes
# --------------------------------------------------------------------------------------------


def _special_maps(plan: FormPlan) -> tuple[dict[str, int], dict[float, int]]:
    texts: dict[str, int] = {}
    values: dict[float, int] = {}
    config = plan.config
    for number, code in enumerate(plan.special_codes, start=1):
        values[float(code.value)] = number
        for _, label in code.label.items:
            texts.setdefault(label.strip().casefold(), number)
        for alias in config.special_aliases.get(code.key, ()):
            normalised = normalise_text(pd.Series([alias])).iloc[0]
            number_value = pd.to_numeric(pd.Series([normalised]), errors="coerce").iloc[0]
            if pd.notna(number_value):
                values.setdefault(float(number_value), number)
            else:
                texts.setdefault(normalised.casefold(), number)
    return texts, values


def _code(text: str, texts: dict[str, int], values: dict[float, int]) -> int:
    if not text:
        return EMPTY
    code = texts.get(text.casefold())
    if code is None and text[:1] in "+-.0123456789" and "_" not in text:
        try:
            code = values.get(float(text))
        except ValueError:
            code = None
    return code or ANSWERED


def _status(text: pd.Series, texts: dict[str, int], values: dict[float, int]) -> np.ndarray:
    """Status of each (distinct) normalised answer: empty, answered or a special code's number."""
    return np.array([_code(t, texts, values) for t in text.tolist()], dtype=np.int8)


# --------------------------------------------------------------------------------------------
# Skip logic
# --------------------------------------------------------------------------------------------


def _holds(
    expression: Expression, frame: pd.DataFrame, days: np.ndarray, **kwargs: object
) -> np.ndarray:
    """Evaluate a condition on every row; ``today()`` is the row's interview day."""
    if not expression.functions & _CLOCK_FUNCTIONS:
        return holds_frame(expression, frame, **kwargs).to_numpy(dtype=bool)
    result = np.zeros(len(frame), dtype=bool)
    for day in np.unique(days):
        rows = np.flatnonzero(days == day)
        if not day:
            raise ExpressionError(f"{expression.source!r} needs today() and the day is unknown")
        part = frame.iloc[rows]
        extra = {k: v.iloc[rows] if isinstance(v, pd.Series) else v for k, v in kwargs.items()}
        result[rows] = holds_frame(
            expression, part, today=dt.date.fromisoformat(day), **extra
        ).to_numpy(dtype=bool)
    return result


def evaluate_condition(
    text: str, frame: pd.DataFrame, days: np.ndarray, **kwargs: object
) -> np.ndarray:
    """Evaluate a condition on a prepared frame.

    Parameters
    ----------
    text : str
        The XPath condition.
    frame : pandas.DataFrame
        A prepared frame (normalised text).
    days : numpy.ndarray
        The interview day of each row (for ``today()``).
    **kwargs : object
        Passed to :func:`evaluation.instruments.expressions.holds_frame` (``current``...).

    Returns
    -------
    numpy.ndarray
        Booleans.

    Raises
    ------
    ExpressionError
        When the condition references a column the frame does not have, or cannot be
        evaluated.
    """
    expression = parse(text)
    missing = sorted(n for n in expression.references if n not in frame.columns)
    if missing:
        raise ExpressionError(f"{text!r}: no column {missing[0]!r} in the data")
    return _holds(expression, frame, days, **kwargs)


def _conditions(
    plan: FormPlan, table: str, frame: pd.DataFrame, days: np.ndarray, kwargs: dict
) -> tuple[dict[str, np.ndarray | None], dict[str, np.ndarray], list[tuple[str, str, str]]]:
    cache: dict[str, np.ndarray | str] = {}
    relevant: dict[str, np.ndarray | None] = {}
    required: dict[str, np.ndarray] = {}
    notes = []

    def condition(text: str) -> np.ndarray | str:
        if text not in cache:
            try:
                cache[text] = evaluate_condition(text, frame, days, **kwargs)
            except ExpressionError as err:
                cache[text] = str(err)
        return cache[text]

    for v in plan.variables.values():
        if v.table != table or v.name not in frame.columns:
            continue
        asked = np.ones(len(frame), dtype=bool)
        problem = None
        for text in v.relevance:
            value = condition(text)
            if isinstance(value, str):
                problem = value
                break
            asked &= value
        relevant[v.name] = None if problem else asked
        if problem:
            notes.append((v.name, "skip_logic_not_evaluated", f"skip logic not checked: {problem}"))
        rule = v.question.required
        if rule is None or rule.strip().lower() in {"", "no", "false", "false()"}:
            required[v.name] = np.zeros(len(frame), dtype=bool)
        elif rule.strip().lower() in {"yes", "true", "true()"}:
            required[v.name] = np.ones(len(frame), dtype=bool)
        else:
            value = condition(rule)
            required[v.name] = (
                value if not isinstance(value, str) else np.zeros(len(frame), dtype=bool)
            )
    return relevant, required, notes


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def _calculation_text(values: pd.Series) -> pd.Series:
    if values.dtype == bool:
        return values.map({True: "true", False: "false"}).astype(object)
    if pd.api.types.is_float_dtype(values):
        return as_text(values)
    return values.astype(object).map(lambda v: "" if v is None else str(v))


def _rebuild_multiple(frame: pd.DataFrame, name: str, codes: tuple[str, ...]) -> pd.Series | None:
    columns = [c for c in codes if f"{name}/{c}" in frame.columns]
    if not columns:
        return None
    picked = [np.where(frame[f"{name}/{c}"].to_numpy(dtype=object) == "1", c, "") for c in columns]
    joined = pd.DataFrame(np.column_stack(picked)).agg(
        lambda r: " ".join(x for x in r if x), axis=1
    )
    return pd.Series(joined.to_numpy(dtype=object), index=frame.index, dtype=object)


def _prepare_column(
    text: pd.Series,
    texts: dict[str, int],
    values: dict[float, int],
    codes: dict[int, str],
    numeric: bool,
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Normalise one column: work on its distinct values, then spread them back to the rows."""
    positions, uniques = pd.factorize(text.to_numpy(dtype=object))
    normal = normalise_text(pd.Series(np.asarray(uniques, dtype=object), dtype=object))
    state = _status(normal, texts, values)
    canonical = normal.to_numpy(dtype=object).copy()
    special = state > ANSWERED
    canonical[special] = [codes[int(k)] for k in state[special]]
    number = None
    if numeric:
        parsed = pd.to_numeric(pd.Series(canonical, dtype=object), errors="coerce")
        number = np.where(state == ANSWERED, parsed.to_numpy(dtype=float), np.nan)[positions]
    return canonical[positions], state[positions], number


def _prepare_columns(
    plan: FormPlan,
    table: str,
    data: pd.DataFrame,
    texts: dict[str, int],
    values: dict[float, int],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray], dict[str, np.ndarray]]:
    shown = {c: as_text(data[c]) for c in data.columns}
    frame: dict[str, object] = {}
    status: dict[str, np.ndarray] = {}
    numbers: dict[str, np.ndarray] = {}
    codes = {i: str(c.value) for i, c in enumerate(plan.special_codes, start=1)}
    for column, text in shown.items():
        variable = plan.variables.get(column)
        if variable is None or variable.table != table:
            frame[column] = text.to_numpy(dtype=object)
            continue
        numeric = variable.question.is_numeric
        frame[column], status[column], number = _prepare_column(text, texts, values, codes, numeric)
        if number is not None:
            numbers[column] = number
    for v in plan.variables.values():
        if v.table == table and v.type == "select_multiple" and v.name not in frame:
            rebuilt = _rebuild_multiple(pd.DataFrame(frame, index=data.index), v.name, v.codes)
            if rebuilt is not None:
                shown[v.name] = rebuilt
                frame[v.name], status[v.name], _ = _prepare_column(
                    rebuilt, texts, values, codes, False
                )
    index = data.index
    return (
        pd.DataFrame(frame, index=index, dtype=object),
        pd.DataFrame(shown, index=index, dtype=object),
        status,
        numbers,
    )


def _add_calculations(plan: FormPlan, table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Compute calculations the export lacks, in form order, when their inputs are present."""
    added = {}
    for v in plan.variables.values():
        q = v.question
        if v.table != table or q.type != "calculate" or q.name in frame or not q.calculation:
            continue
        try:
            expression = parse(q.calculation)
            if expression.functions & (_CLOCK_FUNCTIONS | {"pulldata", "position", "random"}):
                continue
            current = frame.assign(**added) if added else frame
            if not expression.references <= set(current.columns):
                continue
            added[q.name] = _calculation_text(evaluate_frame(expression, current))
        except ExpressionError:
            continue
    return frame.assign(**added) if added else frame


def _local(times: pd.Series, timezone: str) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(times):
        return pd.Series(pd.NaT, index=times.index, dtype=f"datetime64[ns, {timezone}]")
    if times.dt.tz is None:
        times = times.dt.tz_localize("UTC")
    return times.dt.tz_convert(timezone)


def _column(frame: pd.DataFrame, name: str | None) -> np.ndarray:
    if name is None or name not in frame.columns:
        return np.full(len(frame), "", dtype=object)
    return frame[name].to_numpy(dtype=object)


def _repeat_table(
    plan: FormPlan,
    name: str,
    *,
    data: pd.DataFrame,
    main: pd.DataFrame,
    main_rows: pd.Index,
    day: np.ndarray,
    maps: tuple[dict[str, int], dict[float, int]],
) -> tuple[PreparedTable, list[tuple[str, str, str]]]:
    links = ("submission_row", "instance_id", "parent_key", "key", "source_row")
    own = data.drop(columns=[c for c in links if c in data.columns])
    frame, shown, status, numbers = _prepare_columns(plan, name, own, *maps)
    parent = main_rows.get_indexer(pd.to_numeric(data["submission_row"], errors="coerce"))
    linked = parent >= 0
    frame, shown = frame[linked], shown[linked]
    status = {k: v[linked] for k, v in status.items()}
    numbers = {k: v[linked] for k, v in numbers.items()}
    parent = parent[linked]
    context = main.iloc[parent].reset_index(drop=True)
    context.index = frame.index
    frame = pd.concat(
        [frame, context[[c for c in context.columns if c not in frame.columns]]], axis=1
    )
    frame = _add_calculations(plan, name, frame)
    keys = as_text(data["key"])[linked].to_numpy(dtype=object) if "key" in data else None
    position = None
    if keys is not None:
        found = pd.Series(keys).str.extract(_POSITION, expand=False)
        position = pd.Series(pd.to_numeric(found, errors="coerce").to_numpy(), index=frame.index)
    relevant, required, notes = _conditions(
        plan, name, frame, day[parent], {"position": position} if position is not None else {}
    )
    ids = keys if keys is not None else np.array([f"{name}[{i}]" for i in range(len(frame))])
    table = PreparedTable(name, frame, shown, status, relevant, required, parent, ids, numbers)
    return table, notes


def prepare_round(
    raw: RawRound, config: CheckConfig | None = None, *, plan: FormPlan | None = None
) -> PreparedRound:
    """Prepare a raw round for the checks.

    Parameters
    ----------
    raw : RawRound
        The round as read by :mod:`evaluation.loaders`.
    config : CheckConfig, optional
        The settings (defaults when omitted).
    plan : FormPlan, optional
        A plan made for this round's instrument (made from ``config`` when omitted).

    Returns
    -------
    PreparedRound
        Normalised text, statuses, skip logic, keys and times.

    Notes
    -----
    Reads ``raw.data``, ``raw.meta`` and ``raw.repeats``; changes nothing. Unit: submission
    (main table) and repeat instance. Key: ``meta.key`` (the respondent key may repeat: that is
    what the duplicate check looks for). Calculations the export lacks are computed from the
    form when their inputs are present, so that skip logic reading them can be checked.
    """
    config = config or CheckConfig()
    plan = plan or plan_form(raw.instrument, config, raw.round)
    maps = _special_maps(plan)
    frame, shown, status, numbers = _prepare_columns(plan, MAIN, raw.data, *maps)
    notes: list[tuple[str, str, str]] = []
    columns = {}
    for name, what, default in (
        (config.key, "key", plan.key),
        (config.enumerator, "enumerator", plan.enumerator),
    ):
        columns[what] = name if name is not None and name in frame.columns else default
        if name is not None and name not in frame.columns:
            notes.append(
                (
                    name,
                    "configured_column_missing",
                    f"[settings] {what} = {name!r} is not a column of this form: using {default!r}",
                )
            )
    frame = _add_calculations(plan, MAIN, frame)
    meta = raw.meta
    start = _local(meta["start"], config.timezone)
    end = _local(meta["end"], config.timezone)
    submitted = _local(meta["submitted_at"], config.timezone)
    when = start.where(start.notna(), submitted)
    day = when.dt.strftime("%Y-%m-%d").fillna("").to_numpy(dtype=object)
    relevant, required, main_notes = _conditions(plan, MAIN, frame, day, {})
    notes += main_notes
    n = len(frame)
    main = PreparedTable(
        MAIN,
        frame,
        shown,
        status,
        relevant,
        required,
        np.arange(n),
        meta["key"].astype(object).to_numpy(dtype=object),
        numbers,
    )
    repeats = {}
    main_rows = pd.Index(meta["source_row"].to_numpy())
    for name, data in raw.repeats.items():
        if "submission_row" not in data.columns:
            notes.append(("", "repeat_not_linked", f"repeat {name!r} has no submission_row"))
            continue
        repeats[name], more = _repeat_table(
            plan, name, data=data, main=frame, main_rows=main_rows, day=day, maps=maps
        )
        notes += more
    for column, what in ((columns["key"], "respondent key"), (columns["enumerator"], "enumerator")):
        if column is None or column not in frame.columns:
            notes.append(
                (column or "", "column_missing", f"no {what} column: findings show it empty")
            )
    consented = None
    if plan.consent is not None and plan.consent in frame.columns:
        consented = frame[plan.consent].isin(config.consent_yes).to_numpy(dtype=bool)
    direct = [
        v.name
        for v in plan.variables.values()
        if v.question.pii == "direct" and v.name in shown.columns
    ]
    planted = [value for name in direct for value in shown[name].tolist() if value]
    return PreparedRound(
        raw=raw,
        plan=plan,
        main=main,
        repeats=repeats,
        key=_column(frame, columns["key"]),
        submission=main.ids,
        enumerator=_column(frame, columns["enumerator"]),
        start=start,
        end=end,
        submitted=submitted,
        day=day,
        consented=consented,
        completed=consented if consented is not None else np.ones(n, dtype=bool),
        redactor=Redactor.of(planted),
        notes=tuple(notes),
    )


def submission_order(round_: PreparedRound) -> np.ndarray:
    """Return the submissions in the order they arrived.

    Parameters
    ----------
    round_ : PreparedRound
        The round.

    Returns
    -------
    numpy.ndarray
        Positions in the main table sorted by submission time, then start time, then position
        in the file (unknown times last).
    """
    frame = pd.DataFrame(
        {
            "submitted": round_.submitted.reset_index(drop=True),
            "start": round_.start.reset_index(drop=True),
            "row": np.arange(len(round_.main)),
        }
    )
    ordered = frame.sort_values(["submitted", "start", "row"], kind="stable", na_position="last")
    return ordered["row"].to_numpy()


def prepared(data: RawRound | PreparedRound, config: CheckConfig | None = None) -> PreparedRound:
    """Return a prepared round, preparing a raw one.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    PreparedRound
        The prepared round (``data`` itself when already prepared).
    """
    if isinstance(data, PreparedRound):
        return data
    return prepare_round(data, config)
