"""Skip logic, required answers, constraints and ranges, evaluated on whole columns.

The form's own expressions decide (through :func:`evaluation.instruments.expressions.holds_frame`,
which evaluates an XPath condition over every row at once): a question is relevant when its own
``relevant`` and those of every enclosing group and repeat hold. Both directions of a skip-logic
violation are flagged (DATA.md section 10, #14): an answer where the question was not relevant
(kept, and blanked only by a reviewed decision) and a required answer missing where it was. Blank
answers get their reason: ``skipped`` (not relevant) or ``missing`` (relevant but blank). Hard
ranges and constraints that fail are errors to review, soft ranges warnings; none changes a value.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from evaluation.cleaning._ledger import problem_entries
from evaluation.instruments.expressions import ExpressionError, holds_frame, parse
from evaluation.instruments.model import Question, format_number
from evaluation.loaders.columns import TableSpec

__all__ = ["Answer", "Relevance", "check_answers", "relevance"]

_ALWAYS = frozenset({"yes", "true", "true()"})


@dataclass(frozen=True, slots=True)
class Relevance:
    """Where each question of a table was relevant.

    Attributes
    ----------
    masks : Mapping
        Question name to a boolean array (True: relevant on that row).
    problems : list of pandas.DataFrame
        Expressions that could not be evaluated (treated as relevant, flagged).
    """

    masks: Mapping[str, np.ndarray]
    problems: list[pd.DataFrame]


class _Evaluator:
    """Evaluates each distinct expression once, reporting those that cannot be evaluated."""

    def __init__(
        self, frame: pd.DataFrame, table: str, today: dt.date | None, position: pd.Series | None
    ) -> None:
        self.frame = frame
        self.table = table
        self.today = today
        self.position = position
        self.cache: dict[tuple[str, str | None], np.ndarray] = {}
        self.problems: list[pd.DataFrame] = []

    def holds(self, expression: str, subject: str, current: str | None = None) -> np.ndarray:
        key = (expression, current)
        if key not in self.cache:
            try:
                kwargs = {"current": current} if current is not None else {}
                if self.position is not None and "position(" in expression:
                    kwargs["position"] = self.position
                result = holds_frame(parse(expression), self.frame, today=self.today, **kwargs)
                self.cache[key] = result.to_numpy(dtype=bool)
            except ExpressionError as err:
                self.problems.append(
                    problem_entries(
                        self.table,
                        None,
                        subject,
                        "check_not_evaluated",
                        "warning",
                        message=(
                            f"{subject}: {expression!r} cannot be evaluated on the data ({err}); "
                            "the check is skipped (treated as holding)"
                        ),
                    )
                )
                self.cache[key] = np.ones(len(self.frame), dtype=bool)
        return self.cache[key]


def relevance(
    spec: TableSpec,
    containers: Mapping[str, Question],
    frame: pd.DataFrame,
    *,
    table: str,
    today: dt.date | None = None,
    position: pd.Series | None = None,
) -> Relevance:
    """Evaluate where every question of a table was relevant.

    Parameters
    ----------
    spec : TableSpec
        The table's questions with their ancestors.
    containers : Mapping
        Group and repeat name to its question (their ``relevant``).
    frame : pandas.DataFrame
        The coded answers (text as a form holds them), one column per question the expressions
        may reference; for a repeat table the parent's columns are included.
    table : str
        The table, for messages.
    today : datetime.date, optional
        The date of ``today()`` in expressions.
    position : pandas.Series, optional
        1-based repeat instance of each row, for ``position(..)``.

    Returns
    -------
    Relevance
        Per question, the rows where it was relevant.
    """
    evaluator = _Evaluator(frame, table, today, position)
    size = len(frame)
    group_masks: dict[str, np.ndarray] = {}

    def _group(names: tuple[str, ...]) -> np.ndarray:
        mask = np.ones(size, dtype=bool)
        for depth, name in enumerate(names):
            path = names[: depth + 1]
            joined = "/".join(path)
            if joined not in group_masks:
                q = containers.get(name)
                own = (
                    evaluator.holds(q.relevant, name)
                    if q is not None and q.relevant
                    else np.ones(size, dtype=bool)
                )
                group_masks[joined] = mask & own
            mask = group_masks[joined]
        return mask

    masks = {}
    for q, ancestors in spec.questions:
        mask = _group(ancestors)
        if q.relevant:
            mask = mask & evaluator.holds(q.relevant, q.name)
        masks[q.name] = mask
    return Relevance(masks=masks, problems=evaluator.problems)


@dataclass(frozen=True, slots=True)
class Answer:
    """A typed answer as the checks see it.

    Attributes
    ----------
    value : pandas.Series
        The typed value (``<NA>`` when blank or special).
    reason : pandas.Series
        The special-code key, where the answer was one.
    coded : pandas.Series
        The answer as a form holds it (for constraints).
    show_values : bool
        Whether values may be shown in problems (not for free text).
    """

    value: pd.Series
    reason: pd.Series
    coded: pd.Series
    show_values: bool


def check_answers(
    question: Question,
    answer: Answer,
    relevant: np.ndarray,
    frame: pd.DataFrame,
    *,
    table: str,
    active: np.ndarray,
    okay: np.ndarray,
    today: dt.date | None = None,
    multiple: bool = False,
) -> tuple[pd.Series, list[pd.DataFrame]]:
    """Give blank answers their reason and flag skip-logic, constraint and range problems.

    Parameters
    ----------
    question : Question
        The question.
    answer : Answer
        Its typed answer.
    relevant : numpy.ndarray
        Where it was relevant (from :func:`relevance`).
    frame : pandas.DataFrame
        Coded answers of the table (for constraints referencing other questions).
    table : str
        The table, for problems.
    active : numpy.ndarray
        Rows still in the data (excluded rows are not flagged).
    okay : numpy.ndarray
        Rows where a reviewed decision marked this question's value okay (not flagged).
    today : datetime.date, optional
        The date of ``today()``.
    multiple : bool, optional
        A select_multiple: its constraint also sees special options.

    Returns
    -------
    tuple of (pandas.Series, list of pandas.DataFrame)
        The reason column (special-code keys, ``skipped``, ``missing``, ``<NA>`` where a value
        is present) and the problems: ``not_relevant_value``, ``required_missing``,
        ``constraint_failed`` and ``out_of_range`` (errors), ``soft_range`` (warning).
    """
    name = question.name
    present_value = answer.value.notna().to_numpy()
    special = answer.reason.notna().to_numpy()
    present = present_value | special
    reason = answer.reason.astype("string").copy()
    reason[~present & relevant] = "missing"
    reason[~present & ~relevant] = "skipped"
    flag = active & ~okay
    problems: list[pd.DataFrame] = []
    shown = answer.coded if answer.show_values else None

    def _flag(mask: np.ndarray, kind: str, severity: str, message: str) -> None:
        if mask.any():
            positions = np.flatnonzero(mask)
            value = shown.to_numpy(dtype=object)[positions] if shown is not None else pd.NA
            problems.append(
                problem_entries(
                    table, positions, name, kind, severity, message=message, value=value
                )
            )

    _flag(
        flag & ~relevant & present,
        "not_relevant_value",
        "error",
        f"{name}: answered where its skip logic says it is not asked (kept; blank it by a "
        "decision in corrections.csv if it is wrong)",
    )
    if question.required:
        required = question.required.strip().lower()
        evaluator = _Evaluator(frame, table, today, None)
        needs = (
            np.ones(len(reason), dtype=bool)
            if required in _ALWAYS
            else evaluator.holds(question.required, name)
        )
        problems += evaluator.problems
        _flag(
            flag & relevant & needs & ~present,
            "required_missing",
            "error",
            f"{name}: required but blank where it is asked",
        )
    if question.value_range is not None and present_value.any():
        low, high = question.value_range
        numbers = answer.value.astype("Float64")
        outside = (numbers.lt(low) | numbers.gt(high)).fillna(False).to_numpy(dtype=bool)
        _flag(
            flag & outside,
            "out_of_range",
            "error",
            f"{name}: outside the range [{format_number(low)}, {format_number(high)}]",
        )
    if question.soft_range is not None and present_value.any():
        low, high = question.soft_range
        numbers = answer.value.astype("Float64")
        outside = (numbers.lt(low) | numbers.gt(high)).fillna(False).to_numpy(dtype=bool)
        hard = question.value_range
        if hard is not None:
            outside &= ~(numbers.lt(hard[0]) | numbers.gt(hard[1])).fillna(False).to_numpy(
                dtype=bool
            )
        _flag(
            flag & outside,
            "soft_range",
            "warning",
            f"{name}: outside the plausible range [{format_number(low)}, {format_number(high)}]",
        )
    if question.constraint:
        tested = present if multiple else present_value
        if (flag & tested).any():
            evaluator = _Evaluator(frame, table, today, None)
            holds = evaluator.holds(question.constraint, name, current=name)
            problems += evaluator.problems
            _flag(
                flag & tested & ~holds,
                "constraint_failed",
                "error",
                f"{name}: fails its constraint {question.constraint!r}",
            )
    return reason, problems
