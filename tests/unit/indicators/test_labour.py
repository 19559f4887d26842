"""Labour status, NEET, SWTS stages and the activity calendar on hand-built rows."""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.indicators import IndicatorError, activity_calendar, labour_status, transition_stage
from tests.unit.indicators.conftest import NA, clean_rows

# work_pay, temp_absent, absence reason, return3m, search, available, study, enrolled
# absence reasons: 2 own illness (leave: attached whatever the duration, 19th ICLS para. 29(a)),
# 5 lay-off, 6 off-season, 7 family reasons (attached only when back within 3 months, 29(b))
ROWS = [
    (1, NA, NA, NA, NA, NA, 0, 0),  # 0 worked last week: employed
    (0, 1, 5, 1, NA, NA, 0, 0),  # 1 laid off, returns within 3 months: employed
    (0, 1, 7, NA, 1, 1, 0, 0),  # 2 absent, return "don't know": not employed; searching, available
    (0, 0, NA, NA, 1, 0, 0, 0),  # 3 searched, not available: outside LF, potential LF
    (0, 0, NA, NA, 0, 1, 1, NA),  # 4 available, not searching: potential LF; studying
    (0, 0, NA, NA, 0, 0, 0, 1),  # 5 neither: outside LF, not potential; enrolled
    (NA, NA, NA, NA, NA, NA, NA, NA),  # 6 activity missing
    (0, 0, NA, NA, 1, NA, NA, NA),  # 7 searched, availability missing
    (0, 0, NA, NA, 0, 0, 0, 0),  # 8 inactive, not studying: NEET
    (0, 1, 2, NA, NA, NA, 0, 0),  # 9 sick, return item skipped: employed (leave)
    (0, 1, 6, 0, 0, 0, 0, 0),  # 10 off-season, not back within 3 months: outside LF, NEET
]
COLS = [
    "act_work_pay",
    "act_temp_absent",
    "act_absent_reason",
    "act_absent_return3m",
    "act_search_4wk",
    "act_available_2wk",
    "act_study_4wk",
    "edu_enrolled",
]


def _data() -> pd.DataFrame:
    return clean_rows(
        [dict(zip(COLS, r, strict=True)) for r in ROWS],
        reasons={(2, "act_absent_return3m"): "dont_know", (6, "act_work_pay"): "missing"},
    )


def test_labour_status_by_hand():
    out = labour_status(_data())
    assert out["lf_status"].astype(object).where(out["lf_status"].notna(), None).tolist() == [
        "employed",
        "employed",
        "unemployed",
        "outside_lf",
        "outside_lf",
        "outside_lf",
        None,
        None,
        "outside_lf",
        "employed",
        "outside_lf",
    ]

    def vals(c):
        return [None if pd.isna(v) else v for v in out[c]]

    assert vals("employed") == [1, 1, 0, 0, 0, 0, None, 0, 0, 1, 0]
    assert vals("unemployed") == [0, 0, 1, 0, 0, 0, None, None, 0, 0, 0]
    assert vals("potential_lf") == [0, 0, 0, 1, 1, 0, None, None, 0, 0, 0]
    assert vals("in_education") == [0, 0, 0, 0, 1, 1, None, None, 0, 0, 0]
    # NEET: not employed and not in education: rows 2, 3, 8, 10; row 7 education unknown
    assert vals("neet") == [0, 0, 1, 1, 0, 0, None, None, 1, 0, 1]
    assert str(out["neet"].dtype) == "Float64"


def test_labour_status_needs_items():
    with pytest.raises(IndicatorError, match="act_search_4wk"):
        labour_status(_data().drop(columns="act_search_4wk"))


def test_transition_stage_by_hand():
    rows = [
        # employee, open-ended contract, dissatisfied: stable -> transited
        {"job_status": 1, "job_contract_type": 1, "job_sat_overall": 2},
        # paid apprentice, contract < 1 year, satisfied -> transited (satisfactory temporary)
        {"job_status": 2, "job_contract_type": 3, "job_sat_overall": 4},
        # own-account, dissatisfied -> in transition
        {"job_status": 4, "job_contract_type": NA, "job_sat_overall": 3},
        # employee, contract type unknown, dissatisfied -> undetermined
        {"job_status": 1, "job_contract_type": NA, "job_sat_overall": 1},
    ]
    jobs = clean_rows(rows)
    act = _data()
    data = pd.concat([act.iloc[[0, 0, 0, 0]].reset_index(drop=True), jobs], axis=1)
    stages = transition_stage(data)
    assert [None if pd.isna(s) else s for s in stages] == [
        "transited",
        "transited",
        "in_transition",
        None,
    ]
    stages = transition_stage(act)
    # 2 unemployed (relaxed) and 4 available -> in transition; 3 not available, not student,
    # searched -> in transition (plans); 5 inactive student -> not started; 8 inactive
    # non-student who did not search -> not started
    got = [None if pd.isna(s) else s for s in stages]
    assert got[2:6] == ["in_transition", "in_transition", "in_transition", "not_started"]
    assert got[6] is None
    assert got[8] == "not_started"


def test_activity_calendar_by_hand():
    months = {
        "A": [2, 2, 1, 1, 3, 1],  # first job in month 3; spells 2 -> 1 job change
        "B": [1, 1, 1, 1, 1, 1],  # employed throughout
        "C": [2, 4, 2, 3, 3, 4],  # never employed
        "D": [2, NA, 1, 1, 1, 1],  # missing month before the first job
        "E": [1, 1, NA, 2, 1, 1],  # missing month after the first job
    }
    rows = [
        {"resp_id": k, "cal_months_index": i + 1, "cal_activity": a}
        for k, acts in months.items()
        for i, a in enumerate(acts)
    ]
    out = activity_calendar(clean_rows(rows)).set_index("resp_id")

    def col(c):
        return [None if pd.isna(v) else v for v in out[c]]

    assert col("cal_months_observed") == [6, 6, 6, 5, 5]
    assert col("cal_months_employed") == [3, 6, 0, None, None]
    assert col("cal_months_to_first_job") == [2, 0, None, None, 0]
    assert col("cal_ever_employed") == [1, 1, 0, 1, 1]
    assert col("cal_job_changes") == [1, 0, 0, None, None]
    assert col("cal_share_employed") == [0.5, 1.0, 0.0, None, None]


def test_activity_calendar_with_new_job_flags():
    rows = [
        {"resp_id": "A", "cal_months_index": i + 1, "cal_activity": 1, "cal_new_job": f}
        for i, f in enumerate([1, 0, 1, 0, 1])
    ]
    out = activity_calendar(clean_rows(rows), new_job="cal_new_job")
    assert out["cal_job_changes"].tolist() == [2.0]
    with pytest.raises(IndicatorError, match="duplicated"):
        activity_calendar(clean_rows(rows + rows[:1]))
