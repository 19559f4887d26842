"""The apprentice questionnaire covers DOMAIN.md section 3.2 and the name contract (names.md).

Every expectation below is typed in from the documents, never derived from the YAML: the module
list and rounds from DOMAIN.md section 3.2, the core skills from section 2.6 (ILO 2021 framework,
4 + 9 + 3 + 3), the Washington Group Short Set, the five insurances and the housing fund
(section 2.4), the 19th ICLS labour-force sequence (section 2.3), the ICSE-18 codes (20th ICLS
Resolution I: 44 = paid apprentices, trainees and interns), the education levels and their ISCED
2011 levels (section 4.3), and the contract table of /work/notes/names.md. Skip logic is checked by
evaluating the form's own expressions on hand-built answers with
:mod:`evaluation.instruments.expressions`.
"""

from __future__ import annotations

import datetime as dt

import pytest

from evaluation.instruments.expressions import evaluate, holds
from evaluation.instruments.model import Instrument, Question

# DOMAIN.md section 3.2: module -> rounds ([B+E], [E]); M0-M2 were on main already.
MODULE_ROUNDS = {
    "metadata": {"baseline", "endline"},  # M0
    "identification": {"baseline", "endline"},  # M1
    "demographics": {"baseline", "endline"},  # M2
    "education": {"baseline", "endline"},  # M3
    "activity": {"baseline", "endline"},  # M4
    "job": {"baseline", "endline"},  # M5
    "match": {"baseline", "endline"},  # M6
    "search": {"baseline", "endline"},  # M7
    "training": {"baseline", "endline"},  # M8
    "apprenticeship": {"baseline", "endline"},  # M9
    "core_skills": {"baseline", "endline"},  # M10
    "green": {"baseline", "endline"},  # M11
    "image": {"baseline", "endline"},  # M12
    "retrospective": {"endline"},  # M13
}

# DOMAIN.md section 2.6 (ILO 2021, Table 5): four categories, 19 skills.
CORE_SKILLS = {
    "social and emotional": [
        "cs_se_communication",
        "cs_se_teamwork",
        "cs_se_conflict",
        "cs_se_emotional",
    ],
    "cognitive and metacognitive": [
        "cs_cg_literacy_numeracy",
        "cs_cg_critical",
        "cs_cg_creative",
        "cs_cg_strategic",
        "cs_cg_problem_solving",
        "cs_cg_learning",
        "cs_cg_information",
        "cs_cg_planning",
        "cs_cg_career",
    ],
    "basic digital": ["cs_dg_hardware", "cs_dg_software", "cs_dg_online_safety"],
    "basic skills for green jobs": ["cs_gr_environment", "cs_gr_waste", "cs_gr_energy_water"],
}
CATEGORY_GROUPS = {
    "social and emotional": ("cs_se", "社交和情感技能"),
    "cognitive and metacognitive": ("cs_cg", "认知和元认知技能"),
    "basic digital": ("cs_dg", "基本数字技能"),
    "basic skills for green jobs": ("cs_gr", "绿色工作的基本技能"),
}

WASHINGTON_GROUP = [
    "dem_wg_seeing",
    "dem_wg_hearing",
    "dem_wg_walking",
    "dem_wg_cognition",
    "dem_wg_selfcare",
    "dem_wg_communication",
]

# names.md and DOMAIN.md section 2.4: code -> Chinese label of 五险一金.
SOCIAL_INSURANCE = {
    "1": "养老保险",
    "2": "医疗保险",
    "3": "失业保险",
    "4": "工伤保险",
    "5": "生育保险",
    "6": "住房公积金",
}

# DOMAIN.md section 4.3: code -> (Chinese level, ISCED 2011 level, MOHRSS technician track).
EDUCATION_ISCED = {
    "1": ("未上过学", "0", "0"),
    "2": ("小学", "1", "0"),
    "3": ("初中", "2", "0"),
    "4": ("普通高中", "3", "0"),
    "5": ("中专/职高/中职", "3", "0"),
    "6": ("技工学校（中级工班）", "3", "1"),
    "7": ("高级技工学校/技师学院（高级工班）", "5", "1"),
    "8": ("技师学院（预备技师/技师班）", "6", "1"),
    "9": ("大学专科/高职", "5", "0"),
    "10": ("大学本科", "6", "0"),
    "11": ("硕士研究生", "7", "0"),
    "12": ("博士研究生", "8", "0"),
}

