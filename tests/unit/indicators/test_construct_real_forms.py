"""construct_indicators end to end on a clean-shaped panel built from the real instruments.

The panel has every question of the apprentice baseline and endline forms as a typed column, the
way notes/clean_data.md says cleaning writes them: select_one and integer as ``Int64`` codes,
text and calculations as ``string``, ``<name>__reason`` for every question that can be asked
(``skipped`` where the skip logic passed it by, the special-code key where the answer was one),
select_multiple text plus ``q__<code>`` and ``q__dont_know`` dummies, notes as empty text, and
the repeats (``cal_months``, ``trn_course``) as separate tables keyed by the parent key plus
``<repeat>_index``. The enterprise and capacity tables are built the same way from their forms.

Seven hand-specified respondents cover the cases: an employee with social insurance (A), a paid
apprentice who refused the wage but gave a bracket and does not know the insurances (B), an
unemployed person who refused the education level (C), a student outside the labour force (D),
an own-account courier (E, not found at endline), a temporarily absent person who does not know
when she will return (F) and an employee without contract or insurance (G). Every expected value
is worked out by hand in the comments from the answers below and the standards cited in the
indicator code (19th ICLS, SWTS, ISCO-08 x ISCED 2011, DOMAIN.md section 5).
"""

from __future__ import annotations

import dataclasses
import pathlib

import pandas as pd
import pytest

from evaluation.indicators.construct import construct_indicators
from evaluation.indicators.registry import REGISTRY
from evaluation.instruments.files import read_instruments
from evaluation.instruments.model import Instrument, Question

ROOT = pathlib.Path(__file__).resolve().parents[3]


@dataclasses.dataclass(frozen=True)
class Sp:
    """A special-code answer (``dont_know``, ``refused``...)."""

    key: str


DK, REF = Sp("dont_know"), Sp("refused")
_INT = {"select_one", "integer"}
_TEXT = {
    "text",
    "calculate",
    "note",
    "select_one_from_file",
    "deviceid",
    "username",
    "audit",
    "hidden",
}


@pytest.fixture(scope="module")
def forms() -> dict:
    return read_instruments(ROOT / "surveys")


def _columns(form: Instrument, repeat: str | None) -> list[Question]:
    """Data questions of the form outside repeats, or inside one repeat."""
    out = []
    for q, parents in form.walk():
        inside = [p.name for p in parents if p.type == "repeat"]
        if q.is_container or q.pii == "direct" or inside != ([repeat] if repeat else []):
            continue
        out.append(q)
    return out


def _check(form: Instrument, q: Question, value: object) -> None:
    """Refuse an answer the form could not have given (a typo in this test)."""
    if isinstance(value, Sp):
        allowed = set(q.special)
        if q.list_name and q.is_select:
            allowed |= set(form.choice_list(q.list_name).special)
        assert value.key in allowed, (q.name, value)
    elif q.type == "select_one" and q.list_name:
        assert str(value) in form.choice_list(q.list_name).codes, (q.name, value)
    elif q.type == "select_multiple":
        codes = form.choice_list(q.list_name).codes
        assert all(str(v) in codes for v in value), (q.name, value)


def clean_table(
    form: Instrument,
    rows: list[dict],
    *,
    repeat: str | None = None,
    extra: tuple[str, ...] = (),
) -> pd.DataFrame:
    """Clean-shaped rows: every data question of ``form`` typed per notes/clean_data.md."""
    data: dict[str, pd.Series] = {}
    for q in _columns(form, repeat):
        answers = [row.get(q.name) for row in rows]
        for a in answers:
            if a is not None:
                _check(form, q, a)
        values = [None if a is None or isinstance(a, Sp) else a for a in answers]
        if q.type == "select_multiple":
            cl = form.choice_list(q.list_name)
            data[q.name] = pd.Series(
                [None if v is None else " ".join(str(c) for c in v) for v in values],
                dtype="string",
            )
            for choice in cl.choices:
                suffix = choice.special or choice.name
                data[f"{q.name}__{suffix}"] = pd.Series(
                    [
                        None
                        if a is None
                        else int(a.key == choice.special)
                        if isinstance(a, Sp)
                        else int(choice.name in {str(c) for c in a})
                        for a in answers
                    ],
                    dtype="Int64",
                )
        elif q.type in _INT:
            data[q.name] = pd.Series(values, dtype="Int64")
        elif q.type == "decimal":
            data[q.name] = pd.Series(values, dtype="Float64")
        elif q.type in ("today", "date"):
            data[q.name] = pd.to_datetime(pd.Series(values, dtype="object"))
        elif q.type in ("start", "end"):
            data[q.name] = pd.to_datetime(pd.Series(values, dtype="object")).dt.tz_localize(
                "Asia/Shanghai"
            )
        else:
            assert q.type in _TEXT, q.type
            data[q.name] = pd.Series(values, dtype="string")
        if q.asks_respondent:
            data[f"{q.name}__reason"] = pd.Series(
                [a.key if isinstance(a, Sp) else "skipped" if a is None else None for a in answers],
                dtype="string",
            )
    frame = pd.DataFrame(data)
    for name in extra:
        values = [row[name] for row in rows]
        kind = "string" if isinstance(values[0], str) else "Int64"
        frame[name] = pd.Series(values, dtype=kind)
    if repeat:
        frame[f"{repeat}_index"] = pd.Series([row["_index"] for row in rows], dtype="Int64")
    return frame


