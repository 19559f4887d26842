"""Checks on answers: outliers, hard and soft constraints, logic assertions, skip logic.

Every check here works column by column on whole arrays (the expression evaluator evaluates a
condition on every row at once), never row by row. Special codes are never outliers or range
violations: a code the question accepts is simply not a number; a code it does not accept is
reported as such.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.checks.config import CheckConfig, OutlierRule
from evaluation.checks.findings import CheckResult, Redactor, finding_frame
from evaluation.checks.plan import MAIN, Bound
from evaluation.checks.prepare import (
    ANSWERED,
    EMPTY,
    PreparedRound,
    PreparedTable,
    evaluate_condition,
    prepared,
)
from evaluation.instruments.expressions import ExpressionError, evaluate_frame, parse
from evaluation.loaders.model import RawRound

__all__ = ["check_constraints", "check_logic", "check_outliers", "check_skip_logic", "numbers"]

_OUTLIER_COLUMNS = [
    "variable",
    "group",
    "key",
    "submission",
    "enumerator",
    "value",
    "method",
    "multiplier",
    "n",
    "minimum",
    "mean",
    "median",
    "maximum",
    "lower",
    "upper",
]


def numbers(table: PreparedTable, variable: str) -> np.ndarray:
    """Return a variable's regular answers as numbers (NaN for empty, special codes and text).

    Parameters
    ----------
    table : PreparedTable
        The table holding the variable.
    variable : str
        The variable.

    Returns
    -------
    numpy.ndarray
        Floats.
    """
    if variable in table.numbers:
        return table.numbers[variable]
    values = pd.to_numeric(table.frame[variable], errors="coerce").to_numpy(dtype=float)
    status = table.status.get(variable)
    if status is not None:
        values = np.where(status == ANSWERED, values, np.nan)
    return values


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


def _group_labels(table: PreparedTable, by: tuple[str, ...]) -> np.ndarray:
    if not by:
        return np.full(len(table), "all", dtype=object)
    parts = [table.frame[b].to_numpy(dtype=object).astype(str) for b in by]
    labels = np.array([f"{by[0]}={v}" for v in parts[0]], dtype=object)
    for name, values in zip(by[1:], parts[1:], strict=True):
        labels = labels + np.array([f", {name}={v}" for v in values], dtype=object)
    return labels


def _rule_outliers(
    round_: PreparedRound, rule: OutlierRule, table: PreparedTable, variables: list[str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    groups = _group_labels(table, tuple(b for b in rule.by if b in table.frame.columns))
    long = pd.concat(
        [
            pd.DataFrame(
                {
                    "variable": v,
                    "row": np.arange(len(table)),
                    "value": numbers(table, v),
                    "group": groups,
                }
            )
            for v in variables
        ],
        ignore_index=True,
    ).dropna(subset=["value"])
    if long.empty:
        return finding_frame(), pd.DataFrame(columns=_OUTLIER_COLUMNS)
    grouped = long.groupby("group")["value"]
    stats = pd.DataFrame(
        {
            "n": grouped.size(),
            "minimum": grouped.min(),
            "mean": grouped.mean(),
            "median": grouped.median(),
            "maximum": grouped.max(),
            "q1": grouped.quantile(0.25),
            "q3": grouped.quantile(0.75),
            "sd": grouped.std(ddof=1),
        }
    )
    m = rule.multiplier
    if rule.method == "iqr":
        iqr = stats["q3"] - stats["q1"]
        stats["lower"] = stats["q1"] - m * iqr
        stats["upper"] = stats["q3"] + m * iqr
    else:
        stats["lower"] = stats["mean"] - m * stats["sd"]
        stats["upper"] = stats["mean"] + m * stats["sd"]
    merged = long.join(stats, on="group")
    checked = merged["n"] >= rule.min_n
    flagged = merged[
        checked & ((merged["value"] < merged["lower"]) | (merged["value"] > merged["upper"]))
    ]
    method = "Q1 - {m} IQR" if rule.method == "iqr" else "mean - {m} SD"
    upper_method = "Q3 + {m} IQR" if rule.method == "iqr" else "mean + {m} SD"
    parts = []
    for variable, rows in flagged.groupby("variable", sort=True):
        others = [v for v in variables if v != variable]
        pooled = f" (pooled with {', '.join(others)})" if others else ""
        above = rows["value"].to_numpy() > rows["upper"].to_numpy()
        messages = [
            (
                f"{_fmt(v)} is {'above' if a else 'below'} the "
                f"{'upper' if a else 'lower'} fence {_fmt(u if a else lo)} "
                f"({(upper_method if a else method).format(m=f'{m:g}')}; {g}, n={int(n)}, "
                f"median {_fmt(med)}){pooled}"
            )
            for v, a, u, lo, g, n, med in zip(
                rows["value"],
                above,
                rows["upper"],
                rows["lower"],
                rows["group"],
                rows["n"],
                rows["median"],
                strict=True,
            )
        ]
        parts.append(
            round_.findings(
                "outliers",
                table,
                rows["row"].to_numpy(dtype=int),
                variable=str(variable),
                rule=f"outlier_{rule.method}",
                severity="warning",
                message=np.array(messages, dtype=object),
            )
        )
    config = round_.plan.config
    share = len(flagged) / max(int(checked.sum()), 1)
    # one flagged value is never "many": with n < 1 / max_share, one value is above the share
    if share > config.outlier_max_share and len(flagged) > 1:
        parts.append(
            finding_frame(
                check="outliers",
                form=round_.label,
                variable=", ".join(variables),
                value=f"{share:.1%}",
                rule="outlier_rule_flags_many",
                severity="info",
                message=(
                    f"the {rule.method} rule with multiplier {m:g} flags {len(flagged)} of "
                    f"{int(checked.sum())} values ({share:.1%}, above max_share "
                    f"{config.outlier_max_share:.0%}): review the rule or the data"
                ),
            )
        )
    rows = flagged["row"].to_numpy(dtype=int)
    parent = table.parent[rows]
    detail = pd.DataFrame(
        {
            "variable": flagged["variable"].to_numpy(),
            "group": flagged["group"].to_numpy(),
            "key": round_.key[parent],
            "submission": table.ids[rows],
            "enumerator": round_.enumerator[parent],
            "value": flagged["value"].to_numpy(),
            "method": rule.method,
            "multiplier": m,
            "n": flagged["n"].to_numpy(dtype=int),
            "minimum": flagged["minimum"].to_numpy(),
            "mean": flagged["mean"].to_numpy(),
            "median": flagged["median"].to_numpy(),
            "maximum": flagged["maximum"].to_numpy(),
            "lower": flagged["lower"].to_numpy(),
            "upper": flagged["upper"].to_numpy(),
        }
    )
    findings = pd.concat(parts, ignore_index=True) if parts else finding_frame()
    return findings, detail


def check_outliers(
    data: RawRound | PreparedRound, config: CheckConfig | None = None
) -> CheckResult:
    """Flag numeric answers outside IQR or SD fences, by group, honouring the multiplier exactly.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        Findings (warning, rule ``outlier_iqr`` or ``outlier_sd``), one per value outside its
        group's fences; an info finding ``outlier_rule_flags_many`` when a rule flags more than
        ``max_share`` of the values it checks and more than one value. Table ``outlier_values``:
        every flagged value with its group's n, minimum, mean, median, maximum and fences.

    Notes
    -----
    IQR method: fences ``Q1 - m (Q3 - Q1)`` and ``Q3 + m (Q3 - Q1)``, quartiles by linear
    interpolation between order statistics (numpy's and pandas' default, Hyndman and Fan type 7).
    SD method: ``mean -/+ m SD`` with the sample standard deviation (n - 1). A value is an outlier
    when strictly outside a fence. Values of the variables of one rule are pooled (IPA's
    ``combine``) to compute the fences, and each is flagged under its own variable. Groups with
    fewer than ``min_n`` values are not checked. Unlike ipacheck 4.3.1, which computed its
    fences with a fixed 1.5 whatever the multiplier, the configured multiplier is the one used.
    """
    round_ = prepared(data, config)
    parts, details = [], []
    for rule in round_.plan.outliers:
        by_table: dict[str, list[str]] = {}
        for variable in rule.variables:
            info = round_.plan.variables.get(variable)
            if info is None:
                continue
            table = round_.table(info.table) if info.table in (MAIN, *round_.repeats) else None
            if table is not None and variable in table.frame.columns:
                by_table.setdefault(info.table, []).append(variable)
        for name, variables in by_table.items():
            found, detail = _rule_outliers(round_, rule, round_.table(name), variables)
            parts.append(found)
            details.append(detail)
    findings = pd.concat(parts, ignore_index=True) if parts else finding_frame()
    detail = (
        pd.concat([d for d in details if len(d)], ignore_index=True)
        if any(len(d) for d in details)
        else pd.DataFrame(columns=_OUTLIER_COLUMNS)
    )
    return CheckResult(findings, {"outlier_values": detail})


# --------------------------------------------------------------------------------------------
# Constraints
# --------------------------------------------------------------------------------------------


def _bound_values(
    text: str | None, table: PreparedTable, round_: PreparedRound
) -> np.ndarray | None:
    if text is None:
        return None
    try:
        return np.full(len(table), float(text))
    except ValueError:
        pass
    expression = parse(text)
    missing = sorted(n for n in expression.references if n not in table.frame.columns)
    if missing:
        raise ExpressionError(f"bound {text!r}: no column {missing[0]!r} in the data")
    frame = table.frame
    blanked = {
        n: frame[n].where(table.status[n] == ANSWERED, "")
        for n in expression.references
        if n in table.status
    }
    values = evaluate_frame(expression, frame.assign(**blanked) if blanked else frame)
    return pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)


def _bound_findings(
    round_: PreparedRound, table: PreparedTable, bound: Bound, *, skip: set
) -> pd.DataFrame:
    values = numbers(table, bound.variable)
    try:
        lower = _bound_values(bound.lower, table, round_)
        upper = _bound_values(bound.upper, table, round_)
    except ExpressionError as err:
        return finding_frame(
            check="constraints",
            form=round_.label,
            variable=bound.variable,
            rule="bound_not_evaluated",
            severity="info",
            message=str(err),
        )
    below = values < lower if lower is not None else np.zeros(len(values), bool)
    above = values > upper if upper is not None else np.zeros(len(values), bool)
    rows = np.flatnonzero((below | above) & ~pd.Series(table.ids).isin(skip).to_numpy(bool))
    if not len(rows):
        return finding_frame()
    kind = "range" if bound.source == "instrument" else "bound"
    words = {"hard": "hard", "soft": "soft (plausible)"}[bound.kind]
    lo_text = bound.lower if bound.lower is not None else "-inf"
    hi_text = bound.upper if bound.upper is not None else "inf"
    messages = []
    for r in rows:
        side = "below" if below[r] else "above"
        limit = lower[r] if below[r] else upper[r]  # type: ignore[index]
        extra = f" ({bound.message})" if bound.message else ""
        messages.append(
            f"{_fmt(values[r])} is {side} the {words} bound {_fmt(limit)} "
            f"([{lo_text}, {hi_text}]){extra}"
        )
    return round_.findings(
        "constraints" if bound.kind == "hard" else "soft_constraints",
        table,
        rows,
        variable=bound.variable,
        rule=f"{bound.kind}_{kind}",
        severity="error" if bound.kind == "hard" else "warning",
        message=np.array(messages, dtype=object),
    )


def _choice_findings(round_: PreparedRound, table: PreparedTable, variable) -> list[pd.DataFrame]:
    name = variable.name
    status = table.status[name]
    values = table.frame[name]
    answered = status == ANSWERED
    parts = []
    if variable.codes:
        if variable.type == "select_multiple":
            positions = np.flatnonzero(answered)
            chosen = pd.Series(values.to_numpy(dtype=object)[answered], index=positions)
            tokens = chosen.str.split().explode()
            bad = tokens.index[~tokens.isin(variable.codes).to_numpy()].to_numpy(dtype=int)
            wrong = np.zeros(len(table), dtype=bool)
            wrong[np.unique(bad)] = True
        else:
            wrong = answered & ~values.isin(variable.codes).to_numpy()
        rows = np.flatnonzero(wrong)
        if len(rows):
            parts.append(
                round_.findings(
                    "constraints",
                    table,
                    rows,
                    variable=name,
                    rule="unknown_choice",
                    severity="error",
                    message=f"not a code of list {variable.question.list_name!r}",
                )
            )
    return parts


def _question_findings(round_: PreparedRound, table: PreparedTable, variable) -> list[pd.DataFrame]:
    name = variable.name
    q = variable.question
    status = table.status[name]
    parts = []
    if q.is_numeric:
        text_answer = (status == ANSWERED) & np.isnan(numbers(table, name))
        rows = np.flatnonzero(text_answer)
        if len(rows):
            parts.append(
                round_.findings(
                    "constraints",
                    table,
                    rows,
                    variable=name,
                    rule="not_a_number",
                    severity="error",
                    message=f"{q.type} question answered with text that is not a number",
                )
            )
    if q.is_numeric or q.is_select:
        keys = [c.key for c in round_.plan.special_codes]
        refused = np.zeros(len(table), dtype=bool)
        codes = []
        for number, key in enumerate(keys, start=1):
            if key not in variable.accepted:
                refused |= status == number
                codes.append(key)
        rows = np.flatnonzero(refused)
        if len(rows):
            parts.append(
                round_.findings(
                    "constraints",
                    table,
                    rows,
                    variable=name,
                    rule="special_code_not_allowed",
                    severity="error",
                    message=(
                        f"a special code the question does not accept (accepts: "
                        f"{', '.join(variable.accepted) or 'none'})"
                    ),
                )
            )
    if q.is_select:
        parts += _choice_findings(round_, table, variable)
    if q.type == "text" and q.pii != "direct":
        positions, uniques = pd.factorize(table.shown[name].to_numpy(dtype=object))
        found = np.array([Redactor.holds_identifier(str(v)) for v in uniques], dtype=bool)
        rows = np.flatnonzero(found[positions]) if len(uniques) else np.array([], dtype=int)
        if len(rows):
            parts.append(
                round_.findings(
                    "constraints",
                    table,
                    rows,
                    variable=name,
                    rule="identifier_in_text",
                    severity="warning",
                    message="a phone or ID number typed into this text (shown masked): remove it",
                )
            )
    if q.constraint:
        answered = status == ANSWERED
        try:
            holds = evaluate_condition(
                q.constraint, table.frame, round_.day[table.parent], current=name
            )
        except ExpressionError as err:
            return [
                *parts,
                finding_frame(
                    check="constraints",
                    form=round_.label,
                    variable=name,
                    rule="constraint_not_evaluated",
                    severity="info",
                    message=f"constraint not checked: {err}",
                ),
            ]
        rows = np.flatnonzero(answered & ~holds)
        if len(rows):
            parts.append(
                round_.findings(
                    "constraints",
                    table,
                    rows,
                    variable=name,
                    rule="constraint",
                    severity="error",
                    message=f"fails the form's constraint {q.constraint}",
                )
            )
    return parts


def check_constraints(
    data: RawRound | PreparedRound, config: CheckConfig | None = None
) -> CheckResult:
    """Check answers against the form's constraints, hard and soft ranges and configured bounds.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        Findings of check ``constraints``, all errors: ``hard_range`` (the instrument's range),
        ``hard_bound`` (configured), ``constraint`` (the form's own XPath constraint fails),
        ``unknown_choice`` (a code not in the list), ``special_code_not_allowed`` and
        ``not_a_number``; ``identifier_in_text`` (a warning: a phone or ID number typed into a
        free text that is not itself an identifier, shown masked); and of check
        ``soft_constraints``, warnings: ``soft_range`` (the
        instrument's plausible range) and ``soft_bound`` (configured).

    Notes
    -----
    Bounds may be expressions over other variables (``${dem_birth_year} + 5``); special codes
    in the variables a bound reads count as unanswered there (no bound). The form's constraint
    is evaluated with ``.`` as the answer, on regular answers only (an accepted special code
    passes, as in the form). Values are compared after normalisation, so ``２５`` is 25.
    """
    round_ = prepared(data, config)
    parts = []
    for table in round_.tables():
        for variable in round_.plan.asked(table.name):
            if variable.name in table.status:
                parts += _question_findings(round_, table, variable)
    hard_rows: dict[str, set] = {}
    for bound in sorted(round_.plan.bounds, key=lambda b: b.kind != "hard"):
        info = round_.plan.variables[bound.variable]
        if info.table not in (MAIN, *round_.repeats):
            continue
        table = round_.table(info.table)
        if bound.variable not in table.frame.columns:
            continue
        found = _bound_findings(round_, table, bound, skip=hard_rows.get(bound.variable, set()))
        if bound.kind == "hard":
            hard_rows.setdefault(bound.variable, set()).update(found["submission"])
        parts.append(found)
    findings = pd.concat(parts, ignore_index=True) if parts else finding_frame()
    return CheckResult(findings)


# --------------------------------------------------------------------------------------------
# Logic assertions
# --------------------------------------------------------------------------------------------


def check_logic(data: RawRound | PreparedRound, config: CheckConfig | None = None) -> CheckResult:
    """Flag rows where a configured assertion fails while its condition holds.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        One finding per failing row and rule (rule: the rule's name; severity: the rule's);
        the value lists the variables shown (``name=value; ...``).

    Notes
    -----
    As IPA's ``ipachecklogic`` (``assert``, ``if``). A rule reading a variable of a repeat is
    evaluated on that repeat's rows (with the submission's variables alongside). Rows where a
    variable the assertion reads holds a special code are not judged (recode them first, as
    ipacheck advises); an empty answer is judged as the form would (``''``).
    """
    round_ = prepared(data, config)
    parts = []
    for rule in round_.plan.logic:
        references = parse(rule.assertion).references | (
            parse(rule.condition).references if rule.condition else frozenset()
        )
        tables = {round_.plan.variables[n].table for n in references} - {MAIN}
        table = round_.table(tables.pop()) if len(tables) == 1 else round_.main
        try:
            days = round_.day[table.parent]
            holds = evaluate_condition(rule.assertion, table.frame, days)
            applies = (
                evaluate_condition(rule.condition, table.frame, days)
                if rule.condition
                else np.ones(len(table), dtype=bool)
            )
        except ExpressionError as err:
            parts.append(
                finding_frame(
                    check="logic",
                    form=round_.label,
                    rule=rule.name,
                    severity="info",
                    message=f"rule not checked: {err}",
                )
            )
            continue
        special = np.zeros(len(table), dtype=bool)
        for name in parse(rule.assertion).references:
            if name in table.status:
                special |= table.status[name] > ANSWERED
        rows = np.flatnonzero(applies & ~holds & ~special)
        if not len(rows):
            continue
        show = rule.show or tuple(sorted(parse(rule.assertion).references))
        shown = [
            np.array([f"{name}="] * len(rows), dtype=object) + round_.shown(table, name, rows)
            for name in show
        ]
        value = shown[0]
        for more in shown[1:]:
            value = value + "; " + more
        message = rule.message or (
            f"expected {rule.assertion}" + (f" where {rule.condition}" if rule.condition else "")
        )
        parts.append(
            round_.findings(
                "logic",
                table,
                rows,
                variable=show[0] if show else "",
                rule=rule.name,
                severity=rule.severity,
                message=message,
                value=value,
            )
        )
    findings = pd.concat(parts, ignore_index=True) if parts else finding_frame()
    return CheckResult(findings)


# --------------------------------------------------------------------------------------------
# Skip logic
# --------------------------------------------------------------------------------------------


def check_skip_logic(
    data: RawRound | PreparedRound, config: CheckConfig | None = None
) -> CheckResult:
    """Find skip-logic violations in both directions.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        Findings (error): ``answered_not_relevant`` where a question holds an answer although
        its skip logic (or that of a group around it) does not hold; ``required_missing``
        where a required question is asked and empty. Table ``skip_logic_by_variable``: per
        variable the rows asked, answered while not asked, and required but empty.

    Notes
    -----
    Skip logic is evaluated on the normalised answers of each row (special codes as codes), as
    the form would; questions whose skip logic cannot be evaluated (a column missing from the
    export, ``pulldata()``) are listed by :func:`evaluation.checks.check_source` instead.
    """
    round_ = prepared(data, config)
    parts, rows_out = [], []
    for table in round_.tables():
        for variable in round_.plan.asked(table.name):
            name = variable.name
            relevant = table.relevant.get(name)
            status = table.status.get(name)
            if relevant is None or status is None:
                continue
            filled = status != EMPTY
            extra = np.flatnonzero(~relevant & filled)
            empty = np.flatnonzero(relevant & table.required[name] & ~filled)
            rows_out.append(
                {
                    "variable": name,
                    "table": table.name,
                    "relevant": " and ".join(f"({e})" for e in variable.relevance),
                    "asked": int(relevant.sum()),
                    "answered_not_relevant": len(extra),
                    "required_missing": len(empty),
                }
            )
            condition = " and ".join(
                f"({e})" if len(variable.relevance) > 1 else e for e in variable.relevance
            )
            if len(extra):
                parts.append(
                    round_.findings(
                        "skip_logic",
                        table,
                        extra,
                        variable=name,
                        rule="answered_not_relevant",
                        severity="error",
                        message=f"answered although not asked: {condition} does not hold",
                    )
                )
            if len(empty):
                parts.append(
                    round_.findings(
                        "skip_logic",
                        table,
                        empty,
                        variable=name,
                        rule="required_missing",
                        severity="error",
                        message=(
                            "required and asked but empty"
                            + (f" ({condition} holds)" if condition else "")
                        ),
                    )
                )
    findings = pd.concat(parts, ignore_index=True) if parts else finding_frame()
    return CheckResult(findings, {"skip_logic_by_variable": pd.DataFrame(rows_out)})