# ICSE-18 (20th ICLS Resolution I, 2018): job_status code -> ICSE-18 code and group letter.
ICSE18 = {
    "1": ("4", "D"),  # employees (41-43 detailed from the contract)
    "2": ("44", "D"),  # paid apprentices, trainees and interns
    "3": ("1", "A"),  # employers
    "4": ("2", "B"),  # independent workers without employees
    "5": ("30", "C"),  # dependent contractors
    "6": ("51", "E"),  # contributing family workers
}

B, E, BE = ("baseline",), ("endline",), ("baseline", "endline")

# names.md, apprentice table: name -> (type, list, rounds). Rounds are the authors' decision
# where names.md is silent (time-invariant items at baseline only; DOMAIN.md [B]/[E]/[B+E]).
CONTRACT = {
    # metadata and identification (already on main) and the M0 additions
    "start": ("start", None, BE),
    "end": ("end", None, BE),
    "today": ("today", None, BE),
    "deviceid": ("deviceid", None, BE),
    "username": ("username", None, BE),
    "audit": ("audit", None, BE),
    "meta_enum_id": ("text", None, BE),
    "meta_city": ("select_one_from_file", "cities.csv", BE),
    "enterprise_id": ("select_one_from_file", "enterprises.csv", BE),
    "meta_consent": ("select_one", "yes_no", BE),
    "meta_under18": ("select_one", "yes_no", BE),
    "meta_minor_guardian": ("select_one", "yes_no", BE),
    "meta_sample_group": ("select_one", "sample_group", BE),
    "meta_round": ("calculate", None, BE),
    "trk_status": ("select_one", "track_status", E),
    "resp_id": ("text", None, BE),
    "resp_id_check": ("text", None, BE),
    "id_name": ("text", None, BE),
    "id_phone": ("text", None, BE),
    # demographics (already on main)
    "dem_sex": ("select_one", "sex", B),
    "dem_birth_year": ("integer", None, B),
    "dem_birth_month": ("integer", None, B),
    "dem_age": ("calculate", None, B),
    "dem_marital": ("select_one", "marital", BE),
    "dem_children_u6": ("integer", None, BE),
    "dem_ethnicity": ("select_one", "ethnicity", B),
    "dem_hukou_type": ("select_one", "hukou_type", BE),
    "dem_hukou_location": ("select_one", "hukou_location", BE),
    "dem_months_nonfarm_local": ("integer", None, BE),
    "dem_months_away": ("integer", None, BE),
    **dict.fromkeys(WASHINGTON_GROUP, ("select_one", "wg_difficulty", BE)),
    "dem_disability_cert": ("select_one", "yes_no", BE),
    # M3
    "edu_level": ("select_one", "edu_level", BE),
    "edu_field": ("select_one", "isced_field", BE),
    "edu_major_text": ("text", None, BE),
    "edu_year_completed": ("integer", None, BE),
    "edu_enrolled": ("select_one", "yes_no", BE),
    "edu_cert_any": ("select_one", "yes_no_dk", BE),
    "edu_cert_level": ("select_one", "cert_level", BE),
    # M4
    "act_work_pay": ("select_one", "yes_no", BE),
    "act_temp_absent": ("select_one", "yes_no", BE),
    "act_absent_return3m": ("select_one", "yes_no_dk", BE),
    "act_employed": ("calculate", None, BE),
    "act_search_4wk": ("select_one", "yes_no", BE),
    "act_available_2wk": ("select_one", "yes_no", BE),
    "act_olf_reason": ("select_one", "olf_reason", BE),
    "act_study_4wk": ("select_one", "yes_no", BE),
    # M5
    "job_title_text": ("text", None, BE),
    "job_tasks_text": ("text", None, BE),
    "job_occ_major": ("select_one", "occ_major", BE),
    "job_industry": ("select_one", "industry_section", BE),
    "job_status": ("select_one", "job_status", BE),
    "job_ownership": ("select_one", "ownership", BE),
    "job_firm_size": ("select_one", "firm_size", BE),
    "job_contract_written": ("select_one", "yes_no_dk", BE),
    "job_contract_type": ("select_one", "contract_type", BE),
    "job_dispatch": ("select_one", "yes_no_dk", BE),
    "job_start_year": ("integer", None, BE),
    "job_start_month": ("integer", None, BE),
    "job_hours_usual": ("integer", None, BE),
    "job_hours_last_week": ("integer", None, BE),
    "job_wage": ("integer", None, BE),
    "job_wage_bracket": ("select_one", "wage_bracket", BE),
    "job_si": ("select_multiple", "social_insurance", BE),
    "job_paid_leave": ("select_one", "yes_no_dk", BE),
    "job_sick_leave": ("select_one", "yes_no_dk", BE),
    "job_union": ("select_one", "yes_no_dk", BE),
    "job_sat_overall": ("select_one", "sat5", BE),
    # M6
    "mm_req_edu_get": ("select_one", "edu_required", BE),
    "mm_req_edu_do": ("select_one", "edu_required", BE),
    "mm_req_field": ("select_one", "isced_field", BE),
    "mm_field_related": ("select_one", "relatedness5", BE),
    "mm_overskilled": ("select_one", "agree4", BE),
    "mm_underskilled": ("select_one", "agree4", BE),
    "mm_gap_technical": ("select_one", "skill_gap5", BE),
    "mm_gap_digital": ("select_one", "skill_gap5", BE),
    "mm_gap_green": ("select_one", "skill_gap5", BE),
    # M7
    "srch_methods": ("select_multiple", "search_method", BE),
    "srch_months_to_first_job": ("integer", None, E),
    # M8
    "trn_any_12m": ("select_one", "yes_no", BE),
    "trn_ilo_attended": ("select_one", "yes_no", BE),
    "trn_ilo_hours": ("integer", None, BE),
    # M9
    "appr_status": ("select_one", "appr_status", BE),
    "appr_agreement": ("select_one", "yes_no_dk", BE),
    "appr_mentor_ent": ("select_one", "yes_no_dk", BE),
    "appr_mentor_inst": ("select_one", "yes_no_dk", BE),
    "appr_training_plan": ("select_one", "yes_no_dk", BE),
    "appr_assessed": ("select_one", "yes_no_dk", BE),
    "appr_offjob_hours": ("integer", None, BE),
    "appr_study_protected": ("select_one", "agree5", BE),
    "appr_sat_overall": ("select_one", "sat5", BE),
    # M10
    **{name: ("select_one", "ability5", BE) for names in CORE_SKILLS.values() for name in names},
    # M11
    **{f"grn_quiz_{i}": ("select_one", f"grn_q{i}", BE) for i in range(1, 6)},
    # M13
    "cal_months": ("repeat", None, E),
    "cal_activity": ("select_one", "cal_activity", E),
}

