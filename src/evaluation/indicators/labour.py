"""Labour status, NEET, SWTS transition stages and the endline activity calendar.

Labour status follows the 19th ICLS resolution as amended by the 21st ICLS (Resolution II).

Reads the M4 current-activity items, M3/M8 education and training, and M5 job items of the
apprentice questionnaire (names in ``notes/names.md``) and the ``cal_months`` repeat of the
endline.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from evaluation.indicators._common import IndicatorError, as_int, binary, codes, reason, require

__all__ = [
    "CALENDAR_COLUMNS",
    "LEAVE_REASONS",
    "LF_STATUSES",
    "TRANSITION_STAGES",
    "activity_calendar",
    "labour_status",
    "transition_stage",
]

#: Categories of ``lf_status``.
LF_STATUSES = ("employed", "unemployed", "outside_lf")
#: Categories of ``transition_stage`` (ILO SWTS).
TRANSITION_STAGES = ("transited", "in_transition", "not_started")
#: Columns of :func:`activity_calendar` besides the key.
CALENDAR_COLUMNS = (
    "cal_months_observed",
    "cal_ever_employed",
    "cal_months_employed",
    "cal_share_employed",
    "cal_months_to_first_job",
    "cal_job_changes",
)

#: ``act_absent_reason`` codes of leave that keeps the job attachment whatever its duration
#: (19th ICLS para. 29(a)): annual leave or holidays, own illness or injury, maternity or
#: paternity leave. Other reasons count only when the absence lasts up to three months.
LEAVE_REASONS = (1, 2, 3)
_STATUS_ITEMS = (
    "act_work_pay",
    "act_temp_absent",
    "act_absent_reason",
    "act_absent_return3m",
    "act_search_4wk",
    "act_available_2wk",
)
#: ``job_status`` codes of employees when no instrument is at hand: 1 employee (ICSE-18 4) and
#: 2 paid apprentice, trainee or intern (ICSE-18 44). With the instrument, the codes come from the
#: list's ``icse18`` column (:func:`evaluation.indicators.forms.icse18_statuses`).
EMPLOYEE_STATUSES = (1, 2)
#: ``job_contract_type`` codes of stable contracts (SWTS): open-ended, fixed-term >= 1 year.
STABLE_CONTRACTS = (1, 2)


def _employed(data: pd.DataFrame) -> pd.Series:
    """Employment in the reference week, as a nullable boolean."""
    work = codes(data, "act_work_pay")
    absent = codes(data, "act_temp_absent")
    on_leave = codes(data, "act_absent_reason").isin(LEAVE_REASONS).fillna(False)
    back = codes(data, "act_absent_return3m")
    back_dk = reason(data, "act_absent_return3m").eq("dont_know").fillna(False)
    yes = work.eq(1) | (work.eq(0) & absent.eq(1) & (on_leave | back.eq(1)))
    no = work.eq(0) & (absent.eq(0) | (absent.eq(1) & ~on_leave & (back.eq(0) | back_dk)))
    out = pd.Series(pd.NA, index=data.index, dtype="boolean")
    out[yes.fillna(False)] = True
    out[no.fillna(False)] = False
    return out


def _in_education(data: pd.DataFrame) -> pd.Series:
    """In education or training in the last four weeks (M3 enrolment or M4 study item)."""
    study = codes(data, "act_study_4wk")
    enrolled = codes(data, "edu_enrolled")
    yes = study.eq(1).fillna(False) | enrolled.eq(1).fillna(False)
    no = study.eq(0).fillna(False) & ~enrolled.eq(1).fillna(False)
    out = pd.Series(pd.NA, index=data.index, dtype="boolean")
    out[yes] = True
    out[no & ~yes] = False
    return out


def labour_status(data: pd.DataFrame) -> pd.DataFrame:
    """Labour-force status, potential labour force and NEET status of each respondent.

    Parameters
    ----------
    data : DataFrame
        Clean apprentice data (one row per respondent and round) with ``act_work_pay``,
        ``act_temp_absent``, ``act_absent_reason``, ``act_absent_return3m``, ``act_search_4wk``,
        ``act_available_2wk`` and, for NEET, ``act_study_4wk`` and/or ``edu_enrolled``.

    Returns
    -------
    DataFrame
        Same index as ``data``; ``lf_status`` (categorical ``employed`` / ``unemployed`` /
        ``outside_lf``), 0/1 ``Float64`` ``employed``, ``unemployed``, ``outside_lf``,
        ``potential_lf``, ``in_education`` and ``neet``, ``<NA>`` where undetermined.

    Raises
    ------
    IndicatorError
        When an activity item is absent from the data.

    Notes
    -----
    Unit: respondent x round. 19th ICLS Resolution I (2013) as amended by 21st ICLS
    Resolution II (2023), reference week = last seven days:

    - **employed**: worked at least one hour for pay or profit, or was temporarily absent from
      such a job on leave that keeps the attachment whatever its duration (annual leave or
      holidays, own illness or injury, maternity or paternity leave: ``act_absent_reason`` in
      :data:`LEAVE_REASONS`, para. 29(a)), or absent for another reason and expecting to return
      within three months (para. 29(b)). A "don't know" on the return item counts as not
      employed, as the form's ``act_employed`` calculation and skip logic do.
    - **unemployed**: not employed, searched in the last four weeks and available within two.
    - **outside_lf**: the rest. **potential_lf** (para. 51): outside the labour force and either
      searched but not available, or available but not searching (the third group, willing
      non-jobseekers, is not measured by the form). 0 for persons in the labour force.
    - **neet** (SDG 8.6.1 concept): not employed and not in education or training in the last
      four weeks (``act_study_4wk = 1`` or currently enrolled, ``edu_enrolled = 1``). No age
      filter is applied here; the ILO youth NEET rate restricts to ages 15-24 at tabulation.

    Paid apprentices are employees (ICSE-18 code 44), so enrolled new apprentices are employed.
    """
    require(data, _STATUS_ITEMS, "labour_status")
    employed = _employed(data)
    search = codes(data, "act_search_4wk")
    available = codes(data, "act_available_2wk")
    not_emp = employed.eq(False).fillna(False)
    unemp_yes = not_emp & search.eq(1).fillna(False) & available.eq(1).fillna(False)
    unemp_no = employed.eq(True).fillna(False) | (
        not_emp & (search.eq(0).fillna(False) | available.eq(0).fillna(False))
    )
    unemp_def = unemp_yes | unemp_no
    status = pd.Series(pd.NA, index=data.index, dtype="object")
    status[employed.eq(True).fillna(False)] = "employed"
    status[unemp_yes] = "unemployed"
    status[not_emp & unemp_no] = "outside_lf"
    lf = pd.Categorical(status, categories=list(LF_STATUSES))
    outside = not_emp & unemp_no
    both_known = search.notna() & available.notna()
    potential_yes = outside & (
        (search.eq(1) & available.eq(0)).fillna(False)
        | (search.eq(0) & available.eq(1)).fillna(False)
    )
    potential_def = (unemp_def & ~outside) | (outside & both_known)
    in_edu = _in_education(data)
    neet_yes = not_emp & in_edu.eq(False).fillna(False)
    neet_def = employed.eq(True).fillna(False) | in_edu.eq(True).fillna(False) | neet_yes
    return pd.DataFrame(
        {
            "lf_status": pd.Series(lf, index=data.index),
            "employed": binary(employed.fillna(False), employed.notna()),
            "unemployed": binary(unemp_yes, unemp_def),
            "outside_lf": binary(outside, unemp_def),
            "potential_lf": binary(potential_yes, potential_def),
            "in_education": binary(in_edu.fillna(False), in_edu.notna()),
            "neet": binary(neet_yes, neet_def),
        },
        index=data.index,
    )


def transition_stage(
    data: pd.DataFrame,
    status: pd.DataFrame | None = None,
    *,
    plans_column: str | None = "act_plan_work",
    satisfied_from: int = 4,
    employee_codes: Sequence[int] = EMPLOYEE_STATUSES,
) -> pd.Series:
    """ILO School-to-Work Transition Survey stage of each respondent.

    Parameters
    ----------
    data : DataFrame
        Clean apprentice data with the activity items, ``job_status``,
        ``job_contract_written``, ``job_contract_type`` and ``job_sat_overall`` (sat5,
        1 very dissatisfied .. 5 very satisfied).
    status : DataFrame, optional
        The result of :func:`labour_status` for ``data`` (computed when omitted).
    plans_column : str or None, default "act_plan_work"
        A yes/no item "do you plan to work in the future" asked of persons outside the labour
        force (the form's ``act_plan_work``); when ``None`` or absent from the data, having
        searched for work in the last four weeks stands in for plans.
    satisfied_from : int, default 4
        Lowest ``job_sat_overall`` code that counts as satisfied (4 = satisfied).
    employee_codes : sequence of int, default (1, 2)
        ``job_status`` codes of employees (ICSE-18 41-44); read from the list's ``icse18``
        column by :func:`evaluation.indicators.construct.construct_indicators`.

    Returns
    -------
    Series
        Categorical ``transited`` / ``in_transition`` / ``not_started``, ``<NA>`` where the
        items do not settle it; named ``transition_stage``.

    Notes
    -----
    Unit: respondent x round. ILO SWTS stages (Elder, WCMS_191853; DOMAIN.md section 2.5):

    - **transited**: employed in a stable job (an employee, ICSE-18 41-44, with an open-ended
      contract or a fixed-term contract of 12 months or more) or in a job the person is
      satisfied with (temporary or self-employment). The form asks the contract type only of
      employees with a written contract, so employees without one count as not stable (an oral
      contract of 12 months or more, stable in the SWTS, cannot be told apart);
    - **in transition**: employed in a non-stable job they are not satisfied with; unemployed in
      the relaxed sense (not employed and available, searching or not); inactive non-students
      with plans to work;
    - **not started**: inactive (not employed, not available) and in education or training, or
      inactive non-students without plans to work.
    """
    require(data, _STATUS_ITEMS, "transition_stage")
    st = labour_status(data) if status is None else status
    employed = st["employed"]
    job_status = codes(data, "job_status")
    contract = codes(data, "job_contract_type")
    written = codes(data, "job_contract_written")
    sat = codes(data, "job_sat_overall")
    available = codes(data, "act_available_2wk")
    search = codes(data, "act_search_4wk")
    employee = job_status.isin(list(employee_codes)).fillna(False)
    stable = employee & contract.isin(STABLE_CONTRACTS).fillna(False)
    not_stable = (
        (~job_status.isin(list(employee_codes)) & job_status.notna()).fillna(False)
        | (employee & contract.notna() & ~contract.isin(STABLE_CONTRACTS)).fillna(False)
        | (employee & written.eq(0)).fillna(False)
    )
    satisfied = sat.ge(satisfied_from).fillna(False)
    dissatisfied = sat.lt(satisfied_from).fillna(False)
    emp = employed.eq(1).fillna(False)
    not_emp = employed.eq(0).fillna(False)
    if plans_column is not None and plans_column in data.columns:
        plans = codes(data, plans_column).eq(1)
        plans_known = codes(data, plans_column).notna()
    else:
        plans = search.eq(1)
        plans_known = search.notna()
    in_edu = st["in_education"]
    stage = pd.Series(pd.NA, index=data.index, dtype="object")
    stage[emp & (stable | satisfied)] = "transited"
    stage[emp & not_stable & dissatisfied] = "in_transition"
    stage[not_emp & available.eq(1).fillna(False)] = "in_transition"
    inactive = not_emp & available.eq(0).fillna(False)
    stage[inactive & in_edu.eq(1).fillna(False)] = "not_started"
    non_student = inactive & in_edu.eq(0).fillna(False)
    stage[non_student & plans.fillna(False)] = "in_transition"
    stage[non_student & plans_known.fillna(False) & ~plans.fillna(False)] = "not_started"
    cat = pd.Categorical(stage, categories=list(TRANSITION_STAGES))
    return pd.Series(cat, index=data.index, name="transition_stage")


def activity_calendar(
    calendar: pd.DataFrame,
    key: Sequence[str] = ("resp_id",),
    *,
    activity: str = "cal_activity",
    order: str = "cal_months_index",
    employed_code: int = 1,
    new_job: str | None = None,
) -> pd.DataFrame:
    """Employment history indicators from the endline monthly activity calendar.

    Parameters
    ----------
    calendar : DataFrame
        The ``cal_months`` repeat: one row per respondent and month since baseline, keyed by
        ``key`` plus ``order`` (1-based month), with ``activity`` codes (1 employed,
        2 unemployed, 3 education or training, 4 other not working).
    key : sequence of str, default ("resp_id",)
        Parent key columns (add ``"round"`` when the table carries it).
    activity : str, default "cal_activity"
        The activity column.
    order : str, default "cal_months_index"
        The month order column (1 = first month after the baseline interview).
    employed_code : int, default 1
        The code of "employed".
    new_job : str, optional
        A yes/no column "started a new job this month"; when given, job changes count the
        months flagged after the first job, else entries into employment after the first.

    Returns
    -------
    DataFrame
        One row per key: ``cal_months_observed`` (months with an activity), ``cal_ever_employed``
        (0/1), ``cal_months_employed``, ``cal_share_employed``, ``cal_months_to_first_job`` (months
        before the first employed month; 0 if employed in month 1) and ``cal_job_changes``.

    Raises
    ------
    IndicatorError
        When columns are missing or a key x month pair is duplicated.

    Notes
    -----
    Unit: respondent (endline). A month with a missing activity makes ``cal_months_employed``,
    ``cal_share_employed`` and ``cal_job_changes`` missing (the count would be a lower bound),
    and ``cal_months_to_first_job`` missing when it comes before the first employed month.
    ``cal_months_to_first_job`` is missing (right-censored) for those never employed; their
    ``cal_ever_employed`` is 0. Without ``new_job`` a change of employer without a gap is
    invisible, so ``cal_job_changes`` is a lower bound on job changes.
    """
    key = list(key)
    cols = [*key, activity, order] + ([new_job] if new_job else [])
    require(calendar, cols, "activity_calendar")
    if calendar.duplicated([*key, order]).any():
        msg = f"activity calendar has duplicated {[*key, order]} rows"
        raise IndicatorError(msg)
    frame = calendar[cols].copy()
    frame["_act"] = as_int(frame[activity], activity)
    frame["_order"] = as_int(frame[order], order)
    frame = frame.sort_values([*key, "_order"], kind="mergesort")
    rows = []
    for group_key, group in frame.groupby(key, sort=True, dropna=False):
        act = group["_act"]
        observed = int(act.notna().sum())
        complete = observed == len(act)
        emp = act.eq(employed_code).fillna(False).to_numpy(dtype=bool)
        ever = bool(emp.any())
        first = int(np.argmax(emp)) if ever else None
        before_ok = first is not None and bool(act.iloc[:first].notna().all())
        entries = int(np.sum(emp[1:] & ~emp[:-1])) + int(emp[0]) if len(emp) else 0
        if new_job:
            flags = as_int(group[new_job], new_job)
            after = flags.iloc[first + 1 :] if first is not None else flags.iloc[0:0]
            changes = int(after.eq(1).sum()) if after.notna().all() else None
        else:
            changes = max(entries - 1, 0) if complete else None
        keys = group_key if isinstance(group_key, tuple) else (group_key,)
        rows.append(
            {
                **dict(zip(key, keys, strict=True)),
                "cal_months_observed": observed,
                "cal_ever_employed": float(ever) if (ever or complete) else np.nan,
                "cal_months_employed": float(emp.sum()) if complete else np.nan,
                "cal_share_employed": float(emp.mean()) if complete and len(emp) else np.nan,
                "cal_months_to_first_job": float(first) if before_ok else np.nan,
                "cal_job_changes": float(changes) if changes is not None else np.nan,
            }
        )
    out = pd.DataFrame(rows, columns=[*key, *CALENDAR_COLUMNS])
    for c in CALENDAR_COLUMNS:
        out[c] = out[c].astype("Int64" if c == "cal_months_observed" else "Float64")
        if c != "cal_months_observed":
            out[c] = out[c].mask(out[c].isna())
    return out.reset_index(drop=True)
