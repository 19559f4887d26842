"""Core and green skills, apprenticeship quality, certification and perceptions (M3, M8-M12).

Core skills follow the four categories of the ILO Global Framework on Core Skills for Life and
Work in the 21st Century (2021); items are prefixed ``cs_se_`` (social and emotional), ``cs_cg_``
(cognitive and metacognitive), ``cs_dg_`` (basic digital) and ``cs_gr_`` (basic skills for green
jobs). Scores are standardised on a reference group (the baseline comparison group).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from evaluation.indicators._common import IndicatorError, as_float, as_int, binary, reason
from evaluation.indicators.indices import cronbach_alpha, standardize, summary_index

__all__ = [
    "CORE_SKILL_SCALES",
    "QUALITY_ITEMS",
    "answer_score",
    "apprenticeship_indicators",
    "core_skills",
    "core_skills_reliability",
    "index_of_items",
    "item_columns",
    "scale_score",
    "training_volume",
]

#: Core-skills subscale -> item prefix (ILO 2021 categories).
CORE_SKILL_SCALES: Mapping[str, str] = {
    "core_skills_social": "cs_se_",
    "core_skills_cognitive": "cs_cg_",
    "core_skills_digital": "cs_dg_",
    "core_skills_green": "cs_gr_",
}


def item_columns(data: pd.DataFrame, prefix: str) -> list[str]:
    """Numeric question columns with a prefix (reason, dummy and text columns excluded), sorted.

    Parameters
    ----------
    data : DataFrame
        Clean data.
    prefix : str
        Item prefix, e.g. ``"cs_se_"``.

    Returns
    -------
    list of str
        The item columns. Text columns (notes such as ``img_intro`` kept by a cleaning run,
        free text) are not items.
    """
    return sorted(
        c
        for c in data.columns
        if c.startswith(prefix) and "__" not in c and pd.api.types.is_numeric_dtype(data[c])
    )


def scale_score(items: pd.DataFrame, min_share: float = 0.5) -> pd.Series:
    """Mean of a scale's items, when at least ``min_share`` of them are answered.

    Parameters
    ----------
    items : DataFrame
        One column per item.
    min_share : float, default 0.5
        Smallest share of answered items for a score.

    Returns
    -------
    Series
        ``Float64`` mean of the answered items, missing with too few.
    """
    frame = pd.DataFrame({c: as_float(items[c]).astype(float) for c in items.columns})
    answered = frame.notna().sum(axis=1)
    mean = frame.mean(axis=1)
    return mean.where(answered >= min_share * frame.shape[1]).astype("Float64")


def core_skills(
    data: pd.DataFrame, reference: pd.Series | None = None, *, min_share: float = 0.5
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Core-skills subscale scores and overall index, standardised, with Cronbach's alpha.

    Parameters
    ----------
    data : DataFrame
        Clean apprentice data with the ``cs_*`` items (ability5, 1 not at all .. 5 very well).
    reference : Series of bool, optional
        The standardisation group (the baseline comparison group); default every row.
    min_share : float, default 0.5
        Smallest share of a subscale's items answered for a score.

    Returns
    -------
    scores : DataFrame
        ``core_skills_<scale>`` (standardised subscale means), ``core_skills_<scale>_raw``
        (means on the 1-5 scale) and ``core_skills_index`` (the standardised mean of the
        subscale means present).
    reliability : DataFrame
        One row per subscale and overall: ``scale``, ``items``, ``n`` (complete rows) and
        ``alpha`` (Cronbach's alpha).

    Notes
    -----
    Unit: respondent x round. Each subscale raw score is the mean of its answered items; the
    overall raw score is the mean of the available subscale means (each ILO category weighs
    the same, whatever its number of items); each is standardised by the reference group's
    mean and SD (DOMAIN.md section 3.2, M10).
    """
    scores = pd.DataFrame(index=data.index)
    raws = {}
    for name, prefix in CORE_SKILL_SCALES.items():
        cols = item_columns(data, prefix)
        if not cols:
            continue
        raw = scale_score(data[cols], min_share)
        raws[name] = raw
        scores[f"{name}_raw"] = raw
        scores[name] = standardize(raw, reference, name=name)
    if raws:
        overall = pd.DataFrame(raws).astype(float).mean(axis=1).astype("Float64")
        scores["core_skills_index"] = standardize(overall, reference, name="core_skills_index")
    return scores, core_skills_reliability(data)