# names.md patterns: every item with the prefix has this list.
PATTERNS = {"mm_use_": "piaac_freq", "grn_practice_": "freq5", "img_": "agree5", "cs_": "ability5"}

# names.md fixed codes (list -> codes in order, special codes included).
CODES = {
    "sample_group": ["1", "0"],
    "track_status": ["1", "2", "3", "4", "5"],
    "contract_type": ["1", "2", "3", "4", "5", "6", "-99"],
    "wage_bracket": ["1", "2", "3", "4", "5", "6", "-99", "-98"],
    "appr_status": ["1", "2", "3", "4", "-99"],
    "cal_activity": ["1", "2", "3", "4"],
    "job_status": ["1", "2", "3", "4", "5", "6", "-98"],
    "occ_major": ["1", "2", "3", "4", "5", "6", "7", "8", "-99"],
}


@pytest.fixture(scope="module")
def baseline(project_forms) -> Instrument:
    return project_forms[("apprentice", "baseline")]


@pytest.fixture(scope="module")
def endline(project_forms) -> Instrument:
    return project_forms[("apprentice", "endline")]


def _names(form: Instrument) -> dict[str, Question]:
    return {q.name: q for q, _ in form.walk()}


def _asked(form: Instrument, name: str, answers: dict[str, object]) -> bool:
    """Whether a question is reached: its relevance and that of every enclosing group hold."""
    row = dict.fromkeys(_names(form), "")
    row.update(answers)
    for q, parents in form.walk():
        if q.name == name:
            return all(holds(node.relevant, row) for node in (*parents, q) if node.relevant)
    raise KeyError(name)