# ---------------------------------------------------------------- the apprentice panel
CS_ITEMS = REGISTRY["core_skills_index"].items  # the 19 core-skills questions
IMG = ("img_pathway", "img_respect", "img_encourage", "img_equal_degree", "img_prospects")
PRACTICE = ("energy", "waste", "materials", "water", "report")
USE = ("read_manuals", "write", "calc", "digital", "problem", "instruct", "cooperate", "plan")


def _person(rid: str, ent: str, day: str, *, sex=None, age=None, core=3, image=3, quiz=()) -> dict:
    row = {
        "resp_id": rid,
        "resp_id_check": rid,
        "enterprise_id": ent,
        "meta_city": ent[:2],
        "meta_enum_id": "E01",
        "today": day,
        "meta_consent": 1,
        "meta_under18": 0,
        "dem_hukou_type": 1,
        "dem_hukou_location": 1,
        **{f"dem_wg_{d}": 1 for d in ("seeing", "hearing", "walking", "cognition")},
        **{f"dem_wg_{d}": 1 for d in ("selfcare", "communication")},
        "edu_enrolled": 0,
        "edu_cert_any": 0,
        "act_study_4wk": 0,
        "trn_any_12m": 0,
        "trn_ilo_attended": 0,
        "appr_status": 4,
        **dict.fromkeys(CS_ITEMS, core),
        **dict.fromkeys(IMG, image),
        **{f"grn_quiz_{i}": a for i, a in enumerate(quiz, start=1)},
        "awr_appr_scheme": 0,
        "awr_campaign": 0,
    }
    if sex is not None:
        row |= {"dem_sex": sex, "dem_age": str(age), "dem_birth_year": 2025 - age}
    return row


def _job(title: str, occ: int, status: int, wage, hours, sat: int, **kw) -> dict:
    return {
        "act_work_pay": 1,
        "job_title_text": title,
        "job_occ_major": occ,
        "job_industry": 3,
        "job_status": status,
        "job_wage": wage,
        "job_hours_usual": hours,
        "job_sat_overall": sat,
        **kw,
    }


