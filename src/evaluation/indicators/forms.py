"""What the indicators read from the instruments: list columns, answer keys, codes and items.

The questionnaires (``surveys/``) are the single source of truth for codes. Rather than repeat
them as literals, the indicator stage reads them from the :class:`Instrument` that travels with
the clean data: ISCED levels of education codes, ICSE-18 groups of employment-status codes,
answer keys, exclusive options of select_multiple questions, module tags of test items, the
items of a scale and the bounds of the earnings brackets. Everything here is pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from evaluation.indicators._common import ConfigError
from evaluation.instruments.model import ChoiceList, Instrument

__all__ = [
    "answer_keys",
    "choice_list",
    "exclusive_options",
    "family",
    "forms_of",
    "icse18_statuses",
    "list_column",
    "question_items",
    "question_tags",
    "unmapped_codes",
    "wage_brackets",
]


def forms_of(instruments: Instrument | Mapping | Iterable[Instrument] | None) -> list[Instrument]:
    """Return the instruments as a list.

    Parameters
    ----------
    instruments : Instrument, mapping, iterable of Instrument or None
        One form, the mapping returned by
        :func:`evaluation.instruments.files.read_instruments`, or any iterable of forms.

    Returns
    -------
    list of Instrument
        The forms (empty for ``None``).
    """
    if instruments is None:
        return []
    if isinstance(instruments, Instrument):
        return [instruments]
    if isinstance(instruments, Mapping):
        return list(instruments.values())
    return list(instruments)


def family(forms: list[Instrument], name: str) -> list[Instrument]:
    """Forms of one instrument family (and forms whose family is unknown).

    Parameters
    ----------
    forms : list of Instrument
        Any forms.
    name : str
        ``apprentice``, ``enterprise`` or ``capacity``.

    Returns
    -------
    list of Instrument
        The family's forms, in the given order.
    """
    return [f for f in forms if f.instrument in (name, None)]


def choice_list(forms: list[Instrument], list_name: str) -> ChoiceList | None:
    """Return the first form's choice list of that name, or ``None`` when no form has it.

    Parameters
    ----------
    forms : list of Instrument
        Forms to search.
    list_name : str
        The list.

    Returns
    -------
    ChoiceList or None
        The list.
    """
    for form in forms:
        try:
            return form.choice_list(list_name)
        except KeyError:
            continue
    return None


def list_column(forms: list[Instrument], list_name: str, column: str) -> dict[int, str]:
    """Code -> value of an extra column of a choice list (e.g. ``edu_level`` -> ``isced``).

    Parameters
    ----------
    forms : list of Instrument
        Instruments to search (the first that has the list wins).
    list_name : str
        The choice list.
    column : str
        The extra column.

    Returns
    -------
    dict
        Integer code -> value, for options that have the column (special codes excluded);
        empty when no form has the list.
    """
    cl = choice_list(forms, list_name)
    if cl is None:
        return {}
    return {
        int(c.name): value
        for c in cl.choices
        if c.special is None and (value := c.get(column)) not in (None, "")
    }


def unmapped_codes(forms: list[Instrument], list_name: str, column: str) -> list[int]:
    """Codes of a list (special codes aside) that have no value in an extra column.

    Parameters
    ----------
    forms : list of Instrument
        Instruments to search.
    list_name : str
        The choice list (e.g. ``edu_required``).
    column : str
        The extra column (e.g. ``isced``).

    Returns
    -------
    list of int
        The codes without a value, in list order (e.g. ``[0]``, "no particular qualification").
    """
    cl = choice_list(forms, list_name)
    if cl is None:
        return []
    return [int(c.name) for c in cl.choices if c.special is None and c.get(column) in (None, "")]


def answer_keys(forms: list[Instrument], prefix: str) -> dict[str, str]:
    """Question -> answer key for every keyed question whose name starts with ``prefix``.

    Parameters
    ----------
    forms : list of Instrument
        Instruments of one family.
    prefix : str
        Name prefix (``grn_quiz_``, ``cb_q``).

    Returns
    -------
    dict
        Question name -> correct option code, sorted by name.

    Raises
    ------
    ConfigError
        When two forms give the same question different keys.
    """
    keys: dict[str, str] = {}
    for form in forms:
        for q in form.all_questions():
            known = q.name.startswith(prefix) and q.answer_key is not None
            if known and keys.setdefault(q.name, q.answer_key) != q.answer_key:
                msg = (
                    f"{q.name}: answer key {q.answer_key!r} in form {form.form_id!r} differs "
                    f"from {keys[q.name]!r} in another round"
                )
                raise ConfigError(msg)
    return dict(sorted(keys.items()))


def question_tags(forms: list[Instrument], column: str, names: Iterable[str]) -> dict[str, str]:
    """Question -> value of an extra column of the question (e.g. the module tag ``cb_module``).

    Parameters
    ----------
    forms : list of Instrument
        Instruments to search.
    column : str
        The extra column of the questions.
    names : iterable of str
        The questions.

    Returns
    -------
    dict
        Question -> tag, for the questions that carry one.
    """
    wanted = set(names)
    tags: dict[str, str] = {}
    for form in forms:
        for q in form.all_questions():
            tag = q.get(column)
            if q.name in wanted and tag:
                tags.setdefault(q.name, tag)
    return tags


def exclusive_options(forms: list[Instrument], question: str) -> set[str]:
    """Codes of the exclusive options ("none", "don't know") of a select_multiple question.

    Parameters
    ----------
    forms : list of Instrument
        Instruments to search.
    question : str
        The select_multiple question.

    Returns
    -------
    set of str
        Option codes flagged ``exclusive`` in the question's list; empty when not found.
    """
    for form in forms:
        try:
            q = form.question(question)
            cl = form.choice_list(q.list_name or "")
        except KeyError:
            continue
        return {c.name for c in cl.choices if c.exclusive}
    return set()


def question_items(
    forms: list[Instrument], prefix: str, types: tuple[str, ...] = ("select_one",)
) -> list[str]:
    """Names of the questions with a prefix and one of some types, in form order.

    Parameters
    ----------
    forms : list of Instrument
        Instruments of one family (every round: the union is returned).
    prefix : str
        Name prefix of the items (``img_``, ``grn_practice_``, ``mm_use_``, ``cb_se_``).
    types : tuple of str, default ("select_one",)
        Question types that count as items (notes, groups and calculations never do).

    Returns
    -------
    list of str
        The item names, each once, in the order of the first form that asks them.
    """
    names: dict[str, None] = {}
    for form in forms:
        for q in form.all_questions():
            if q.name.startswith(prefix) and q.type in types:
                names.setdefault(q.name)
    return list(names)


def icse18_statuses(
    forms: list[Instrument], list_name: str = "job_status", column: str = "icse18"
) -> tuple[tuple[int, ...], tuple[int, ...]] | None:
    """Codes of employees and of contributing family workers, from the list's ICSE-18 column.

    Parameters
    ----------
    forms : list of Instrument
        Instruments to search.
    list_name : str, default "job_status"
        The status-in-employment list.
    column : str, default "icse18"
        Its ICSE-18 column: the category code (``44`` paid apprentices, ``51`` contributing
        family workers) or the aggregate (``4`` employees, ``1`` employers...).

    Returns
    -------
    tuple of (tuple of int, tuple of int) or None
        Codes whose ICSE-18 category is an employee (4, 41-44) and codes of contributing
        family workers (5, 51); ``None`` when no form has the list with that column.

    Notes
    -----
    ICSE-18 (20th ICLS Resolution I, 2018): the first digit of a category is its group by type
    of economic risk and authority: 1 employers, 2 independent workers without employees,
    3 dependent contractors, 4 employees (41 permanent, 42 fixed-term, 43 short-term and casual,
    44 paid apprentices, trainees and interns), 5 contributing family workers.
    """
    mapping = list_column(forms, list_name, column)
    if not mapping:
        return None
    employees = tuple(sorted(k for k, v in mapping.items() if str(v).strip().startswith("4")))
    family_workers = tuple(sorted(k for k, v in mapping.items() if str(v).strip().startswith("5")))
    return employees, family_workers


_AMOUNT = r"(\d[\d,]*)"
_BRACKET_PATTERNS = (
    (re.compile(rf"^less than {_AMOUNT}\b", re.IGNORECASE), "below"),
    (re.compile(rf"^{_AMOUNT} to {_AMOUNT}\b", re.IGNORECASE), "between"),
    (re.compile(rf"^{_AMOUNT}\b.*\bor more\b", re.IGNORECASE), "above"),
)


def _amount(text: str) -> float:
    return float(text.replace(",", ""))


def wage_brackets(
    forms: list[Instrument], list_name: str = "wage_bracket", language: str = "en"
) -> dict[int, tuple[float, float | None]] | None:
    """Bounds of the earnings brackets, read from the English labels of the list.

    Parameters
    ----------
    forms : list of Instrument
        Instruments to search.
    list_name : str, default "wage_bracket"
        The bracket list.
    language : str, default "en"
        Language code of the labels to read.

    Returns
    -------
    dict or None
        Code -> ``(lower, upper)`` RMB per month, half-open ``[lower, upper)``, ``upper``
        ``None`` for the open top bracket; ``None`` when no form has the list.

    Raises
    ------
    ConfigError
        For a label that is not "Less than X", "X to Y" or "X ... or more", naming it.

    Notes
    -----
    Amounts are whole yuan, so "2,000 to 3,999 yuan" is ``[2000, 4000)``; "Less than 2,000" is
    ``[0, 2000)`` and "10,000 yuan or more" is ``[10000, None)``.
    """
    cl = choice_list(forms, list_name)
    if cl is None:
        return None
    out: dict[int, tuple[float, float | None]] = {}
    for choice in cl.choices:
        if choice.special is not None:
            continue
        label = (choice.label.get(language) or "").strip()
        for pattern, kind in _BRACKET_PATTERNS:
            match = pattern.match(label)
            if match is None:
                continue
            if kind == "below":
                out[int(choice.name)] = (0.0, _amount(match.group(1)))
            elif kind == "between":
                out[int(choice.name)] = (_amount(match.group(1)), _amount(match.group(2)) + 1)
            else:
                out[int(choice.name)] = (_amount(match.group(1)), None)
            break
        else:
            msg = (
                f"list {list_name!r} option {choice.name}: label {label!r} is not 'Less than X', "
                "'X to Y' or 'X ... or more'; set the brackets in the wage rules instead"
            )
            raise ConfigError(msg)
    return out
