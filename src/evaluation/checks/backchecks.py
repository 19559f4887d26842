"""Back-check comparison (IPA ``ipabcstats``): re-interview answers against the survey's.

A back-checker revisits a sample of respondents and asks the questions tagged with a back-check
category again. The categories follow IPA's three types: ``should_not_change`` (type 1: facts
that cannot change; differences may lead to action against the enumerator),
``enumerator_sensitive`` (type 2: hard to administer; differences call for training) and
``stable`` (type 3: the stability of the answer is of interest). Answers are compared after
normalisation, with tolerance ranges for numbers; error rates are given per enumerator, per
back-checker and per variable, with tests of differences and reliability ratios.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy import stats

from evaluation.checks.config import CheckConfig, Tolerance
from evaluation.checks.findings import CheckResult, finding_frame
from evaluation.checks.plan import MAIN, FormPlan, Variable, plan_form
from evaluation.checks.prepare import (
    ANSWERED,
    EMPTY,
    PreparedRound,
    prepare_round,
    prepared,
    submission_order,
)
from evaluation.loaders.model import RawRound

__all__ = ["TYPES", "compare_backchecks", "prtest", "reliability"]

#: IPA type number of each back-check category.
TYPES = {"should_not_change": 1, "enumerator_sensitive": 2, "stable": 3}
_SEVERITY = {1: "error", 2: "warning", 3: "info"}
_SYMBOLS = re.compile(r"[^\w\s]|_", re.UNICODE)
_SPACES = re.compile(r"\s+")


def prtest(survey: np.ndarray, backcheck: np.ndarray) -> tuple[float, float]:
    """Two-sample test of equal proportions (Stata ``prtest var1 == var2``).

    Parameters
    ----------
    survey, backcheck : numpy.ndarray
        0/1 answers.

    Returns
    -------
    tuple of (float, float)
        The z statistic and its two-sided p-value (NaN when the pooled proportion is 0 or 1).

    Notes
    -----
    ``z = (p1 - p2) / sqrt(p (1 - p) (1/n1 + 1/n2))`` with ``p`` the pooled proportion, as
    Stata's ``prtest`` with two variables, which treats them as independent samples.
    """
    n1, n2 = len(survey), len(backcheck)
    p1, p2 = float(np.mean(survey)), float(np.mean(backcheck))
    pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
    variance = pooled * (1 - pooled) * (1 / n1 + 1 / n2)
    if variance <= 0:
        return float("nan"), float("nan")
    z = (p1 - p2) / np.sqrt(variance)
    return float(z), float(2 * stats.norm.sf(abs(z)))


def reliability(survey: np.ndarray, backcheck: np.ndarray) -> tuple[float, float]:
    """Compute the simple response variance and reliability ratio of paired answers.

    Parameters
    ----------
    survey, backcheck : numpy.ndarray
        Paired numeric answers.

    Returns
    -------
    tuple of (float, float)
        ``SRV = Var(survey - backcheck) / 2`` and ``1 - SRV / Var(backcheck)`` (sample variances,
        n - 1), as ``ipabcstats`` computes them (the back-check's variance, taken as the more
        reliable measurement). NaN when fewer than two pairs or no variance.
    """
    if len(survey) < 2:
        return float("nan"), float("nan")
    srv = float(np.var(survey - backcheck, ddof=1) / 2)
    variance = float(np.var(backcheck, ddof=1))
    return srv, (1 - srv / variance) if variance > 0 else float("nan")


def _normal_text(values: pd.Series) -> pd.Series:
    text = values.astype(object).str.normalize("NFKC").str.casefold()
    text = text.str.replace(_SYMBOLS, " ", regex=True).str.replace(_SPACES, " ", regex=True)
    return text.str.strip()


def _same(
    kind: str,
    survey: pd.Series,
    backcheck: pd.Series,
    *,
    s_regular: np.ndarray,
    b_regular: np.ndarray,
    tolerance: Tolerance | None,
) -> np.ndarray:
    if kind in ("integer", "decimal", "range"):
        s = pd.to_numeric(survey, errors="coerce").to_numpy(dtype=float)
        b = pd.to_numeric(backcheck, errors="coerce").to_numpy(dtype=float)
        numeric = s_regular & b_regular & np.isfinite(s) & np.isfinite(b)
        difference = b - s
        if tolerance is None:
            close = difference == 0
        elif tolerance.percent:
            scale = np.abs(s) / 100
            close = (difference >= tolerance.lower * scale) & (
                difference <= tolerance.upper * scale
            )
        else:
            close = (difference >= tolerance.lower) & (difference <= tolerance.upper)
        text_same = survey.to_numpy(dtype=object) == backcheck.to_numpy(dtype=object)
        return np.where(numeric, close, text_same)
    if kind == "select_multiple":

        def tokens(values: pd.Series) -> np.ndarray:
            split = values.astype(object).str.split().map(lambda t: " ".join(sorted(t)))
            return split.to_numpy(dtype=object)

        return tokens(survey) == tokens(backcheck)
    if kind == "text":
        return _normal_text(survey).to_numpy(dtype=object) == _normal_text(backcheck).to_numpy(
            dtype=object
        )
    return survey.to_numpy(dtype=object) == backcheck.to_numpy(dtype=object)


def _rates(comparisons: pd.DataFrame, by: str) -> pd.DataFrame:
    compared = comparisons[comparisons["result"] != "not compared"]
    if compared.empty:
        return pd.DataFrame(columns=[by])
    compared = compared.assign(different=compared["result"] == "different")
    table = compared.groupby([by, "type"])["different"].agg(["size", "sum"]).unstack("type")
    out = pd.DataFrame(index=table.index)
    for number in (1, 2, 3):
        if ("size", number) in table.columns:
            size = table[("size", number)].fillna(0)
            different = table[("sum", number)].fillna(0)
            out[f"compared_{number}"] = size.astype(int)
            out[f"different_{number}"] = different.astype(int)
            out[f"error_rate_{number}"] = np.divide(
                different, size, out=np.full(len(size), np.nan), where=size > 0
            )
    total = compared.groupby(by)["different"].agg(["size", "sum"])
    out["compared"] = total["size"].astype(int)
    out["different"] = total["sum"].astype(int)
    out["error_rate"] = total["sum"] / total["size"]
    return out.reset_index()


def _backcheck_plan(backcheck: RawRound, config: CheckConfig) -> FormPlan:
    """Plan a back-check export: its codes and columns only (the survey's rules do not apply)."""
    bare = config.replace(
        outliers=(), constraints=(), logic=(), specify=(), unique=(), outlier_auto=False
    )
    return plan_form(backcheck.instrument, bare, backcheck.round)


def compare_backchecks(
    survey: RawRound | PreparedRound,
    backcheck: RawRound | PreparedRound,
    config: CheckConfig | None = None,
) -> CheckResult:
    """Compare back-check answers with the survey's.

    Parameters
    ----------
    survey : RawRound or PreparedRound
        The survey round.
    backcheck : RawRound or PreparedRound
        The back-check export of that round (read with the back-check form,
        :func:`evaluation.instruments.backcheck.backcheck_instrument`).
    config : CheckConfig, optional
        The settings, for raw rounds.

    Returns
    -------
    CheckResult
        Findings: one per differing answer (rule ``backcheck_<category>``; error for type 1,
        warning for type 2, info for type 3; the value shows both answers, redacted);
        ``backcheck_high_error`` (warning) for respondents with at least ``show_id`` of their
        compared answers different; ``backcheck_not_in_survey`` (warning) for back-checks of a
        key without a survey. Tables ``bc_comparisons`` (every pair), ``bc_enumerators``
        (surveys, back-checked, share, compared, different and error rate per type and in
        all), ``bc_backcheckers`` (the same per back-checker, with the mean days between
        survey and back-check) and ``bc_variables`` (per variable: type, compared, different,
        error rate, means, the test, its statistic and p-value, SRV and reliability ratio).

    Notes
    -----
    Unit: respondent x variable. A respondent's survey answer is that of its last completed
    submission (by submission time). Variables: those of the main table with a back-check
    category (the instrument's, or ``[backchecks] types``) present in both exports. Pairs are
    compared when both answers are present (``compare_missing = true``: when either is).
    Numbers count as equal within the variable's tolerance range (absolute, or percent of the
    survey value), text after NFKC, case folding and removal of symbols and extra spaces,
    select_multiple answers as sets, special codes as codes. Tests (types 2 and 3): a paired
    t-test (``scipy.stats.ttest_rel``, Stata ``ttest s == b``) and the reliability ratio for
    numeric questions, the two-sample proportion test of :func:`prtest` for yes/no questions.
    """
    survey_round = prepared(survey, config)
    config = survey_round.plan.config
    bc_round = (
        backcheck
        if isinstance(backcheck, PreparedRound)
        else prepare_round(backcheck, config, plan=_backcheck_plan(backcheck, config))
    )
    plan = survey_round.plan
    order = submission_order(survey_round)
    chosen = order[survey_round.completed[order]]
    last = pd.Series(chosen, index=survey_round.key[chosen]).groupby(level=0).last()
    last = last[last.index != ""]
    bc_keys = bc_round.key
    bc_rows = np.flatnonzero(bc_keys != "")
    matched = pd.Series(bc_keys[bc_rows]).isin(last.index).to_numpy(dtype=bool)
    parts = []
    orphans = bc_rows[~matched]
    if len(orphans):
        parts.append(
            bc_round.findings(
                "backchecks",
                bc_round.main,
                orphans,
                variable=plan.key or "",
                rule="backcheck_not_in_survey",
                severity="warning",
                message="back-checked respondent without a completed survey submission",
                value=bc_keys[orphans],
            )
        )
    bc_rows = bc_rows[matched]
    s_rows = last.loc[bc_keys[bc_rows]].to_numpy(dtype=int)
    backchecker = (
        bc_round.main.frame[config.backchecker].to_numpy(dtype=object)[bc_rows]
        if config.backchecker in bc_round.main.frame.columns
        else np.full(len(bc_rows), "", dtype=object)
    )
    s_day = pd.to_datetime(pd.Series(survey_round.day[s_rows]), errors="coerce")
    b_day = pd.to_datetime(pd.Series(bc_round.day[bc_rows]), errors="coerce")
    days = (b_day - s_day).dt.days.to_numpy(dtype=float)
    comparisons, variable_rows = [], []
    for name, category in plan.backcheck.items():
        info = plan.variables[name]
        if (
            info.table != MAIN
            or name not in survey_round.main.status
            or name not in bc_round.main.status
        ):
            continue
        number = TYPES[category]
        s_text = survey_round.main.frame[name].iloc[s_rows].reset_index(drop=True)
        b_text = bc_round.main.frame[name].iloc[bc_rows].reset_index(drop=True)
        s_status = survey_round.main.status[name][s_rows]
        b_status = bc_round.main.status[name][bc_rows]
        present = (s_status != EMPTY) & (b_status != EMPTY)
        if config.bc_compare_missing:
            present = (s_status != EMPTY) | (b_status != EMPTY)
        same = _same(
            info.type,
            s_text,
            b_text,
            s_regular=s_status == ANSWERED,
            b_regular=b_status == ANSWERED,
            tolerance=config.bc_tolerance.get(name),
        )
        result = np.where(~present, "not compared", np.where(same, "same", "different"))
        comparisons.append(
            pd.DataFrame(
                {
                    "key": survey_round.key[s_rows],
                    "submission": survey_round.submission[s_rows],
                    "enumerator": survey_round.enumerator[s_rows],
                    "backchecker": backchecker,
                    "backcheck": bc_round.submission[bc_rows],
                    "variable": name,
                    "category": category,
                    "type": number,
                    "survey_value": survey_round.shown(survey_round.main, name, s_rows),
                    "backcheck_value": bc_round.shown(bc_round.main, name, bc_rows),
                    "result": result,
                    "days": days,
                    "_survey_row": s_rows,
                }
            )
        )
        variable_rows.append(
            _variable_stats(
                info,
                number,
                survey=(s_text, s_status),
                backcheck=(b_text, b_status),
                present=present,
                same=same,
            )
        )
    if not comparisons:
        findings = pd.concat(parts, ignore_index=True) if parts else finding_frame()
        return CheckResult(
            findings, {"bc_comparisons": pd.DataFrame(), "bc_variables": pd.DataFrame()}
        )
    table = pd.concat(comparisons, ignore_index=True)
    different = table[table["result"] == "different"]
    if len(different):
        parts.append(
            survey_round.findings(
                "backchecks",
                survey_round.main,
                different["_survey_row"].to_numpy(dtype=int),
                variable=different["variable"].to_numpy(dtype=object),
                rule=("backcheck_" + different["category"]).to_numpy(dtype=object),
                severity=different["type"].map(_SEVERITY).to_numpy(dtype=object),
                message=(
                    "back-check "
                    + different["backcheck"].astype(str)
                    + " by "
                    + different["backchecker"].astype(str)
                    + " differs ("
                    + different["category"].astype(str)
                    + ")"
                ).to_numpy(dtype=object),
                value=(
                    "survey: "
                    + different["survey_value"].astype(str)
                    + " | back-check: "
                    + different["backcheck_value"].astype(str)
                ).to_numpy(dtype=object),
            )
        )
    compared = table[table["result"] != "not compared"]
    per_key = (
        compared.assign(d=compared["result"] == "different")
        .groupby("key")
        .agg(n=("d", "size"), d=("d", "sum"), row=("_survey_row", "first"))
    )
    high = per_key[(per_key["n"] > 0) & (per_key["d"] / per_key["n"] >= config.bc_show_id)]
    if len(high):
        parts.append(
            survey_round.findings(
                "backchecks",
                survey_round.main,
                high["row"].to_numpy(dtype=int),
                variable="",
                rule="backcheck_high_error",
                severity="warning",
                message=np.array(
                    [
                        f"{int(d)} of {int(n)} back-checked answers differ ({d / n:.0%}; "
                        f"threshold {config.bc_show_id:.0%})"
                        for d, n in zip(high["d"], high["n"], strict=True)
                    ],
                    dtype=object,
                ),
                value=np.array(
                    [f"{d / n:.0%}" for d, n in zip(high["d"], high["n"], strict=True)], object
                ),
            )
        )
    enumerators = _rates(table, "enumerator")
    surveys = (
        pd.Series(survey_round.enumerator[survey_round.completed]).value_counts().rename("surveys")
    )
    checked = table.drop_duplicates("key").groupby("enumerator").size().rename("backchecked")
    enumerators = enumerators.merge(surveys, left_on="enumerator", right_index=True, how="left")
    enumerators = enumerators.merge(checked, left_on="enumerator", right_index=True, how="left")
    enumerators["pct_backchecked"] = enumerators["backchecked"] / enumerators["surveys"]
    front = ["enumerator", "surveys", "backchecked", "pct_backchecked"]
    enumerators = enumerators[front + [c for c in enumerators.columns if c not in front]]
    backcheckers = _rates(table, "backchecker")
    first = table.drop_duplicates("backcheck")
    extra = first.groupby("backchecker").agg(
        backchecks=("backcheck", "size"), average_days=("days", "mean")
    )
    backcheckers = backcheckers.merge(extra, left_on="backchecker", right_index=True, how="left")
    front = ["backchecker", "backchecks", "average_days"]
    backcheckers = backcheckers[front + [c for c in backcheckers.columns if c not in front]]
    findings = pd.concat(parts, ignore_index=True) if parts else finding_frame()
    return CheckResult(
        findings,
        {
            "bc_comparisons": table.drop(columns="_survey_row"),
            "bc_enumerators": enumerators,
            "bc_backcheckers": backcheckers,
            "bc_variables": pd.DataFrame(variable_rows),
        },
    )


def _variable_stats(
    info: Variable,
    number: int,
    *,
    survey: tuple[pd.Series, np.ndarray],
    backcheck: tuple[pd.Series, np.ndarray],
    present: np.ndarray,
    same: np.ndarray,
) -> dict[str, object]:
    name = info.name
    s_text, s_status = survey
    b_text, b_status = backcheck
    row: dict[str, object] = {
        "variable": name,
        "type": number,
        "compared": int(present.sum()),
        "different": int((present & ~same).sum()),
    }
    row["error_rate"] = row["different"] / row["compared"] if row["compared"] else float("nan")
    regular = present & (s_status == ANSWERED) & (b_status == ANSWERED)
    s = pd.to_numeric(s_text, errors="coerce").to_numpy(dtype=float)
    b = pd.to_numeric(b_text, errors="coerce").to_numpy(dtype=float)
    pairs = regular & np.isfinite(s) & np.isfinite(b)
    s, b = s[pairs], b[pairs]
    row.update(
        test="",
        survey_mean=float("nan"),
        backcheck_mean=float("nan"),
        difference=float("nan"),
        statistic=float("nan"),
        pvalue=float("nan"),
        srv=float("nan"),
        reliability=float("nan"),
    )
    if number == 1 or len(s) < 2:
        return row
    codes = {c for c in info.codes if c not in info.other_codes}
    binary = info.type == "select_one" and set(np.unique(np.concatenate([s, b]))) <= {0.0, 1.0}
    binary = binary and {"0", "1"} <= codes
    if info.question.is_numeric:
        difference = s - b
        if np.var(difference) == 0:
            statistic, pvalue = 0.0, 1.0 if np.all(difference == 0) else float("nan")
        else:
            result = stats.ttest_rel(s, b)
            statistic, pvalue = float(result.statistic), float(result.pvalue)
        srv, ratio = reliability(s, b)
        row.update(test="ttest", statistic=statistic, pvalue=pvalue, srv=srv, reliability=ratio)
    elif binary:
        statistic, pvalue = prtest(s, b)
        row.update(test="prtest", statistic=statistic, pvalue=pvalue)
    else:
        return row
    row.update(
        survey_mean=float(s.mean()),
        backcheck_mean=float(b.mean()),
        difference=float(s.mean() - b.mean()),
    )
    return row