def _baseline() -> list[dict]:
    day = "2025-05-20"
    return [
        # A: employee, open-ended contract, pension + medical + housing fund, 6,000 a month for
        # 50 hours, secondary vocational (ISCED 3), 车工 (ISCO 7223), two courses of 16 and 24 h
        _person("TJ001001", "TJ001", day, sex=2, age=22, core=4, image=5, quiz=(1, 3, 2, 2, 3))
        | _job("车工", 6, 1, 6000, 50, 4)
        | {
            "dem_hukou_location": 3,
            "edu_level": 5,
            "edu_field": 7,
            "edu_cert_any": 1,
            "edu_cert_level": 2,
            "job_contract_written": 1,
            "job_contract_type": 1,
            "job_dispatch": 0,
            "job_si": [1, 2, 6],
            "job_paid_leave": 1,
            "job_sick_leave": 1,
            "job_union": 1,
            "mm_req_edu_do": 5,
            "mm_req_field": 7,
            "mm_field_related": 2,
            "mm_overskilled": 3,
            "mm_underskilled": 2,
            **{f"mm_use_{u}": 4 for u in USE},
            **{f"grn_practice_{p}": 4 for p in PRACTICE},
            "trn_any_12m": 1,
            "trn_n_courses": 2,
            "trn_courses_n": "2",
            "trn_ilo_attended": 1,
            "trn_ilo_hours": 12,
            "awr_appr_scheme": 1,
            "awr_campaign": DK,
        },
        # B: paid apprentice, wage refused with bracket 2, insurances unknown but both paid
        # leaves, dazhuan (ISCED 5) as a 焊工 (7212), "no particular qualification" needed
        _person("TJ001002", "TJ001", day, sex=1, age=19, core=3, image=4, quiz=(1, 3, 2, DK, 1))
        | _job("焊工", 6, 2, REF, 40, 5)
        | {
            "dem_hukou_type": 3,
            "dem_wg_seeing": 3,
            "edu_level": 9,
            "edu_field": 7,
            "act_study_4wk": 1,
            "job_wage_bracket": 2,
            "job_contract_written": DK,
            "job_dispatch": 0,
            "job_si": DK,
            "job_paid_leave": 1,
            "job_sick_leave": 1,
            "job_union": 0,
            "mm_req_edu_do": 0,
            "mm_req_field": 6,
            "mm_field_related": 5,
            "mm_overskilled": 4,
            "mm_underskilled": 1,
            **{f"mm_use_{u}": 3 for u in USE},
            **{f"grn_practice_{p}": 2 for p in PRACTICE},
            "appr_status": 1,
            "appr_agreement": 1,
            "appr_contract_1y": 1,
            "appr_mentor_ent": 1,
            "appr_mentor_inst": 0,
            "appr_training_plan": 1,
            "appr_offjob_hours": 20,
            "appr_osh": DK,
            "appr_hours_legal": 1,
            "appr_assessed": 0,
            "appr_study_protected": 2,
            "awr_appr_scheme": 1,
            "awr_campaign": 1,
        },
        # C: unemployed (searched, available), refused the education level, certificate
        # unknown, five courses of which three described, one with unknown hours
        _person("TJ002001", "TJ002", day, sex=2, age=24, core=2, image=2, quiz=(DK,) * 5)
        | {
            "dem_hukou_type": 2,
            "edu_level": REF,
            "edu_cert_any": DK,
            "act_work_pay": 0,
            "act_temp_absent": 0,
            "act_search_4wk": 1,
            "act_available_2wk": 1,
            "trn_any_12m": 1,
            "trn_n_courses": 5,
            "trn_courses_n": "3",
        },
        # D: student, neither searching nor available, plans to work; four courses
        _person("TJ002002", "TJ002", day, sex=1, age=17, core=3, image=3, quiz=(2,) * 5)
        | {
            "meta_under18": 1,
            "meta_minor_guardian": 1,
            "dem_hukou_location": 2,
            "edu_level": 3,
            "edu_enrolled": 1,
            "act_work_pay": 0,
            "act_temp_absent": 0,
            "act_search_4wk": 0,
            "act_available_2wk": 0,
            "act_olf_reason": 1,
            "act_plan_work": 1,
            "act_study_4wk": 1,
            "trn_any_12m": 1,
            "trn_n_courses": 4,
            "trn_courses_n": "3",
        },
        # E: own-account courier (快递员, ISCO 9621), junior secondary, hours unknown
        _person("TJ002003", "TJ002", day, sex=1, age=30, core=4, image=1, quiz=(1,) * 5)
        | _job("快递员", 4, 4, 2500, DK, 4)
        | {
            "edu_level": 3,
            "mm_req_edu_do": 3,
            "mm_req_field": 0,
            "mm_overskilled": 1,
            "mm_underskilled": 1,
            **{f"mm_use_{u}": 2 for u in USE},
            **{f"grn_practice_{p}": 3 for p in PRACTICE},
        },
        # F: temporarily absent, return within 3 months unknown, not searching but available
        _person("TJ002004", "TJ002", day, sex=2, age=27, core=5, image=4, quiz=(1, 3, 2, 2, 3))
        | {
            "edu_level": 4,
            "edu_field": 0,
            "act_work_pay": 0,
            "act_temp_absent": 1,
            "act_absent_reason": 7,
            "act_absent_return3m": DK,
            "act_search_4wk": 0,
            "act_available_2wk": 1,
            "act_olf_reason": 2,
            "act_plan_work": 1,
        },
        # G: accountant (会计, ISCO 2411) with a bachelor's degree, no written contract, no
        # insurance, 1,800 a month for 40 hours
        _person("TJ002005", "TJ002", day, sex=2, age=26, core=2, image=5, quiz=(2, 3, 2, 2, 3))
        | _job("会计", 2, 1, 1800, 40, 2)
        | {
            "edu_level": 10,
            "edu_field": 4,
            "job_contract_written": 0,
            "job_dispatch": 0,
            "job_si": [0],
            "job_paid_leave": 0,
            "job_sick_leave": 0,
            "job_union": 0,
            "mm_req_edu_do": DK,
            "mm_req_field": 0,
            "mm_field_related": 4,
            "mm_overskilled": 2,
            "mm_underskilled": 3,
            **{f"mm_use_{u}": 1 for u in USE},
            **{f"grn_practice_{p}": 1 for p in PRACTICE},
        },
    ]


