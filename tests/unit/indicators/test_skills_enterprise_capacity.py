"""Core and green skills, apprenticeship quality, enterprise and capacity-test indicators."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from evaluation.indicators import IndicatorError
from evaluation.indicators.capacity import capacity_scores, item_analysis, normalized_gain
from evaluation.indicators.enterprise import enterprise_indicators
from evaluation.indicators.skills import answer_score, apprenticeship_indicators, core_skills
from tests.unit.indicators.conftest import NA, clean_rows


def _v(s):
    return [None if pd.isna(x) else x for x in s]


def test_core_skills_scores_and_alpha():
    data = clean_rows(
        [
            {"cs_se_a": 1, "cs_se_b": 3, "cs_cg_a": 2},
            {"cs_se_a": 3, "cs_se_b": 3, "cs_cg_a": 4},
            {"cs_se_a": 5, "cs_se_b": 5, "cs_cg_a": 4},
            {"cs_se_a": 4, "cs_se_b": NA, "cs_cg_a": NA},
        ],
        reasons={(3, "cs_se_b"): "refused", (3, "cs_cg_a"): "refused"},
    )
    ref = pd.Series([True, True, True, False])
    scores, rel = core_skills(data, ref)
    # social raw means: 2, 3, 5, 4 (one of two items is enough); reference mean 10/3,
    # sd sqrt(((4/3)^2 + (1/3)^2 + (5/3)^2) / 2) = sqrt(7/3)
    assert _v(scores["core_skills_social_raw"]) == [2, 3, 5, 4]
    sd = math.sqrt(7 / 3)
    assert scores["core_skills_social"][0] == pytest.approx((2 - 10 / 3) / sd)
    # overall raw = mean of the subscale means present: (2+2)/2, (3+4)/2, (5+4)/2, 4
    overall = [2.0, 3.5, 4.5, 4.0]
    m = sum(overall[:3]) / 3
    s = math.sqrt(sum((x - m) ** 2 for x in overall[:3]) / 2)
    assert scores["core_skills_index"].tolist() == pytest.approx([(x - m) / s for x in overall])
    social = rel.set_index("scale").loc["core_skills_social"]
    # alpha on complete rows 0-2: items (1,3,5) var 4 and (3,3,5) var 4/3; totals 4, 6, 10 var 28/3
    assert social["alpha"] == pytest.approx(2 * (1 - (4 + 4 / 3) / (28 / 3)))
    assert social["n"] == 3


def test_answer_score_dont_know_is_wrong():
    data = clean_rows(
        [
            {"q1": 2, "q2": 1},
            {"q1": 2, "q2": NA},
            {"q1": 3, "q2": NA},
            {"q1": NA, "q2": NA},
        ],
        reasons={
            (1, "q2"): "dont_know",
            (2, "q2"): "skipped",
            (3, "q1"): "refused",
            (3, "q2"): "dont_know",
        },
    )
    score, correct = answer_score(data, {"q1": "2", "q2": 1})
    assert _v(score) == [100, 50, None, 0]
    assert _v(correct["q2"]) == [1, 0, None, 0]
    score, _ = answer_score(data, {"q1": "2", "q2": 1}, min_items=1)
    assert _v(score)[2] == 0
    with pytest.raises(IndicatorError, match="q3"):
        answer_score(data, {"q3": 1})


def test_apprenticeship_quality_index():
    data = clean_rows(
        [
            # all 5 items yes, 8 off-job hours, protected (4) -> 7/7
            {
                "appr_status": 1,
                "appr_agreement": 1,
                "appr_mentor_ent": 1,
                "appr_mentor_inst": 1,
                "appr_training_plan": 1,
                "appr_assessed": 1,
                "appr_offjob_hours": 8,
                "appr_study_protected": 4,
            },
            # agreement no, plan don't know, 0 hours, study protected 2 -> met 3 of 6
            {
                "appr_status": 2,
                "appr_agreement": 0,
                "appr_mentor_ent": 1,
                "appr_mentor_inst": 1,
                "appr_training_plan": NA,
                "appr_assessed": 1,
                "appr_offjob_hours": 0,
                "appr_study_protected": 2,
            },
            # dropped out, only 3 criteria answered -> no index (min 4)
            {
                "appr_status": 3,
                "appr_agreement": 1,
                "appr_mentor_ent": 0,
                "appr_mentor_inst": NA,
                "appr_training_plan": NA,
                "appr_assessed": NA,
                "appr_offjob_hours": 4,
                "appr_study_protected": NA,
            },
            # never an apprentice
            {
                "appr_status": 4,
                "appr_agreement": NA,
                "appr_mentor_ent": NA,
                "appr_mentor_inst": NA,
                "appr_training_plan": NA,
                "appr_assessed": NA,
                "appr_offjob_hours": NA,
                "appr_study_protected": NA,
            },
        ],
        reasons={(1, "appr_training_plan"): "dont_know"},
    )
    out = apprenticeship_indicators(data)
    assert _v(out["appr_quality_index"]) == [pytest.approx(1.0), pytest.approx(3 / 6), None, None]
    assert _v(out["appr_quality_n"]) == [7, 6, 3, None]
    assert _v(out["appr_completion"]) == [None, 1, 0, None]
    assert _v(out["appr_dropout"]) == [0, 0, 1, None]
    strict = apprenticeship_indicators(data, dont_know_as_unmet=True)
    assert strict["appr_quality_index"][1] == pytest.approx(3 / 7)
    job = pd.DataFrame(
        {"formal_job": [0.0, 0.0, NA, NA], "excess_hours": [0.0, 1.0, NA, NA]}, dtype="Float64"
    )
    withjob = apprenticeship_indicators(data, job)
    # current apprentice: 7 criteria met + hours within 48 (no appr_hours_legal item) met +
    # no employer social insurance -> 8 of 9
    assert withjob["appr_quality_index"][0] == pytest.approx(8 / 9)
    # completed apprentice: the current job may be another one, so it is not used: 3 of 6
    assert withjob["appr_quality_index"][1] == pytest.approx(3 / 6)
    # with the direct item appr_hours_legal the job's excess_hours is not used
    direct = data.assign(appr_hours_legal=pd.array([0, NA, NA, NA], dtype="Int64"))
    both = apprenticeship_indicators(direct, job)
    # row 0: 7 met + hours not legal (0) + no social insurance (0) -> 7 of 9
    assert both["appr_quality_index"][0] == pytest.approx(7 / 9)


def test_enterprise_indicators():
    green = ("ent_green_practices__1", "ent_green_practices__2", "ent_green_practices__0")
    rows = [
        # participant: 4 of 10 vacancies hard to fill; 8 of a 12-24-month cohort of 8, 6
        # still there after 12 months; subsidy received, 5,000 per apprentice
        {
            "ent_vacancies": 10,
            "ent_vacancies_htf": 4,
            "ent_skill_gap_share": 25,
            "ent_appr_participates": 1,
            "ent_employees_total": 200,
            "ent_appr_total": 20,
            "ent_appr_female": 5,
            "ent_appr_completed": 8,
            "ent_appr_dropped": 2,
            "ent_appr_cohort": 8,
            "ent_appr_retained_6m": 7,
            "ent_appr_retained_12m": 6,
            "ent_appr_cost": 9000,
            "ent_appr_subsidy_status": 1,
            "ent_appr_subsidy": 5000,
            "ent_green_practices__dont_know": 0,
            **dict(zip(green, (1, 1, 0), strict=True)),
            "ent_sat_apprentices": 4,
        },
        # not taking part: apprenticeship items skipped; no vacancies (hard-to-fill skipped)
        {
            "ent_vacancies": 0,
            "ent_vacancies_htf": NA,
            "ent_skill_gap_share": NA,
            "ent_appr_participates": 0,
            "ent_employees_total": 50,
            "ent_appr_total": NA,
            "ent_appr_female": NA,
            "ent_appr_completed": NA,
            "ent_appr_dropped": NA,
            "ent_appr_cohort": NA,
            "ent_appr_retained_6m": NA,
            "ent_appr_retained_12m": NA,
            "ent_appr_cost": NA,
            "ent_appr_subsidy_status": NA,
            "ent_appr_subsidy": NA,
            "ent_green_practices__dont_know": 0,
            **dict(zip(green, (0, 0, 1), strict=True)),
            "ent_sat_apprentices": NA,
        },
        # participant that did not apply for the subsidy; no cohort 12-24 months ago; green
        # practices "don't know"
        {
            "ent_vacancies": 5,
            "ent_vacancies_htf": 0,
            "ent_skill_gap_share": 0,
            "ent_appr_participates": 1,
            "ent_employees_total": 40,
            "ent_appr_total": 2,
            "ent_appr_female": 0,
            "ent_appr_completed": 0,
            "ent_appr_dropped": 0,
            "ent_appr_cohort": 0,
            "ent_appr_retained_6m": NA,
            "ent_appr_retained_12m": NA,
            "ent_appr_cost": 6000,
            "ent_appr_subsidy_status": 4,
            "ent_appr_subsidy": NA,
            "ent_green_practices__dont_know": 1,
            **dict(zip(green, (0, 0, 0), strict=True)),
            "ent_sat_apprentices": 3,
        },
    ]
    out = enterprise_indicators(clean_rows(rows), exclusive={"ent_green_practices": {"0"}})
    assert _v(out["hard_to_fill_rate"]) == [0.4, None, 0.0]
    assert _v(out["has_htf_vacancy"]) == [1, 0, 0]
    assert _v(out["skill_gap_share"]) == [0.25, None, 0.0]
    # 20 x 100 / 200; a non-participant has no apprentices; 2 x 100 / 40
    assert _v(out["apprentices_per_100"]) == [10.0, 0.0, 5.0]
    assert _v(out["appr_share_female"]) == [0.25, None, 0.0]
    assert _v(out["appr_completion_rate"]) == [0.8, None, None]
    # retention base: the cohort that completed 12-24 months ago (6 / 8, 7 / 8)
    assert _v(out["apprentice_retention_12m"]) == [0.75, None, None]
    assert _v(out["apprentice_retention_6m"]) == [0.875, None, None]
    assert _v(out["appr_subsidy_received"]) == [1, None, 0]
    assert _v(out["appr_subsidy"]) == [5000, None, None]
    # net cost: 9,000 - 5,000; not applied -> subsidy 0 -> 6,000
    assert _v(out["appr_net_cost"]) == [4000, None, 6000]
    assert _v(out["appr_subsidy_ge_guideline"]) == [1, None, None]
    assert _v(out["green_practices_count"]) == [2, 0, None]
    assert _v(out["green_practices_any"]) == [1, 0, None]
    assert _v(out["employer_satisfaction_apprentices"]) == [1, None, 0]


def test_normalized_gain_by_hand():
    assert normalized_gain(40.0, 70.0) == pytest.approx(0.5)  # 30 / 60
    assert normalized_gain(80.0, 60.0) == pytest.approx(-1.0)  # -20 / 20
    assert math.isnan(normalized_gain(100.0, 100.0))
    assert normalized_gain(5.0, 8.0, max_score=10) == pytest.approx(0.6)
    got = normalized_gain(pd.Series([0.0, 50.0, NA]), pd.Series([25.0, 100.0, 30.0]))
    assert _v(got) == [0.25, 1.0, None]
    with pytest.raises(IndicatorError, match="outside"):
        normalized_gain(120.0, 50.0)


def test_capacity_scores_modules_and_item_analysis():
    keys = {"cb_q01": 1, "cb_q02": 2, "cb_q03": 3}
    modules = {"cb_q01": "m1", "cb_q02": "m1", "cb_q03": "m2"}
    rows = [
        # pre: correctness q1 q2 q3 = 110, 100, 011, 111
        {"participant_id": "P00001", "round": "pre", "cb_q01": 1, "cb_q02": 2, "cb_q03": 1},
        {"participant_id": "P00002", "round": "pre", "cb_q01": 1, "cb_q02": 1, "cb_q03": 1},
        {"participant_id": "P00003", "round": "pre", "cb_q01": 2, "cb_q02": 2, "cb_q03": 3},
        {"participant_id": "P00004", "round": "pre", "cb_q01": 1, "cb_q02": 2, "cb_q03": 3},
        {"participant_id": "P00001", "round": "post", "cb_q01": 1, "cb_q02": 2, "cb_q03": 3},
        {"participant_id": "P00002", "round": "post", "cb_q01": 1, "cb_q02": 2, "cb_q03": 1},
    ]
    data = clean_rows(rows)
    long, wide = capacity_scores(data, keys, modules)
    assert long["score"].tolist()[:4] == pytest.approx([200 / 3, 100 / 3, 200 / 3, 100])
    assert long["score_m1"].tolist()[:2] == [100, 50]
    wide = wide.set_index("participant_id")
    # P00001: pre 66.7 -> post 100: g = 1; P00002: 33.3 -> 66.7: g = 33.3 / 66.7 = 0.5
    assert wide.loc["P00001", "norm_gain"] == pytest.approx(1.0)
    assert wide.loc["P00002", "norm_gain"] == pytest.approx(0.5)
    assert pd.isna(wide.loc["P00003", "norm_gain"])
    items = item_analysis(data[data["round"].eq("pre")], keys).set_index("item")
    # q1 = 1, 1, 0, 1 -> difficulty 0.75; rest-of-test totals 1, 0, 2, 2: point-biserial
    # (M1 - M0) / s * sqrt(p q) = (1 - 2) / sqrt(0.6875) * sqrt(0.1875) = -0.5222
    assert items.loc["cb_q01", "difficulty"] == pytest.approx(0.75)
    assert items.loc["cb_q01", "discrimination"] == pytest.approx(-math.sqrt(0.1875 / 0.6875))
    assert items.loc["cb_q01", "flag"] == "negative_discrimination"