def core_skills_reliability(data: pd.DataFrame) -> pd.DataFrame:
    """Cronbach's alpha of each core-skills subscale and of all items together.

    Parameters
    ----------
    data : DataFrame
        Clean apprentice data with the ``cs_*`` items.

    Returns
    -------
    DataFrame
        One row per subscale present and overall (``core_skills_index``): ``scale``, ``items``,
        ``n`` (complete rows) and ``alpha``.
    """
    rel = []
    all_items: list[str] = []
    for name, prefix in CORE_SKILL_SCALES.items():
        cols = item_columns(data, prefix)
        if not cols:
            continue
        all_items += cols
        alpha, n = cronbach_alpha(data[cols])
        rel.append({"scale": name, "items": len(cols), "n": n, "alpha": alpha})
    if all_items:
        alpha, n = cronbach_alpha(data[all_items])
        rel.append({"scale": "core_skills_index", "items": len(all_items), "n": n, "alpha": alpha})
    return pd.DataFrame(rel, columns=["scale", "items", "n", "alpha"])


def answer_score(
    data: pd.DataFrame,
    keys: Mapping[str, str | int],
    *,
    wrong_reasons: Sequence[str] = ("dont_know", "refused"),
    min_items: int | None = None,
) -> tuple[pd.Series, pd.DataFrame]:
    """Score multiple-choice items against their answer keys: percent correct.

    Parameters
    ----------
    data : DataFrame
        Clean data with one column per item (the chosen option's code).
    keys : mapping
        Item -> code of the correct option (the instrument's ``answer_key``).
    wrong_reasons : sequence of str
        Reasons scored as wrong (0): "don't know" scores 0, as does a refusal.
    min_items : int, optional
        Fewest scored items for a score; default all items.

    Returns
    -------
    score : Series
        ``Float64`` percent correct (0-100) over the scored items.
    correct : DataFrame
        Item-level 0/1 ``Float64`` (missing where skipped or blank).

    Raises
    ------
    IndicatorError
        When an item is absent from the data.
    """
    missing = [c for c in keys if c not in data.columns]
    if missing:
        msg = f"scored items {missing} are absent from the data"
        raise IndicatorError(msg)
    correct = pd.DataFrame(index=data.index)
    for item, key in keys.items():
        code = as_int(data[item], item)
        wrong = reason(data, item).isin(list(wrong_reasons)).fillna(False)
        correct[item] = binary(code.eq(int(key)), code.notna() | wrong)
    need = len(keys) if min_items is None else min_items
    scored = correct.notna().sum(axis=1)
    score = (correct.astype(float).mean(axis=1) * 100).where(scored >= need)
    return score.astype("Float64"), correct


#: Apprenticeship quality criteria asked of apprentices (M9, yes/no/don't know), after R208 and
#: the ILO Toolkit (DOMAIN.md section 2.7): written agreement, labour contract of at least one
#: year, enterprise mentor, institution mentor, training plan, OSH training, legal working hours,
#: assessment and certification.
QUALITY_ITEMS = (
    "appr_agreement",
    "appr_contract_1y",
    "appr_mentor_ent",
    "appr_mentor_inst",
    "appr_training_plan",
    "appr_osh",
    "appr_hours_legal",
    "appr_assessed",
)
#: Job indicators that stand for an R208 criterion, and the apprentice item that replaces them
#: when the form asks it directly (``None``: no such item).
JOB_CRITERIA = (
    ("formal_job", 1, None),
    ("below_min_wage", 0, None),
    ("contract_ge12m", 1, "appr_contract_1y"),
    ("excess_hours", 0, "appr_hours_legal"),
)
#: Apprenticeship status codes (``appr_status``).
APPR_ENROLLED, APPR_COMPLETED, APPR_DROPPED, APPR_NEVER = 1, 2, 3, 4