def _endline() -> list[dict]:
    day = "2025-12-15"

    def tracked(row: dict, status: int) -> dict:
        return row | {"trk_status": status, "trk_id_confirm": 1, "trk_attempts": 1}

    return [
        tracked(_person("TJ001001", "TJ001", day, core=5, quiz=(1, 3, 2, 2, 3)), 1)
        | _job("车工", 6, 1, 7000, 45, 5)
        | {
            "edu_level": 5,
            "edu_field": 7,
            "edu_cert_any": 1,
            "edu_cert_level": 3,
            "job_contract_written": 1,
            "job_contract_type": 1,
            "job_si": [1, 2, 3, 4, 5],
            "trn_ilo_attended": 1,
            "trn_ilo_hours": 20,
        },
        # B completed the apprenticeship and found the job before completing (0 months)
        tracked(_person("TJ001002", "TJ001", day, quiz=(1, 3, 2, 2, 3)), 1)
        | _job("焊工", 6, 1, 4500, 40, 4)
        | {
            "edu_level": 9,
            "edu_field": 7,
            "edu_cert_any": 1,
            "edu_cert_level": 1,
            "job_contract_written": 1,
            "job_contract_type": 2,
            "job_si": [1, 2],
            "appr_status": 2,
            "srch_completed_prog": 1,
            "srch_found_job": 1,
            "srch_months_to_first_job": 0,
        },
        # C found a job with a contract under a year; interviewed by phone
        tracked(_person("TJ002001", "TJ002", day, quiz=(1, 3, 2, 2, 3)), 2)
        | _job("车工", 6, 1, 3600, 44, 3)
        | {
            "edu_level": REF,
            "edu_cert_any": DK,
            "job_contract_written": 1,
            "job_contract_type": 3,
            "job_si": [0],
        },
        tracked(_person("TJ002002", "TJ002", day, quiz=(2,) * 5), 1)
        | {
            "edu_level": 3,
            "edu_enrolled": 1,
            "act_work_pay": 0,
            "act_temp_absent": 0,
            "act_search_4wk": 0,
            "act_available_2wk": 0,
            "act_plan_work": 0,
            "act_study_4wk": 1,
        },
        # E could not be found: the form stops after the tracking block
        {
            "resp_id": "TJ002003",
            "resp_id_check": "TJ002003",
            "enterprise_id": "TJ002",
            "meta_city": "TJ",
            "today": day,
            "trk_status": 4,
            "trk_notfound_reason": 1,
        },
    ]


CALENDAR = {
    "TJ001001": [1, 1, 1, 1, 1, 1],
    "TJ001002": [1, 1, 1, 2, 1, 1],
    "TJ002001": [2, 2, 3, 1, 1, 1],
    "TJ002002": [3, 3, 3, 3],
}
COURSES = {"TJ001001": [16, 24], "TJ002001": [8, 8, DK], "TJ002002": [10, 20, 30]}
TREATMENT = {"TJ001": 1, "TJ002": 0}


def _design(rows: list[dict]) -> list[dict]:
    return [
        r | {"treatment": TREATMENT[r["enterprise_id"]], "stratum": r["enterprise_id"][:2]}
        for r in rows
    ]


@pytest.fixture(scope="module")
def apprentice(forms):
    extra = ("treatment", "stratum", "round")
    base = clean_table(
        forms["apprentice", "baseline"],
        [r | {"round": "baseline"} for r in _design(_baseline())],
        extra=extra,
    )
    end = clean_table(
        forms["apprentice", "endline"],
        [r | {"round": "endline"} for r in _design(_endline())],
        extra=extra,
    )
    panel = pd.concat([base, end], ignore_index=True)
    calendar = clean_table(
        forms["apprentice", "endline"],
        [
            {"resp_id": rid, "_index": i, "cal_activity": a}
            for rid, acts in CALENDAR.items()
            for i, a in enumerate(acts, start=1)
        ],
        repeat="cal_months",
        extra=("resp_id",),
    )
    training = clean_table(
        forms["apprentice", "baseline"],
        [
            {"resp_id": rid, "round": "baseline", "_index": i, "trn_c_type": 1, "trn_c_hours": h}
            for rid, hours in COURSES.items()
            for i, h in enumerate(hours, start=1)
        ],
        repeat="trn_course",
        extra=("resp_id", "round"),
    )
    return panel, calendar, training


