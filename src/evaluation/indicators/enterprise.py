"""Enterprise indicators (E1-E6) of the enterprise questionnaire.

Skill needs, apprenticeship participation, retention, subsidies, green practices, employer
satisfaction and use of ILO tools.

Unit: enterprise x round; key ``enterprise_id`` + ``round``.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from evaluation.indicators._common import as_float, binary, multi_count

__all__ = ["SUBSIDY_GUIDELINE_RMB", "SUBSIDY_RECEIVED", "enterprise_indicators"]

#: Apprenticeship subsidy per apprentice per year "in principle RMB 5,000 or more" (MOHRSS et al.,
#: 8 June 2021 guideline on the enterprise new apprenticeship, DOMAIN.md section 4.1).
SUBSIDY_GUIDELINE_RMB = 5000.0
#: ``ent_appr_subsidy_status`` code of "received" (2 applied, not yet received; 3 applied, not
#: approved; 4 did not apply).
SUBSIDY_RECEIVED = 1


def _num(data: pd.DataFrame, name: str) -> pd.Series:
    if name not in data.columns:
        return pd.Series(pd.NA, index=data.index, dtype="Float64")
    return as_float(data[name])


def _ratio(num: pd.Series, den: pd.Series) -> pd.Series:
    ok = num.notna() & den.notna() & den.gt(0)
    return (num.astype(float) / den.astype(float)).where(ok).astype("Float64")


def enterprise_indicators(
    data: pd.DataFrame,
    *,
    exclusive: Mapping[str, set[str]] | None = None,
    satisfied_from: int = 4,
) -> pd.DataFrame:
    """Build the indicators of the enterprise questionnaire.

    Parameters
    ----------
    data : DataFrame
        Clean enterprise data: ``ent_employees_total``, ``ent_vacancies``,
        ``ent_vacancies_htf``, ``ent_skill_gap_share`` (0-100), ``ent_appr_participates``,
        ``ent_appr_total`` and its breakdowns, ``ent_appr_completed``, ``ent_appr_dropped``,
        ``ent_appr_cohort`` with ``ent_appr_retained_6m`` / ``_12m``, ``ent_appr_cost``,
        ``ent_appr_subsidy_status`` and ``ent_appr_subsidy``, the ``ent_green_practices``
        dummies, ``ent_sat_apprentices`` (sat5) and the ``ent_ilo_tools_used`` dummies.
    exclusive : mapping, optional
        Option codes not counted in each select_multiple (the exclusive "none" option), read
        from the instrument by :func:`evaluation.indicators.construct.construct_indicators`;
        default ``{"0"}``, the project's code for "none of these".
    satisfied_from : int, default 4
        Lowest satisfaction code counted as satisfied.

    Returns
    -------
    DataFrame
        ``hard_to_fill_rate``, ``has_htf_vacancy``, ``skill_gap_share`` (0-1),
        ``appr_participation``, ``apprentices_per_100``, ``appr_share_female`` / ``_rural`` /
        ``_disability``, ``appr_completion_rate``, ``apprentice_retention_6m`` and
        ``apprentice_retention_12m``, ``appr_subsidy_received``, ``appr_subsidy``,
        ``appr_net_cost``, ``appr_subsidy_ge_guideline``, ``green_practices_count``,
        ``green_practices_any``, ``employer_satisfaction_apprentices`` (0/1),
        ``employer_satisfaction_score`` (1-5), ``ilo_tools_count`` and ``ilo_tools_any``.

    Notes
    -----
    Unit: enterprise x round. Ratios are missing when the denominator is zero or missing.

    - **hard_to_fill_rate** = hard-to-fill vacancies / vacancies, for enterprises with
      vacancies; **has_htf_vacancy** is 0 for an enterprise without vacancies (the
      hard-to-fill item is then skipped).
    - **apprentices_per_100** = apprentices x 100 / employees, over every enterprise:
      enterprises not taking part (``ent_appr_participates`` = 0) have none.
    - **apprentice_retention_12m** (and ``_6m``) = apprentices still with the enterprise 12 (6)
      months after completing / apprentices who completed 12 to 24 months ago
      (``ent_appr_cohort``, the form's base: a cohort old enough to be observed 12 months on).
      Missing when the cohort is 0 or unknown.
    - **Subsidies**: ``ent_appr_subsidy`` is asked only when the subsidy was received
      (``ent_appr_subsidy_status`` = 1). ``appr_subsidy_received`` is 0/1 over participating
      enterprises that know their status; ``appr_subsidy`` (RMB per apprentice per year) and
      ``appr_subsidy_ge_guideline`` (>= RMB 5,000) are defined for recipients only;
      ``appr_net_cost`` = cost minus the subsidy, the subsidy being 0 for enterprises that
      applied without receiving it or did not apply.
    - **select_multiple counts** leave out the exclusive "none" option; a "don't know" answer
      makes them missing.
    """
    exclusive = exclusive or {}
    out = pd.DataFrame(index=data.index)
    vac, htf = _num(data, "ent_vacancies"), _num(data, "ent_vacancies_htf")
    out["hard_to_fill_rate"] = _ratio(htf, vac)
    out["has_htf_vacancy"] = binary(htf.gt(0), htf.notna() | vac.eq(0))
    out["skill_gap_share"] = (_num(data, "ent_skill_gap_share").astype(float) / 100).astype(
        "Float64"
    )
    part = _num(data, "ent_appr_participates")
    out["appr_participation"] = binary(part.eq(1), part.notna())
    total = _num(data, "ent_appr_total").mask(part.eq(0).fillna(False), 0.0)
    out["apprentices_per_100"] = _ratio(total * 100, _num(data, "ent_employees_total"))
    for group in ("female", "rural", "disability"):
        out[f"appr_share_{group}"] = _ratio(_num(data, f"ent_appr_{group}"), total)
    completed, dropped = _num(data, "ent_appr_completed"), _num(data, "ent_appr_dropped")
    out["appr_completion_rate"] = _ratio(completed, completed + dropped)
    cohort = _num(data, "ent_appr_cohort")
    for months in (6, 12):
        out[f"apprentice_retention_{months}m"] = _ratio(
            _num(data, f"ent_appr_retained_{months}m"), cohort
        )
    status = _num(data, "ent_appr_subsidy_status")
    received = status.eq(SUBSIDY_RECEIVED).fillna(False)
    out["appr_subsidy_received"] = binary(received, status.notna())
    subsidy = _num(data, "ent_appr_subsidy").where(received)
    out["appr_subsidy"] = subsidy
    subsidy_or_zero = subsidy.mask(status.notna() & ~received, 0.0)
    out["appr_net_cost"] = (_num(data, "ent_appr_cost") - subsidy_or_zero).astype("Float64")
    out["appr_subsidy_ge_guideline"] = binary(subsidy.ge(SUBSIDY_GUIDELINE_RMB), subsidy.notna())
    for question, stem in (
        ("ent_green_practices", "green_practices"),
        ("ent_ilo_tools_used", "ilo_tools"),
    ):
        count, known = multi_count(data, question, exclusive.get(question, {"0"}))
        out[f"{stem}_count"] = count
        out[f"{stem}_any"] = binary(count.gt(0), known)
    sat = _num(data, "ent_sat_apprentices")
    out["employer_satisfaction_apprentices"] = binary(sat.ge(satisfied_from), sat.notna())
    out["employer_satisfaction_score"] = sat
    return out[
        [
            "hard_to_fill_rate",
            "has_htf_vacancy",
            "skill_gap_share",
            "appr_participation",
            "apprentices_per_100",
            "appr_share_female",
            "appr_share_rural",
            "appr_share_disability",
            "appr_completion_rate",
            "apprentice_retention_6m",
            "apprentice_retention_12m",
            "appr_subsidy_received",
            "appr_subsidy",
            "appr_net_cost",
            "appr_subsidy_ge_guideline",
            "green_practices_count",
            "green_practices_any",
            "employer_satisfaction_apprentices",
            "employer_satisfaction_score",
            "ilo_tools_count",
            "ilo_tools_any",
        ]
    ]
