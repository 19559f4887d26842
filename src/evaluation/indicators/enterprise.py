"""Enterprise indicators (E1-E6) of the enterprise questionnaire.

Skill needs, apprenticeship participation, retention, subsidies, green practices, employer
satisfaction and use of ILO tools.

Unit: enterprise x round; key ``enterprise_id`` + ``round``.
"""

from __future__ import annotations

import pandas as pd

from evaluation.indicators._common import as_float, binary

__all__ = ["SUBSIDY_GUIDELINE_RMB", "enterprise_indicators"]

#: Apprenticeship subsidy per apprentice per year "in principle RMB 5,000 or more" (MOHRSS et al.,
#: 8 June 2021 guideline on the enterprise new apprenticeship, DOMAIN.md section 4.1).
SUBSIDY_GUIDELINE_RMB = 5000.0


def _num(data: pd.DataFrame, name: str) -> pd.Series:
    if name not in data.columns:
        return pd.Series(pd.NA, index=data.index, dtype="Float64")
    return as_float(data[name])


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    ok = num.notna() & den.notna() & den.gt(0)
    return (num.astype(float) / den.astype(float)).where(ok).astype("Float64")


def _multi(data: pd.DataFrame, name: str, exclusive: set[str]) -> tuple[pd.Series, pd.Series]:
    """Count of chosen non-exclusive options of a select_multiple, and whether it was asked."""
    dummies = sorted(
        c
        for c in data.columns
        if c.startswith(f"{name}__")
        and c.removeprefix(f"{name}__") not in exclusive
        and c.removeprefix(f"{name}__").isdigit()
    )
    if not dummies:
        empty = pd.Series(pd.NA, index=data.index, dtype="Float64")
        return empty, pd.Series(False, index=data.index)
    frame = pd.DataFrame({c: as_float(data[c]) for c in dummies})
    asked = frame.notna().all(axis=1)
    return frame.sum(axis=1).astype("Float64").where(asked), asked


def enterprise_indicators(
    data: pd.DataFrame, *, exclusive: dict[str, set[str]] | None = None, satisfied_from: int = 4
) -> pd.DataFrame:
    """Build the indicators of the enterprise questionnaire.

    Parameters
    ----------
    data : DataFrame
        Clean enterprise data (names in notes/names.md): ``ent_employees_total``,
        ``ent_vacancies``, ``ent_vacancies_htf``, ``ent_skill_gap_share`` (0-100),
        ``ent_appr_participates``, ``ent_appr_total`` and its breakdowns, ``ent_appr_completed``,
        ``ent_appr_dropped``, ``ent_appr_retained_12m``, ``ent_appr_cost``, ``ent_appr_subsidy``,
        ``ent_green_practices`` dummies, ``ent_sat_apprentices`` (sat5) and
        ``ent_ilo_tools_used`` dummies.
    exclusive : dict, optional
        Option codes not counted in each select_multiple (exclusive "none" options), read from
        the instrument by :func:`evaluation.indicators.construct.construct_indicators`.
    satisfied_from : int, default 4
        Lowest satisfaction code counted as satisfied.

    Returns
    -------
    DataFrame
        ``hard_to_fill_rate`` (share of vacancies hard to fill), ``has_htf_vacancy``,
        ``skill_gap_share`` (share of staff not fully proficient, 0-1), ``appr_participation``,
        ``apprentices_per_100``, ``appr_share_female`` / ``_rural`` / ``_disability``,
        ``appr_completion_rate``, ``apprentice_retention_12m`` (retained 12 months after
        completion / completed), ``appr_subsidy``, ``appr_net_cost``, ``appr_subsidy_ge_guideline``
        (subsidy >= RMB 5,000), ``green_practices_count``, ``green_practices_any``,
        ``employer_satisfaction_apprentices`` (0/1: satisfied that apprentices acquire the skills
        the job requires, the ILO Toolkit's employer-satisfaction indicator),
        ``employer_satisfaction_score`` (1-5), ``ilo_tools_count`` and ``ilo_tools_any``.

    Notes
    -----
    Unit: enterprise x round. Ratios are missing when the denominator is zero or missing.
    """
    exclusive = exclusive or {}
    out = pd.DataFrame(index=data.index)
    vac, htf = _num(data, "ent_vacancies"), _num(data, "ent_vacancies_htf")
    out["hard_to_fill_rate"] = _ratio(htf, vac)
    out["has_htf_vacancy"] = binary(htf.gt(0), htf.notna())
    out["skill_gap_share"] = (_num(data, "ent_skill_gap_share").astype(float) / 100).astype(
        "Float64"
    )
    part = _num(data, "ent_appr_participates")
    out["appr_participation"] = binary(part.eq(1), part.notna())
    total = _num(data, "ent_appr_total")
    out["apprentices_per_100"] = _ratio(total * 100, _num(data, "ent_employees_total"))
    for group in ("female", "rural", "disability"):
        out[f"appr_share_{group}"] = _ratio(_num(data, f"ent_appr_{group}"), total)
    completed, dropped = _num(data, "ent_appr_completed"), _num(data, "ent_appr_dropped")
    out["appr_completion_rate"] = _ratio(completed, completed + dropped)
    out["apprentice_retention_12m"] = _ratio(_num(data, "ent_appr_retained_12m"), completed)
    subsidy, cost = _num(data, "ent_appr_subsidy"), _num(data, "ent_appr_cost")
    out["appr_subsidy"] = subsidy
    out["appr_net_cost"] = (cost - subsidy).astype("Float64")
    out["appr_subsidy_ge_guideline"] = binary(subsidy.ge(SUBSIDY_GUIDELINE_RMB), subsidy.notna())
    count, asked = _multi(data, "ent_green_practices", exclusive.get("ent_green_practices", set()))
    out["green_practices_count"] = count
    out["green_practices_any"] = binary(count.gt(0), asked)
    sat = _num(data, "ent_sat_apprentices")
    out["employer_satisfaction_apprentices"] = binary(sat.ge(satisfied_from), sat.notna())
    out["employer_satisfaction_score"] = sat
    tools, asked = _multi(data, "ent_ilo_tools_used", exclusive.get("ent_ilo_tools_used", set()))
    out["ilo_tools_count"] = tools
    out["ilo_tools_any"] = binary(tools.gt(0), asked)
    return out