def _v(series: pd.Series) -> list:
    return [None if pd.isna(v) else v for v in series]


@pytest.fixture(scope="module")
def result(forms, apprentice):
    panel, calendar, training = apprentice
    return construct_indicators(panel, forms, calendar=calendar, training=training)


def _round(result, rnd: str) -> pd.DataFrame:
    out = result.respondents
    return out[out["round"].eq(rnd)].set_index("resp_id")


def test_panel_has_the_real_columns(forms, apprentice):
    panel, calendar, training = apprentice
    # every question of both forms is a column, reasons and dummies included
    for q in _columns(forms["apprentice", "endline"], None):
        if q.pii != "direct":
            assert q.name in panel.columns
    assert {"job_si__6", "job_si__0", "job_si__dont_know", "job_wage__reason"} <= set(panel)
    assert {"img_intro", "grn_quiz_intro", "mm_use_intro", "cs_intro"} <= set(panel)
    assert {"cal_months_index", "cal_index", "cal_activity__reason"} <= set(calendar)
    assert {"trn_course_index", "trn_c_hours__reason"} <= set(training)
    assert "id_name" not in panel  # direct identifiers leave at intake


def test_one_row_per_input_row(result, apprentice):
    panel, _, _ = apprentice
    out = result.respondents
    assert out[["resp_id", "round"]].values.tolist() == panel[["resp_id", "round"]].values.tolist()


def test_labour_status_and_transition(result):
    base = _round(result, "baseline")
    # A, B, E, G work for pay; C searched and is available; D neither; F is absent with an
    # unknown return date, so not employed (as the form's act_employed), available, not
    # searching: outside the labour force, potential labour force (19th ICLS para. 51)
    assert _v(base["lf_status"].astype(object)) == [
        "employed",
        "employed",
        "unemployed",
        "outside_lf",
        "employed",
        "outside_lf",
        "employed",
    ]
    assert _v(base["potential_lf"]) == [0, 0, 0, 0, 0, 1, 0]
    # NEET: C and F neither work nor study; D studies
    assert _v(base["neet"]) == [0, 0, 1, 0, 0, 1, 0]
    # SWTS: A stable (employee, open-ended); B and E satisfied (5, 4); C unemployed and F
    # available: in transition; D inactive student: not started; G no written contract and
    # dissatisfied (2): in transition
    assert _v(base["transition_stage"].astype(object)) == [
        "transited",
        "transited",
        "in_transition",
        "not_started",
        "transited",
        "in_transition",
        "in_transition",
    ]
    end = _round(result, "endline")
    # C's contract is under a year and satisfaction 3: in transition; D has no plans (0)
    assert _v(end["transition_stage"].astype(object)) == [
        "transited",
        "transited",
        "in_transition",
        "not_started",
        None,
    ]
    # E was not found: not interviewed, no status
    assert _v(end["interviewed"]) == [1, 1, 1, 1, 0]
    assert _v(end["lf_status"].astype(object))[4] is None


def test_job_quality_and_wages(result):
    base = _round(result, "baseline")
    # A: pension paid; B: insurances unknown, both paid leaves; G: none; E own-account
    assert _v(base["formal_job"]) == [1, 1, None, None, None, None, 0]
    assert _v(base["formal_basis"].astype(object))[:2] == ["social_insurance", "paid_leave"]
    assert _v(base["employee"]) == [1, 1, None, None, 0, None, 1]
    assert _v(base["si_count"]) == [2, None, None, None, None, None, 0]
    assert _v(base["housing_fund"])[:2] == [1, None]
    assert _v(base["written_contract"]) == [1, None, None, None, None, None, 0]
    assert _v(base["contract_ge12m"]) == [1, None, None, None, None, None, 0]
    # B's refused wage takes the midpoint of bracket 2, "2,000 to 3,999 yuan" = [2000, 4000)
    assert _v(base["wage_month"]) == [6000, 3000, None, None, 2500, None, 1800]
    assert _v(base["wage_month_lower"])[1] == 2000
    assert _v(base["wage_month_upper"])[1] == 4000
    assert _v(base["wage_imputed"]) == [0, 1, None, None, 0, None, 0]
    # hourly = month / (usual hours x 4.33); E's hours unknown
    hourly = [6000 / (50 * 4.33), 3000 / (40 * 4.33), 1800 / (40 * 4.33)]
    assert base["wage_hour"].iloc[[0, 1, 6]].tolist() == pytest.approx(hourly)
    assert pd.isna(base.loc["TJ002003", "wage_hour"])
    # low pay: below 2/3 of the round's median hourly wage (17.32): 11.55; only G (10.39)
    assert _v(base["low_pay"]) == [0, 0, None, None, None, None, 1]
    assert _v(base["excess_hours"]) == [1, 0, None, None, None, None, 0]
    end = _round(result, "endline")
    assert _v(end["si_count"])[:3] == [5, 2, 0]
    assert any("below_min_wage not computed" in m for m in result.missing)