def apprenticeship_indicators(
    data: pd.DataFrame,
    job: pd.DataFrame | None = None,
    *,
    dont_know_as_unmet: bool = False,
    min_criteria: int = 4,
) -> pd.DataFrame:
    """Apprenticeship quality index, completion and dropout.

    Parameters
    ----------
    data : DataFrame
        Clean apprentice data with ``appr_status`` and the M9 quality items.
    job : DataFrame, optional
        Job indicators for the same rows (``formal_job``, ``below_min_wage`` and, when the
        form lacks the direct items, ``contract_ge12m`` and ``excess_hours``), adding the
        decent-work criteria for current apprentices.
    dont_know_as_unmet : bool, default False
        Count a "don't know" on a quality item as not met (default: not counted).
    min_criteria : int, default 4
        Fewest assessable criteria for an index value.

    Returns
    -------
    DataFrame
        ``appr_quality_index`` (share of criteria met, 0-1), ``appr_quality_n`` (criteria
        assessed), ``appr_completion`` and ``appr_dropout`` (0/1).

    Notes
    -----
    Unit: respondent x round; population: current and former apprentices (``appr_status`` 1-3).
    Criteria (R208 (2023) and its guide; ILO Toolkit for Quality Apprenticeships, 2017): the
    yes/no items of :data:`QUALITY_ITEMS` (written agreement, contract of at least one year,
    enterprise and institution mentors, training plan, OSH training, legal working hours,
    assessment), structured off-the-job training (``appr_offjob_hours`` > 0) and study time
    protected from production (``appr_study_protected`` agree, 4-5). For current apprentices
    (``appr_status`` = 1), whose present job is the apprenticeship, the job indicators add
    social protection (employer social insurance: ``formal_job``) and pay at or above the local
    minimum wage; ``contract_ge12m`` and ``excess_hours`` count only when the form lacks the
    direct items ``appr_contract_1y`` and ``appr_hours_legal``. Former apprentices' current job
    may be another one, so it is not used for them.
    ``appr_completion``: 1 completed, 0 dropped out (enrolled apprentices are still in the
    programme: missing). ``appr_dropout``: 1 dropped out, 0 enrolled or completed.
    """
    status = as_int(data["appr_status"], "appr_status") if "appr_status" in data else None
    if status is None:
        msg = "apprenticeship indicators need appr_status"
        raise IndicatorError(msg)
    apprentice = status.isin([APPR_ENROLLED, APPR_COMPLETED, APPR_DROPPED]).fillna(False)
    current = status.eq(APPR_ENROLLED).fillna(False)
    crit = pd.DataFrame(index=data.index)
    for item in QUALITY_ITEMS:
        if item not in data.columns:
            continue
        code = as_int(data[item], item)
        dk = reason(data, item).eq("dont_know").fillna(False) if dont_know_as_unmet else False
        crit[item] = binary(code.eq(1), code.notna() | dk)
    if "appr_offjob_hours" in data.columns:
        hours = as_float(data["appr_offjob_hours"])
        crit["offjob_training"] = binary(hours.gt(0), hours.notna())
    if "appr_study_protected" in data.columns:
        prot = as_float(data["appr_study_protected"])
        crit["study_protected"] = binary(prot.ge(4), prot.notna())
    if job is not None:
        for col, good, direct in JOB_CRITERIA:
            if col in job.columns and (direct is None or direct not in data.columns):
                v = as_float(job[col])
                crit[col] = binary(v.eq(good), v.notna() & current)
    assessed = crit.notna().sum(axis=1)
    index = crit.astype(float).mean(axis=1).where(apprentice & (assessed >= min_criteria))
    return pd.DataFrame(
        {
            "appr_quality_index": index.astype("Float64"),
            "appr_quality_n": assessed.where(apprentice).astype("Int64"),
            "appr_completion": binary(
                status.eq(APPR_COMPLETED), status.isin([APPR_COMPLETED, APPR_DROPPED])
            ),
            "appr_dropout": binary(status.eq(APPR_DROPPED), apprentice),
        },
        index=data.index,
    )


def index_of_items(
    data: pd.DataFrame,
    prefix: str,
    reference: pd.Series | None,
    *,
    method: str = "zscore",
    signs: Mapping[str, int] | None = None,
    name: str,
    items: Sequence[str] | None = None,
) -> pd.Series:
    """Summary index of every item with a prefix, or all missing when there is none.

    Parameters
    ----------
    data : DataFrame
        Clean data.
    prefix : str
        Item prefix (``"img_"``, ``"grn_practice_"``, ``"mm_use_"``).
    reference : Series of bool or None
        Standardisation group.
    method : {"zscore", "icw"}
        Index method (:func:`evaluation.indicators.indices.summary_index`).
    signs : mapping, optional
        Item sign flips.
    name : str
        Name of the result.
    items : sequence of str, optional
        The items, e.g. the instrument's questions with the prefix
        (:func:`evaluation.indicators.forms.question_items`); those absent from the data are
        ignored. Default: :func:`item_columns` of the prefix.

    Returns
    -------
    Series
        The index (``Float64``).
    """
    cols = (
        item_columns(data, prefix)
        if items is None
        else [c for c in items if c in data.columns and c.startswith(prefix)]
    )
    if not cols:
        return pd.Series(pd.NA, index=data.index, dtype="Float64", name=name)
    return summary_index(data, cols, method, reference=reference, signs=signs, name=name)


