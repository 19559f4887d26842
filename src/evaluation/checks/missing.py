"""Missing, "don't know" and refused answers per variable and per enumerator; distinct values.

Rates are computed among the rows where the question was asked (its skip logic held), so a
question skipped by design is never "missing". Special codes are recognised in whatever form
they were typed (``-99``, ``-99.0``, ``－９９``, ``不知道``, configured aliases): the table
``special_forms`` lists the forms other than the plain code, so that a supervisor can see where
enumerators type text instead of choosing the option.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from evaluation.checks.config import CheckConfig
from evaluation.checks.findings import CheckResult, finding_frame
from evaluation.checks.prepare import ANSWERED, EMPTY, PreparedRound, prepared
from evaluation.loaders.model import RawRound

__all__ = ["answer_counts", "check_missing", "selected_any"]

_RATES = (("missing", "missing"), ("dont_know", "don't know"), ("refused", "refused"))
_MIN_EXCESS = 0.01


def selected_any(values: np.ndarray, codes: tuple[str, ...]) -> np.ndarray:
    """Whether space-separated select_multiple answers include any of some codes.

    Parameters
    ----------
    values : numpy.ndarray
        Answers such as ``"1 3 96"``.
    codes : tuple of str
        The codes looked for.

    Returns
    -------
    numpy.ndarray
        Booleans.
    """
    pattern = r"(?:^|\s)(?:" + "|".join(re.escape(c) for c in codes) + r")(?:\s|$)"
    found = pd.Series(values, dtype=object).str.contains(pattern, regex=True)
    return found.fillna(False).to_numpy(dtype=bool)


def _code_of(round_: PreparedRound, key: str) -> int:
    """Status number of a special code (0 when the instrument does not declare it)."""
    for number, code in enumerate(round_.plan.special_codes, start=1):
        if code.key == key:
            return number
    return 0


def answer_counts(
    data: RawRound | PreparedRound, config: CheckConfig | None = None
) -> pd.DataFrame:
    """Count, per submission, the questions asked and how they were answered.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    pandas.DataFrame
        One row per submission (positions of the main table): ``asked``, ``missing`` (asked
        and empty), ``dont_know``, ``refused`` (asked and answered with that code), ``selects``
        (select questions answered) and ``other`` (of which an "other" option). Questions in
        repeats count for their submission.

    Notes
    -----
    Only questions an enumerator enters count; a question whose skip logic cannot be evaluated
    counts as asked on every row.
    """
    round_ = prepared(data, config)
    n = len(round_.main)
    dk, refused = _code_of(round_, "dont_know"), _code_of(round_, "refused")
    totals = {name: np.zeros(n, dtype=np.int64) for name in ("asked", "missing", "dont_know")}
    totals.update({name: np.zeros(n, dtype=np.int64) for name in ("refused", "selects", "other")})
    for table in round_.tables():
        for variable in round_.plan.asked(table.name):
            status = table.status.get(variable.name)
            if status is None:
                continue
            relevant = table.relevant.get(variable.name)
            asked = np.ones(len(table), dtype=bool) if relevant is None else relevant
            cells = {
                "asked": asked,
                "missing": asked & (status == EMPTY),
                "dont_know": asked & (status == dk) if dk else None,
                "refused": asked & (status == refused) if refused else None,
            }
            if variable.other_codes:
                answered = asked & (status == ANSWERED)
                values = table.frame[variable.name].to_numpy(dtype=object)
                if variable.type == "select_multiple":
                    is_other = selected_any(values, variable.other_codes)
                else:
                    is_other = np.isin(values, variable.other_codes)
                cells["selects"] = answered
                cells["other"] = answered & is_other
            for name, cell in cells.items():
                if cell is not None:
                    totals[name] += np.bincount(table.parent[cell], minlength=n)
    return pd.DataFrame(totals)


def _variable_table(round_: PreparedRound) -> pd.DataFrame:
    dk, refused = _code_of(round_, "dont_know"), _code_of(round_, "refused")
    na = _code_of(round_, "not_applicable")
    rows = []
    for table in round_.tables():
        for variable in round_.plan.asked(table.name):
            status = table.status.get(variable.name)
            if status is None:
                continue
            relevant = table.relevant.get(variable.name)
            asked = np.ones(len(table), dtype=bool) if relevant is None else relevant
            answered = asked & (status == ANSWERED)
            values = table.frame[variable.name].to_numpy(dtype=object)[answered]
            rows.append(
                {
                    "variable": variable.name,
                    "table": table.name,
                    "type": variable.type,
                    "rows": len(table),
                    "asked": int(asked.sum()),
                    "answered": int(answered.sum()),
                    "missing": int((asked & (status == EMPTY)).sum()),
                    "dont_know": int((asked & (status == dk)).sum()) if dk else 0,
                    "refused": int((asked & (status == refused)).sum()) if refused else 0,
                    "not_applicable": int((asked & (status == na)).sum()) if na else 0,
                    "distinct": len(pd.unique(values)),
                    "skip_logic_checked": relevant is not None,
                }
            )
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    for name, _ in _RATES:
        table[f"pct_{name}"] = np.divide(
            table[name].to_numpy(dtype=float),
            table["asked"].to_numpy(dtype=float),
            out=np.zeros(len(table)),
            where=table["asked"].to_numpy() > 0,
        )
    return table


def _special_forms(round_: PreparedRound) -> pd.DataFrame:
    parts = []
    codes = dict(enumerate(round_.plan.special_codes, start=1))
    for table in round_.tables():
        for name, status in table.status.items():
            special = status > ANSWERED
            if not special.any():
                continue
            shown = table.shown[name].to_numpy(dtype=object)[special]
            numbers = status[special]
            canonical = np.array([str(codes[int(k)].value) for k in numbers], dtype=object)
            unusual = shown != canonical
            if unusual.any():
                parts.append(
                    pd.DataFrame(
                        {
                            "variable": name,
                            "raw_form": round_.redactor.values(shown[unusual]),
                            "recognised_as": [codes[int(k)].key for k in numbers[unusual]],
                            "code": canonical[unusual],
                        }
                    )
                )
    columns = ["variable", "raw_form", "recognised_as", "code", "count"]
    if not parts:
        return pd.DataFrame(columns=columns)
    stacked = pd.concat(parts, ignore_index=True)
    counted = stacked.groupby(columns[:-1], sort=True).size().rename("count").reset_index()
    return counted[columns]


def _enumerator_findings(round_: PreparedRound, counts: pd.DataFrame) -> pd.DataFrame:
    config = round_.plan.config
    frame = counts.assign(enumerator=round_.enumerator)
    per = frame.groupby("enumerator", sort=True)[["asked", "missing", "dont_know", "refused"]].sum()
    total = per.sum()
    parts = []
    for name, words in _RATES:
        if not total["asked"]:
            break
        overall = total[name] / total["asked"]
        rate = per[name] / per["asked"].where(per["asked"] > 0)
        flagged = per[
            (per["asked"] >= config.min_relevant)
            & (rate > config.enumerator_ratio * overall)
            & (rate - overall > _MIN_EXCESS)
        ]
        if flagged.empty:
            continue
        shown = rate[flagged.index]
        parts.append(
            finding_frame(
                check="missing",
                form=round_.label,
                enumerator=flagged.index.to_numpy(dtype=object),
                value=np.array([f"{r:.1%}" for r in shown], dtype=object),
                rule=f"enumerator_high_{name}",
                severity="warning",
                message=np.array(
                    [
                        f"{words} in {r:.1%} of {int(a)} questions asked, "
                        f"{r / overall if overall else float('inf'):.1f} times the overall "
                        f"{overall:.1%}"
                        for r, a in zip(shown, flagged["asked"], strict=True)
                    ],
                    dtype=object,
                ),
            )
        )
    return pd.concat(parts, ignore_index=True) if parts else finding_frame()


def check_missing(data: RawRound | PreparedRound, config: CheckConfig | None = None) -> CheckResult:
    """Measure missing, don't-know and refused answers per variable and per enumerator.

    Parameters
    ----------
    data : RawRound or PreparedRound
        The round.
    config : CheckConfig, optional
        The settings, for a raw round.

    Returns
    -------
    CheckResult
        Findings (warning): rules ``high_missing``, ``high_dont_know``, ``high_refused`` for
        variables whose rate among rows asked exceeds the configured threshold (with at least
        ``min_relevant`` rows asked), and ``enumerator_high_missing`` (etc.) for enumerators
        whose rate across all questions exceeds ``enumerator_ratio`` times the overall rate
        (and the overall rate by at least one percentage point). Tables ``missing_by_variable`` (per
        variable: rows, asked, answered, missing, dont_know, refused, not_applicable, distinct
        answers and the rates) and ``special_forms`` (special codes typed in other forms than
        the plain code, with counts).

    Notes
    -----
    Unit: variable (and enumerator). "Asked" is the question's skip logic, with its groups';
    ``distinct`` counts the different regular answers (special codes excluded, normalised text).
    """
    round_ = prepared(data, config)
    config = round_.plan.config
    table = _variable_table(round_)
    parts = []
    if not table.empty:
        for name, words in _RATES:
            threshold = getattr(config, name)
            hit = table[
                (table["asked"] >= config.min_relevant) & (table[f"pct_{name}"] > threshold)
            ]
            if hit.empty:
                continue
            parts.append(
                finding_frame(
                    check="missing",
                    form=round_.label,
                    variable=hit["variable"].to_numpy(dtype=object),
                    value=np.array([f"{p:.1%}" for p in hit[f"pct_{name}"]], dtype=object),
                    rule=f"high_{name}",
                    severity="warning",
                    message=np.array(
                        [
                            f"{words} in {int(k)} of {int(a)} rows asked ({p:.1%}; threshold "
                            f"{threshold:.0%})"
                            for k, a, p in zip(
                                hit[name], hit["asked"], hit[f"pct_{name}"], strict=True
                            )
                        ],
                        dtype=object,
                    ),
                )
            )
    parts.append(_enumerator_findings(round_, answer_counts(round_)))
    findings = pd.concat(parts, ignore_index=True)
    return CheckResult(
        findings, {"missing_by_variable": table, "special_forms": _special_forms(round_)}
    )
