"""What to check on one form: the instrument read together with ``checks.toml``.

:func:`plan_form` turns an instrument round and the configuration into a :class:`FormPlan`: the
key, enumerator, city and consent columns; every variable with its table, skip logic chain,
choice codes, "other" options and accepted special codes; hard and soft bounds (the instrument's
ranges and the configured ones); outlier rules (configured, plus automatic ones for numeric
questions); logic assertions; fields that must be unique; other-specify pairs; back-check
categories. Everything is derived from the instrument unless the configuration says otherwise.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from evaluation.checks.config import (
    CheckConfig,
    ConfigError,
    LogicRule,
    OutlierRule,
    SpecifyPair,
    applies,
)
from evaluation.instruments.expressions import ExpressionError, parse
from evaluation.instruments.model import Instrument, Question, SpecialCode, format_number

if TYPE_CHECKING:
    from collections.abc import Mapping

__all__ = ["FormPlan", "Variable", "form_label", "plan_form"]

MAIN = "main"
#: Respondent key columns, in order of preference.
KEY_COLUMNS = ("resp_id", "enterprise_id", "participant_id")
#: Enumerator columns, in order of preference.
ENUMERATOR_COLUMNS = ("meta_enum_id", "username")
_OTHER_LABEL = re.compile(r"^\s*other\b", re.IGNORECASE)
_SPECIFY_SUFFIXES = ("_other", "_oth", "_specify", "_spec")
_AUTO_SPAN = 100


def form_label(instrument: Instrument, round_name: str | None = None) -> str:
    """Return the label of a form in findings: ``family/round``.

    Parameters
    ----------
    instrument : Instrument
        The form.
    round_name : str, optional
        The round, when the instrument does not record it.

    Returns
    -------
    str
        For example ``apprentice/baseline`` (the form ID when the family is unknown).
    """
    family = instrument.instrument or instrument.form_id
    round_name = round_name or instrument.round
    return f"{family}/{round_name}" if round_name else family


@dataclass(frozen=True, slots=True)
class Variable:
    """One question of the form as the checks see it.

    Attributes
    ----------
    question : Question
        The question.
    table : str
        ``main`` or the name of the repeat holding it.
    relevance : tuple of str
        The ``relevant`` expressions of its enclosing groups and of itself, outermost first: the
        question is asked when all hold.
    codes : tuple of str
        Choice codes of a select (empty for other types and for choices from a file).
    other_codes : tuple of str
        Codes of "other" options (label "Other..." or "其他...").
    accepted : tuple of str
        Keys of the special codes the question accepts (its own ``special`` and the special
        options of its list).
    """

    question: Question
    table: str
    relevance: tuple[str, ...]
    codes: tuple[str, ...] = ()
    other_codes: tuple[str, ...] = ()
    accepted: tuple[str, ...] = ()

    @property
    def name(self) -> str:  # numpydoc ignore=RT01
        """The variable name."""
        return self.question.name

    @property
    def type(self) -> str:  # numpydoc ignore=RT01
        """The question type."""
        return self.question.type


@dataclass(frozen=True, slots=True)
class Bound:
    """A hard or soft bound of a numeric variable.

    Attributes
    ----------
    variable : str
        The variable.
    kind : str
        ``hard`` or ``soft``.
    lower, upper : str or None
        The bounds as expressions (numbers written as text).
    source : str
        ``instrument`` (its range or soft range) or ``config``.
    message : str or None
        A configured sentence.
    """

    variable: str
    kind: str
    lower: str | None
    upper: str | None
    source: str
    message: str | None = None


@dataclass(frozen=True, slots=True)
class FormPlan:
    """Everything the checks need to know about one form.

    Attributes
    ----------
    label : str
        ``family/round``.
    family : str or None
        The instrument family.
    instrument : Instrument
        The form.
    config : CheckConfig
        The configuration it was planned with.
    key : str or None
        Column of the respondent key.
    enumerator : str or None
        Column of the enumerator ID.
    city : str or None
        Column of the city (``None`` when the form has none).
    consent : str or None
        Column of consent.
    special_codes : tuple of SpecialCode
        The instrument's special codes (their order numbers the status codes).
    variables : Mapping
        Name to :class:`Variable`, every non-container question in form order.
    bounds : tuple of Bound
        Hard and soft bounds.
    outliers : tuple of OutlierRule
        Outlier rules, explicit and automatic.
    logic : tuple of LogicRule
        Logic assertions that apply to this form.
    unique : tuple of str
        Variables that must be unique across respondents.
    specify : tuple of SpecifyPair
        Other-specify pairs.
    backcheck : Mapping
        Variable to back-check category.
    outcome : str or None
        Column of the interview outcome for progress (``trk_status``), or ``None``.
    """

    label: str
    family: str | None
    instrument: Instrument
    config: CheckConfig
    key: str | None
    enumerator: str | None
    city: str | None
    consent: str | None
    special_codes: tuple[SpecialCode, ...]
    variables: Mapping[str, Variable]
    bounds: tuple[Bound, ...]
    outliers: tuple[OutlierRule, ...]
    logic: tuple[LogicRule, ...]
    unique: tuple[str, ...]
    specify: tuple[SpecifyPair, ...]
    backcheck: Mapping[str, str]
    outcome: str | None

    def __post_init__(self) -> None:
        """Freeze the mappings."""
        object.__setattr__(self, "variables", MappingProxyType(dict(self.variables)))
        object.__setattr__(self, "backcheck", MappingProxyType(dict(self.backcheck)))

    def asked(self, table: str | None = None) -> list[Variable]:
        """Return the variables an enumerator enters (no notes, calculations or metadata).

        Parameters
        ----------
        table : str, optional
            Only those of this table.

        Returns
        -------
        list of Variable
            In form order.
        """
        return [
            v
            for v in self.variables.values()
            if v.question.asks_respondent and (table is None or v.table == table)
        ]


def _variables(form: Instrument) -> dict[str, Variable]:
    lists = {cl.name: cl for cl in form.choice_lists}
    found: dict[str, Variable] = {}
    for q, parents in form.walk():
        if q.is_container:
            continue
        repeats = [p.name for p in parents if p.type in ("repeat", "loop")]
        relevance = tuple(e for e in (*(p.relevant for p in parents), q.relevant) if e)
        codes: tuple[str, ...] = ()
        other: tuple[str, ...] = ()
        accepted = tuple(q.special)
        if q.is_select and q.list_name in lists:
            choices = lists[q.list_name].choices
            codes = tuple(c.name for c in choices)
            other = tuple(
                c.name
                for c in choices
                if not c.special
                and (
                    _OTHER_LABEL.match(c.label.get("en") or "")
                    or (c.label.get("zh") or "").strip().startswith("其他")
                )
            )
            accepted = tuple(dict.fromkeys((*accepted, *(c.special for c in choices if c.special))))
        if q.or_other:
            other = (*other, "other")
            codes = (*codes, "other")
        found[q.name] = Variable(
            q, repeats[-1] if repeats else MAIN, relevance, codes, other, accepted
        )
    return found


def _first_present(names: tuple[str, ...], variables: Mapping[str, Variable]) -> str | None:
    return next((n for n in names if n in variables), None)


def _references(text: str | None) -> frozenset[str]:
    if not text:
        return frozenset()
    try:
        return parse(text).references
    except ExpressionError:
        return frozenset()


def _specify_pairs(variables: Mapping[str, Variable]) -> list[SpecifyPair]:
    pairs = []
    for v in variables.values():
        q = v.question
        if q.type != "text":
            continue
        parent = None
        for suffix in _SPECIFY_SUFFIXES:
            stem = q.name.removesuffix(suffix)
            if stem != q.name and stem in variables and variables[stem].other_codes:
                parent = stem
                break
        if parent is None:
            selects = [
                n for n in _references(q.relevant) if n in variables and variables[n].other_codes
            ]
            if len(selects) == 1 and any(
                re.search(rf"(?<![\w.-]){re.escape(code)}(?![\w.])", q.relevant or "")
                for code in variables[selects[0]].other_codes
            ):
                parent = selects[0]
        if parent is not None:
            pairs.append(SpecifyPair(parent=parent, text=q.name))
    return pairs


def _check_names(where: str, names: tuple[str, ...] | list[str], variables: Mapping) -> bool:
    """Whether every name is a variable of the form (for rules limited to this form)."""
    return all(n in variables for n in names)


def plan_form(
    instrument: Instrument, config: CheckConfig, round_name: str | None = None
) -> FormPlan:
    """Plan the checks of one form from its instrument and the configuration.

    Parameters
    ----------
    instrument : Instrument
        The instrument round.
    config : CheckConfig
        The settings.
    round_name : str, optional
        The round, when the instrument does not record it.

    Returns
    -------
    FormPlan
        Columns, variables, bounds, rules and pairs for this form.

    Raises
    ------
    ConfigError
        When a rule limited to this form (``forms = [...]``) names a variable the form does not
        have. Rules without ``forms`` apply to the forms that have all their variables.

    Notes
    -----
    Automatic outlier rules cover numeric questions an enumerator enters that have a soft range,
    a hard range wider than 100, or no range, and no explicit rule. Unique fields default to the
    direct identifiers whose constraint is a pattern (``regex``): phone and ID numbers, never
    names. Other-specify pairs are a text question named after a select with an "other" option
    (``<select>_other``, ``_oth``, ``_specify``, ``_spec``) or whose skip logic reads that
    select's "other" code, plus XLSForm ``or_other``.
    """
    variables = _variables(instrument)
    label = form_label(instrument, round_name)
    family = instrument.instrument

    def mine(  # numpydoc ignore=GL08
        forms: tuple[str, ...], names: tuple[str, ...] | list[str], what: str
    ) -> bool:
        if not applies(forms, family, label):
            return False
        if _check_names(label, names, variables):
            return True
        if forms:
            missing = [n for n in names if n not in variables]
            msg = f"checks.toml {what}: form {label!r} has no variable {missing[0]!r}"
            raise ConfigError(msg)
        return False

    bounds: list[Bound] = []
    for v in variables.values():
        q = v.question
        if not (q.is_numeric and q.asks_respondent):
            continue
        if q.value_range is not None:
            lo, hi = (format_number(b) for b in q.value_range)
            bounds.append(Bound(q.name, "hard", lo, hi, "instrument"))
        if q.soft_range is not None:
            lo, hi = (format_number(b) for b in q.soft_range)
            bounds.append(Bound(q.name, "soft", lo, hi, "instrument"))
    for rule in config.constraints:
        references = [rule.variable]
        for text in (rule.hard_min, rule.hard_max, rule.soft_min, rule.soft_max):
            references += sorted(_references(text))
        if not mine(rule.forms, references, f"constraint on {rule.variable!r}"):
            continue
        if rule.hard_min is not None or rule.hard_max is not None:
            bounds.append(
                Bound(rule.variable, "hard", rule.hard_min, rule.hard_max, "config", rule.message)
            )
        if rule.soft_min is not None or rule.soft_max is not None:
            bounds.append(
                Bound(rule.variable, "soft", rule.soft_min, rule.soft_max, "config", rule.message)
            )

    outliers = [
        rule
        for rule in config.outliers
        if mine(rule.forms, [*rule.variables, *rule.by], f"outlier rule {list(rule.variables)}")
    ]
    if config.outlier_auto:
        explicit = {n for rule in outliers for n in rule.variables}
        by = tuple(b for b in config.outlier_by if b in variables)
        for v in variables.values():
            q = v.question
            if not (q.is_numeric and q.asks_respondent) or q.name in explicit:
                continue
            span = q.value_range[1] - q.value_range[0] if q.value_range else None
            if q.soft_range is None and span is not None and span <= _AUTO_SPAN:
                continue
            outliers.append(
                OutlierRule(
                    variables=(q.name,),
                    method=config.outlier_method,
                    multiplier=config.outlier_multiplier,
                    by=by if v.table == MAIN else (),
                    min_n=config.outlier_min_n,
                )
            )

    logic = [
        rule
        for rule in config.logic
        if mine(
            rule.forms,
            sorted(_references(rule.assertion) | _references(rule.condition) | set(rule.show)),
            f"logic rule {rule.name!r}",
        )
    ]
    if config.unique is None:
        unique = tuple(
            v.name
            for v in variables.values()
            if v.question.pii == "direct"
            and v.type == "text"
            and "regex(" in (v.question.constraint or "")
            and v.table == MAIN
        )
    else:
        unique = tuple(n for n in config.unique if n in variables)
    specify = _specify_pairs(variables)
    known = {(p.parent, p.text) for p in specify}
    specify += [
        p
        for p in config.specify
        if mine(p.forms, [p.parent, p.text], f"other_specify {p.text!r}")
        and (p.parent, p.text) not in known
    ]
    backcheck = {v.name: v.question.backcheck for v in variables.values() if v.question.backcheck}
    backcheck.update({k: c for k, c in config.bc_types.items() if k in variables})
    outcome = config.progress_outcome or ("trk_status" if "trk_status" in variables else None)
    if outcome is not None and outcome not in variables:
        outcome = None
    return FormPlan(
        label=label,
        family=family,
        instrument=instrument,
        config=config,
        key=_first_present((config.key or "", *KEY_COLUMNS), variables),
        enumerator=_first_present((config.enumerator or "", *ENUMERATOR_COLUMNS), variables),
        city=config.city if config.city in variables else None,
        consent=config.consent if config.consent in variables else None,
        special_codes=instrument.special_codes,
        variables=variables,
        bounds=tuple(bounds),
        outliers=tuple(outliers),
        logic=tuple(logic),
        unique=unique,
        specify=tuple(specify),
        backcheck=backcheck,
        outcome=outcome,
    )