def test_occupation_and_mismatch(result):
    base = _round(result, "baseline")
    assert _v(base["isco08"]) == ["7223", "7212", None, None, "9621", None, "2411"]
    # normative (ISCO-08 skill level -> ISCED 2011): A ISCED 3 in MG7 (2-4) matched;
    # B ISCED 5 in MG7 over; E ISCED 2 in MG9 (0-1) over; G ISCED 6 in MG2 (6-8) matched
    assert _v(base["qual_mismatch_norm"].astype(object)) == [
        "matched",
        "over",
        None,
        None,
        "over",
        None,
        "matched",
    ]
    # subjective: A needs secondary vocational (ISCED 3) = attained; B needs "no particular
    # qualification" (ISCED 0) < 5: over; E needs junior secondary (2) = attained; G don't know
    assert _v(base["qual_mismatch_subj"].astype(object)) == [
        "matched",
        "over",
        None,
        None,
        "matched",
        None,
        None,
    ]
    # C refused the education level: no ISCED level
    assert _v(base["isced_attained"]) == [3, 5, None, 2, 2, 3, 6]
    # relatedness 4-5 is a mismatch: A 2, B 5, G 4; E (junior secondary) was not asked
    assert _v(base["field_mismatch"]) == [0, 1, None, None, None, None, 1]
    # required field: A 7 = 7; B needs 6, studied 7; G "no specific field" needed
    assert _v(base["field_mismatch_req"]) == [0, 1, None, None, None, None, 0]
    assert _v(base["overskilled"]) == [1, 1, None, None, 0, None, 0]
    assert _v(base["underskilled"]) == [0, 0, None, None, 0, None, 1]


def test_skills_training_and_apprenticeship(result):
    base = _round(result, "baseline")
    # keys 1, 3, 2, 2, 3: B misses q4 (don't know) and q5; C all don't know; D 2s get q3, q4;
    # E 1s get q1; G misses q1
    assert _v(base["green_knowledge_score"]) == [100, 60, 0, 40, 20, 100, 80]
    assert _v(base["training_courses"]) == [2, 0, 5, 4, 0, 0, 0]
    # A 16 + 24; C has a course of unknown length; D 10 + 20 + 30 over three of four courses
    assert _v(base["training_hours"]) == [40, 0, None, 60, 0, 0, 0]
    assert _v(base["training_hours_partial"]) == [0, 0, 1, 1, 0, 0, 0]
    assert _v(base["ilo_training_hours"]) == [12, 0, 0, 0, 0, 0, 0]
    # B's criteria: agreement, contract >= 1 year, enterprise mentor, plan, legal hours,
    # off-the-job hours, formal job (paid leave) met; institution mentor, assessment,
    # protected study time (2) not met; OSH don't know not counted: 7 of 10
    assert base.loc["TJ001002", "appr_quality_index"] == pytest.approx(0.7)
    assert base.loc["TJ001002", "appr_quality_n"] == 10
    assert _v(base["appr_dropout"]) == [None, 0, None, None, None, None, None]
    assert _v(base["skill_cert_level"]) == [2, 0, None, 0, 0, 0, 0]
    assert _v(base["aware_new_apprenticeship"]) == [1, 1, 0, 0, 0, 0, 0]
    # "don't know" whether one saw the campaign counts as not aware
    assert _v(base["aware_ilo_campaign"]) == [0, 1, 0, 0, 0, 0, 0]
    end = _round(result, "endline")
    assert _v(end["cert_upgrade"]) == [1, 1, None, 0, None]
    assert _v(end["appr_completion"]) == [None, 1, None, None, None]
    assert _v(end["months_to_first_job"]) == [None, 0, None, None, None]
    # standardised on the baseline comparison group (C, D, E, F, G): mean 0, SD 1 there
    ref = result.respondents["round"].eq("baseline") & result.respondents["treatment"].eq(0)
    for name in ("core_skills_index", "image_index"):
        values = result.respondents.loc[ref, name].astype(float)
        assert values.mean() == pytest.approx(0)
        assert values.std() == pytest.approx(1)
    # raw social subscale: A answered 4 to every item
    assert base.loc["TJ001001", "core_skills_social_raw"] == 4
    # skills use and green practice: the employed; scaled on E and G (employed comparison
    # respondents). Nobody answered mm_use_green here: it is left out, and said so
    assert base["skills_use_index"].notna().tolist() == [
        True,
        True,
        False,
        False,
        True,
        False,
        True,
    ]
    assert any("['mm_use_green']" in m and "left out" in m for m in result.missing)
    assert result.reliability["round"].unique().tolist() == ["baseline", "endline"]