def _value(form: Instrument, name: str, answers: dict[str, object]) -> object:
    row = dict.fromkeys(_names(form), "")
    row.update(answers)
    return evaluate(form.question(name).calculation, row)


def test_every_module_is_present_in_its_rounds(baseline, endline):
    for module, rounds in MODULE_ROUNDS.items():
        for form in (baseline, endline):
            present = module in [q.name for q in form.questions]
            assert present == (form.round in rounds), (module, form.round)
    assert {q.name for q in endline.questions} == set(MODULE_ROUNDS)
    assert [q.name for q in endline.questions] == list(MODULE_ROUNDS)  # DOMAIN order M0-M13


@pytest.mark.parametrize("name", sorted(CONTRACT))
def test_contract_names_have_their_type_list_and_rounds(baseline, endline, name):
    kind, list_name, rounds = CONTRACT[name]
    for form in (baseline, endline):
        questions = _names(form)
        assert (name in questions) == (form.round in rounds), (name, form.round)
        if name in questions:
            q = questions[name]
            assert (q.type, q.list_name) == (kind, list_name), name


@pytest.mark.parametrize("prefix", sorted(PATTERNS))
def test_contract_name_patterns_share_one_list(endline, prefix):
    items = [q for q in endline.all_questions() if q.name.startswith(prefix) and q.asks_respondent]
    assert len(items) >= 3
    assert {q.list_name for q in items} == {PATTERNS[prefix]}


@pytest.mark.parametrize("list_name", sorted(CODES))
def test_contract_codes(endline, list_name):
    assert list(endline.choice_list(list_name).codes) == CODES[list_name]


def test_nineteen_core_skills_in_four_categories(baseline):
    assert [len(v) for v in CORE_SKILLS.values()] == [4, 9, 3, 3]
    questions = _names(baseline)
    for category, names in CORE_SKILLS.items():
        group_name, chinese = CATEGORY_GROUPS[category]
        group = questions[group_name]
        assert group.label.get("zh") == chinese
        assert [c.name for c in group.children] == names, category
    asked = [q.name for q in questions.values() if q.name.startswith("cs_") and q.asks_respondent]
    assert len(asked) == 19


def test_six_washington_group_items(baseline):
    questions = _names(baseline)
    assert [c.name for c in questions["dem_wg"].children if c.asks_respondent] == WASHINGTON_GROUP
    codes = baseline.choice_list("wg_difficulty").codes
    assert list(codes[:4]) == ["1", "2", "3", "4"]


def test_five_insurances_and_housing_fund_with_exclusive_none_and_dont_know(baseline):
    si = baseline.choice_list("social_insurance")
    labels = {c.name: c.label.get("zh") for c in si.choices if not c.exclusive}
    assert labels == SOCIAL_INSURANCE
    exclusive = {c.name for c in si.choices if c.exclusive}
    assert exclusive == {"0", "-99"}
    constraint = baseline.question("job_si").constraint
    row = {"job_si": ""}
    assert holds(constraint, row, current="1 2 6")
    assert holds(constraint, row, current="0")
    assert holds(constraint, row, current="-99")
    assert not holds(constraint, row, current="0 1")
    assert not holds(constraint, row, current="2 -99")


def _employment(form: Instrument, **answers: object) -> object:
    return _value(form, "act_employed", answers)