def training_volume(
    data: pd.DataFrame,
    courses: pd.DataFrame | None = None,
    *,
    key: Sequence[str] = ("resp_id", "round"),
    index: str = "trn_course_index",
    hours: str = "trn_c_hours",
    max_described: int = 3,
) -> pd.DataFrame:
    """Courses and hours of job-related training in the last 12 months (M8).

    Parameters
    ----------
    data : DataFrame
        Clean apprentice data with ``trn_any_12m`` (yes/no) and ``trn_n_courses`` (number of
        courses), one row per ``key``.
    courses : DataFrame, optional
        The ``trn_course`` repeat: one row per described course, keyed by ``key`` plus
        ``index`` (1-based), with ``hours`` (total hours of the course).
    key : sequence of str, default ("resp_id", "round")
        Parent key shared by ``data`` and ``courses``.
    index : str, default "trn_course_index"
        The repeat's position column.
    hours : str, default "trn_c_hours"
        Hours of each course.
    max_described : int, default 3
        Most courses the form describes (the repeat count is ``min(trn_n_courses, 3)``).

    Returns
    -------
    DataFrame
        Same index as ``data``: ``training_courses`` (``trn_n_courses``, 0 without training),
        ``training_hours`` (sum of the described courses' hours, 0 without training) and
        ``training_hours_partial`` (0/1: more courses than the form describes, so the hours
        are a lower bound).

    Raises
    ------
    IndicatorError
        When a key or hours column is missing, or a course row is duplicated.

    Notes
    -----
    Unit: respondent x round. The form asks the hours of at most three courses, the most
    recent first; with more courses ``training_hours`` covers those three only (a lower bound,
    flagged). ``training_hours`` is missing when a described course's hours are unknown, when
    the repeat holds fewer or more courses than the form asked for, or when ``courses`` is
    not given.
    """
    key = list(key)
    took = as_int(data["trn_any_12m"], "trn_any_12m") if "trn_any_12m" in data else None
    if took is None:
        msg = "training volume needs trn_any_12m"
        raise IndicatorError(msg)
    n = (
        as_int(data["trn_n_courses"], "trn_n_courses")
        if "trn_n_courses" in data
        else pd.Series(pd.NA, index=data.index, dtype="Int64")
    )
    none = took.eq(0).fillna(False)
    trained = took.eq(1).fillna(False)
    total = pd.Series(pd.NA, index=data.index, dtype="Float64").mask(none, 0.0)
    if courses is not None:
        missing = [c for c in [*key, index, hours] if c not in courses.columns]
        if missing:
            msg = f"the trn_course table lacks columns {missing}"
            raise IndicatorError(msg)
        if courses.duplicated([*key, index]).any():
            msg = f"the trn_course table has duplicated {[*key, index]} rows"
            raise IndicatorError(msg)
        frame = courses[key].copy()
        frame["_hours"] = as_float(courses[hours]).astype(float)
        grouped = frame.groupby(key, sort=False, dropna=False)["_hours"]
        summary = pd.DataFrame(
            {"_rows": grouped.size(), "_sum": grouped.sum(min_count=1), "_known": grouped.count()}
        ).reset_index()
        merged = data[key].merge(summary, on=key, how="left", validate="many_to_one")
        rows = pd.Series(merged["_rows"].to_numpy(), index=data.index).fillna(0)
        known = pd.Series(merged["_known"].to_numpy(), index=data.index).fillna(0)
        summed = pd.Series(merged["_sum"].to_numpy(dtype=float), index=data.index)
        expected = n.astype("Float64").clip(upper=max_described)
        complete = trained & expected.eq(rows).fillna(False) & known.eq(rows) & rows.gt(0)
        total = total.mask(complete, summed)
    return pd.DataFrame(
        {
            "training_courses": n.astype("Float64").mask(none, 0.0).where(none | trained),
            "training_hours": total.astype("Float64"),
            "training_hours_partial": binary(n.gt(max_described), none | (trained & n.notna())),
        },
        index=data.index,
    )