def test_groups_carried_from_baseline(result):
    end = _round(result, "endline")
    # sex and age are asked at baseline only: A female 22, B male 19, C female 24, D male 17,
    # E male 30
    assert _v(end["female"]) == [1, 0, 1, 0, 0]
    assert _v(end["age_lt25"]) == [1, 1, 1, 1, 0]
    # hukou and disability are asked again: B's endline answers (agricultural, no
    # difficulty) replace the baseline ones; E was not interviewed
    assert _v(end["rural_hukou"]) == [1, 1, 1, 1, None]
    assert _v(end["disability"]) == [0, 0, 0, 0, None]
    base = _round(result, "baseline")
    assert _v(base["disability"]) == [0, 1, 0, 0, 0, 0, 0]


def test_calendar(result):
    end = _round(result, "endline")
    assert _v(end["cal_months_observed"]) == [6, 6, 6, 4, None]
    assert _v(end["cal_months_employed"]) == [6, 5, 3, 0, None]
    assert end["cal_share_employed"].tolist()[:4] == pytest.approx([1, 5 / 6, 0.5, 0])
    # months before the first employed month; D never worked (censored)
    assert _v(end["cal_months_to_first_job"]) == [0, 0, 3, None, None]
    # B left work for a month and came back: one re-entry (a lower bound on job changes)
    assert _v(end["cal_job_changes"]) == [0, 1, 0, 0, None]
    base = _round(result, "baseline")
    assert base["cal_months_observed"].isna().all()


# ---------------------------------------------------------------- enterprise and capacity
def _enterprise_rows() -> list[dict]:
    visited = {"ent_visit_status": 1, "meta_consent": 1, "meta_city": "TJ"}
    part = {
        "ent_employees_total": 200,
        "ent_vacancies": 10,
        "ent_vacancies_htf": 4,
        "ent_skill_gap_share": 25,
        "ent_appr_participates": 1,
        "ent_appr_total": 20,
        "ent_appr_female": 5,
        "ent_appr_rural": 8,
        "ent_appr_disability": 1,
        "ent_appr_completed": 8,
        "ent_appr_dropped": 2,
        "ent_appr_cohort": 8,
        "ent_appr_retained_6m": 7,
        "ent_appr_retained_12m": 6,
        "ent_appr_cost": 9000,
        "ent_appr_subsidy_status": 1,
        "ent_appr_subsidy": 5000,
        "ent_green_practices": [1, 4],
        "ent_sat_apprentices": 4,
    }
    other = {
        "ent_employees_total": 40,
        "ent_vacancies": 0,
        "ent_skill_gap_share": DK,
        "ent_appr_participates": 0,
        "ent_appr_ever": 0,
        "ent_green_practices": [0],
    }
    return [
        {"enterprise_id": "TJ001", "round": "baseline"} | visited | part,
        {"enterprise_id": "TJ002", "round": "baseline"} | visited | other,
        {"enterprise_id": "TJ001", "round": "endline"}
        | visited
        | part
        | {"ent_appr_subsidy_status": 4, "ent_appr_subsidy": None, "ent_ilo_tools_used": [1, 3]}
        | {"ent_green_practices": DK},
        {"enterprise_id": "TJ002", "round": "endline", "ent_visit_status": 3, "meta_city": "TJ"},
    ]