def test_icls_sequence_and_skip_logic(baseline):
    worked = {"meta_consent": "1", "act_work_pay": "1"}
    worked["act_employed"] = _employment(baseline, **worked)
    assert float(worked["act_employed"]) == 1
    assert not _asked(baseline, "act_temp_absent", worked)
    assert not _asked(baseline, "act_search_4wk", worked)  # someone who worked is not asked search
    assert not _asked(baseline, "act_olf_reason", worked)
    assert _asked(baseline, "job_title_text", worked)
    # absent for another reason (5 lay-off), returning within three months: employed
    absent = {
        "act_work_pay": "0",
        "act_temp_absent": "1",
        "act_absent_reason": "5",
        "act_absent_return3m": "1",
    }
    assert float(_employment(baseline, **absent)) == 1
    assert _asked(baseline, "act_absent_reason", {"meta_consent": "1", **absent})
    assert _asked(baseline, "act_absent_return3m", {"meta_consent": "1", **absent})
    # absent without return (or unsure): not employed, asked search and availability
    for answer in ("0", "-99"):
        gone = {**absent, "act_absent_return3m": answer}
        assert float(_employment(baseline, **gone)) == 0
    # on leave (1 annual leave, 2 own illness, 3 maternity or paternity): employed whatever the
    # duration (19th ICLS para. 29(a)), so the three-month question is not asked
    for leave in ("1", "2", "3"):
        on_leave = {"act_work_pay": "0", "act_temp_absent": "1", "act_absent_reason": leave}
        assert float(_employment(baseline, **on_leave)) == 1
        assert not _asked(baseline, "act_absent_return3m", {"meta_consent": "1", **on_leave})
    jobless = {"meta_consent": "1", "act_work_pay": "0", "act_temp_absent": "0"}
    jobless["act_employed"] = _employment(baseline, **jobless)
    assert float(jobless["act_employed"]) == 0
    assert _asked(baseline, "act_search_4wk", jobless)
    assert _asked(baseline, "act_available_2wk", jobless)
    assert not _asked(baseline, "job_title_text", jobless)
    assert not _asked(baseline, "mm_req_edu_get", jobless)
    # unemployed (searched and available): no reason for inactivity
    unemployed = {**jobless, "act_search_4wk": "1", "act_available_2wk": "1"}
    assert not _asked(baseline, "act_olf_reason", unemployed)
    assert _asked(baseline, "srch_methods", unemployed)
    # potential labour force and inactive: reason asked
    for search, available in (("1", "0"), ("0", "1"), ("0", "0")):
        outside = {**jobless, "act_search_4wk": search, "act_available_2wk": available}
        assert _asked(baseline, "act_olf_reason", outside)
    # the sequence is in ICLS order in the form
    order = [q.name for q in baseline.all_questions()]
    sequence = [
        "act_work_pay",
        "act_temp_absent",
        "act_absent_reason",
        "act_absent_return3m",
        "act_employed",
        "act_search_4wk",
        "act_available_2wk",
        "act_olf_reason",
    ]
    assert [n for n in order if n in sequence] == sequence


def test_icse18_categories_include_paid_apprentices(baseline):
    status = baseline.choice_list("job_status")
    got = {
        c.name: (c.get("icse18"), c.get("icse18_group")) for c in status.choices if not c.special
    }
    assert got == ICSE18
    assert status.choice("2").label.get("zh") == "带薪学徒/实习人员"
    # paid apprentices are employees: asked the employee items
    row = {"meta_consent": "1", "act_employed": "1", "job_status": "2"}
    assert _asked(baseline, "job_contract_written", row)
    assert _asked(baseline, "job_si", row)
    own_account = {**row, "job_status": "4"}
    assert not _asked(baseline, "job_si", own_account)


def test_education_levels_map_to_isced(baseline):
    for list_name in ("edu_level", "edu_required"):
        choices = {c.name: c for c in baseline.choice_list(list_name).choices if not c.special}
        for code, (chinese, isced, track) in EDUCATION_ISCED.items():
            choice = choices[code]
            assert choice.label.get("zh") == chinese, (list_name, code)
            assert (choice.get("isced"), choice.get("mohrss_track")) == (isced, track)
    required = baseline.choice_list("edu_required")
    assert required.choice("0").get("isced") is None  # "no particular qualification"