def test_enterprise_from_the_real_form(forms, apprentice):
    rows = _enterprise_rows()
    ent = pd.concat(
        [
            clean_table(
                forms["enterprise", rnd],
                [r for r in rows if r["round"] == rnd],
                extra=("round",),
            )
            for rnd in ("baseline", "endline")
        ],
        ignore_index=True,
    )
    panel, _, _ = apprentice
    out = construct_indicators(panel, forms, enterprise=ent).enterprises
    assert _v(out["hard_to_fill_rate"]) == [0.4, None, 0.4, None]
    # no vacancies: no hard-to-fill vacancy (the item is skipped)
    assert _v(out["has_htf_vacancy"]) == [1, 0, 1, None]
    # retention on the cohort that completed 12-24 months ago: 6 / 8
    assert _v(out["apprentice_retention_12m"]) == [0.75, None, 0.75, None]
    assert _v(out["apprentices_per_100"]) == [10, 0, 10, None]
    # subsidy received at baseline (5,000: meets the guideline); not applied at endline
    assert _v(out["appr_subsidy_received"]) == [1, None, 0, None]
    assert _v(out["appr_subsidy_ge_guideline"]) == [1, None, None, None]
    assert _v(out["appr_net_cost"]) == [4000, None, 9000, None]
    # green practices: two; "none of these" -> 0; "don't know" -> missing
    assert _v(out["green_practices_count"]) == [2, 0, None, None]
    assert _v(out["ilo_tools_count"]) == [None, None, 2, None]
    assert _v(out["employer_satisfaction_apprentices"]) == [1, None, 1, None]


def test_capacity_from_the_real_form(forms, apprentice):
    keys = {
        q.name: q.answer_key
        for q in forms["capacity", "pre"].all_questions()
        if q.answer_key is not None
    }
    items = sorted(keys)
    wrong = {
        q: next(c for c in forms["capacity", "pre"].choice_list(f"{q}_opt").codes if c != k)
        for q, k in keys.items()
    }

    def answers(n_right: int, rest) -> dict:
        return {q: int(keys[q]) if i < n_right else rest(q) for i, q in enumerate(items)}

    se = ("explain", "design", "mentor", "inclusion", "core", "green", "anticipate", "evaluate")
    rows = {
        "pre": [
            # P1: the first 10 right, the rest "don't know" (scored 0): 10 / 19
            {"participant_id": "P00001", **answers(10, lambda q: DK)}
            | {f"cb_se_{s}": 3 for s in se},
            # P2: the first 5 right, the rest a wrong option: 5 / 19
            {"participant_id": "P00002", **answers(5, lambda q: int(wrong[q]))}
            | {f"cb_se_{s}": 2 for s in se}
            | {"cb_se_green": DK},
        ],
        "post": [
            {"participant_id": "P00001", **answers(19, lambda q: DK)},
            {"participant_id": "P00002", **answers(15, lambda q: int(wrong[q]))},
        ],
        "followup": [
            {"participant_id": "P00001", **answers(19, lambda q: DK), "cb_apply_actions": [1, 2]},
            {"participant_id": "P00002", **answers(12, lambda q: DK), "cb_apply_actions": [0]},
        ],
    }
    cap = pd.concat(
        [
            clean_table(
                forms["capacity", rnd],
                [r | {"round": rnd, "meta_consent": 1} for r in rows[rnd]],
                extra=("round",),
            )
            for rnd in ("pre", "post", "followup")
        ],
        ignore_index=True,
    )
    panel, _, _ = apprentice
    result = construct_indicators(panel, forms, capacity=cap)
    gains = result.gains.set_index("participant_id")
    assert gains["score_pre"].tolist() == pytest.approx([1000 / 19, 500 / 19])
    assert gains["score_post"].tolist() == pytest.approx([100, 1500 / 19])
    assert gains["score_followup"].tolist() == pytest.approx([100, 1200 / 19])
    # Hake gain: P1 (100 - 52.6) / (100 - 52.6) = 1; P2 (15 - 5) / (19 - 5) = 10 / 14
    assert gains["norm_gain"].tolist() == pytest.approx([1.0, 10 / 14])
    long = result.participants
    pre = long[long["round"].eq("pre")].set_index("participant_id")
    # modules by the cb_module tag: appr_systems = q01-q04 (both right), r208 = q05-q07
    # (P1 all right, P2 only q05), tracer_me = q17-q19 (P1 don't know, P2 wrong)
    assert pre["score_appr_systems"].tolist() == [100, 100]
    assert pre["score_r208"].tolist() == pytest.approx([100, 100 / 3])
    assert pre["score_tracer_me"].tolist() == [0, 0]
    # self-efficacy: P1 all 3; P2 2 on the 7 items answered
    assert pre["self_efficacy"].tolist() == [3, 2]
    follow = long[long["round"].eq("followup")].set_index("participant_id")
    assert _v(follow["apply_actions_count"]) == [2, 0]
    assert _v(follow["applied_any"]) == [1, 0]
    assert not any("cb_module" in m for m in result.missing)