def test_endline_tracking_comes_before_consent_and_gates_the_interview(endline, baseline):
    order = [q.name for q in endline.all_questions()]
    assert order.index("resp_id") < order.index("trk_status") < order.index("meta_consent")
    assert "trk_status" not in _names(baseline)
    for status in ("1", "2"):
        assert _asked(endline, "meta_consent", {"trk_status": status})
        traced = {"trk_status": status, "meta_consent": "1"}
        assert _asked(endline, "edu_level", traced)
    for status in ("3", "4", "5"):
        row = {"trk_status": status}
        assert not _asked(endline, "meta_consent", row)
        # meta_consent stays unanswered, so every later module is skipped
        assert not _asked(endline, "id_name", row)
        assert not _asked(endline, "cal_activity", row)
        assert _asked(endline, "trk_informant", row)
    # at baseline consent is asked of every sampled person
    assert _asked(baseline, "meta_consent", {})


def test_panel_consent_is_identical_in_both_rounds(baseline, endline):
    assert baseline.question("meta_consent") == endline.question("meta_consent")
    assert baseline.question("resp_id") == endline.question("resp_id")


def test_round_marker(baseline, endline):
    assert _value(baseline, "meta_round", {}) == "baseline"
    assert _value(endline, "meta_round", {}) == "endline"


def test_calendar_months_since_baseline(endline):
    # baseline in March 2025, interview on 15 November 2026: months March 2025 .. October 2026
    # = 10 months of 2025 + 10 of 2026 = 20 (hand count); the first is 2025-03.
    answers = {
        "trk_roster_bl_year": "2025",
        "trk_roster_bl_month": "3",
        "today": dt.date(2026, 11, 15).isoformat(),
    }
    row = dict.fromkeys(_names(endline), "")
    row.update(answers)
    for name in ("cal_start", "cal_now", "cal_first", "cal_n_months"):
        row[name] = evaluate(endline.question(name).calculation, row)
    assert float(row["cal_n_months"]) == 20
    row["cal_index"] = evaluate(endline.question("cal_index").calculation, row, position=1)
    assert evaluate(endline.question("cal_ym").calculation, row) == "2025-03"
    row["cal_index"] = evaluate(endline.question("cal_index").calculation, row, position=20)
    assert evaluate(endline.question("cal_ym").calculation, row) == "2026-10"
    # more than 24 months: the last 24 only (November 2024 .. October 2026)
    row.update({"trk_roster_bl_year": "2024", "trk_roster_bl_month": "1"})
    for name in ("cal_start", "cal_now", "cal_first", "cal_n_months"):
        row[name] = evaluate(endline.question(name).calculation, row)
    assert float(row["cal_n_months"]) == 24
    row["cal_index"] = evaluate(endline.question("cal_index").calculation, row, position=1)
    assert evaluate(endline.question("cal_ym").calculation, row) == "2024-11"


def test_green_quiz_keys_and_dont_know(baseline):
    # keys typed in from the module's source note: off, oily rags, LED, repair, CO2
    keys = {1: "关机", 2: "废机油和沾油抹布", 3: "LED灯", 4: "及时报告或修理", 5: "二氧化碳"}
    for i, answer in keys.items():
        q = baseline.question(f"grn_quiz_{i}")
        options = baseline.choice_list(q.list_name)
        assert options.choice(q.answer_key).label.get("zh") == answer
        assert "dont_know" in options.special


def test_wage_follow_up_and_soft_check(baseline):
    base = {"meta_consent": "1", "act_employed": "1", "job_status": "1"}
    for code in ("-99", "-98"):
        assert _asked(baseline, "job_wage_bracket", {**base, "job_wage": code})
    assert not _asked(baseline, "job_wage_bracket", {**base, "job_wage": "4500"})
    assert _asked(baseline, "job_wage_confirm", {**base, "job_wage": "35000"})
    assert not _asked(baseline, "job_wage_confirm", {**base, "job_wage": "30000"})
    assert not _asked(baseline, "job_wage_confirm", {**base, "job_wage": "-98"})
    wage = baseline.question("job_wage")
    assert wage.value_range == (0, 100000)
    assert wage.soft_range == (500, 30000)
    assert wage.special == ("dont_know", "refused")


def test_every_text_is_bilingual_and_every_module_has_a_source(baseline, endline):
    for form in (baseline, endline):
        for top in form.questions:
            assert top.source, top.name
        for q in form.all_questions():
            for text in (q.label, q.hint, q.constraint_message):
                if text:
                    assert text.get("en"), q.name
                    assert text.get("zh"), q.name
