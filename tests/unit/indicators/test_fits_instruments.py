"""The indicators fit the real questionnaires: names, rounds, types, codes and list columns.

Every expectation below is typed in from the documents, never derived from the YAML or from the
indicator code: the codes and meanings from notes/names.md and DOMAIN.md sections 2-5 (ICSE-18
from 20th ICLS Resolution I, ISCED 2011 levels of the Chinese education levels from section 4.3,
the five insurances and the housing fund from section 2.4, the 19th ICLS activity sequence from
section 2.3), the rounds from DOMAIN.md section 3 (M2 sex and birth date at baseline, M13 and the
tracer item at endline, E6 ILO tools at endline, P4 application items at the follow-up). The
test then reads the instruments built from ``surveys/`` and checks that every question each
registered indicator reads (``REGISTRY[name].items``) exists in the right family and rounds with
the expected type, list, codes and list columns, and that the code constants the indicators
fall back on agree with the lists. A questionnaire edit that breaks an indicator fails here.
"""

from __future__ import annotations

import dataclasses
import pathlib

import pytest

from evaluation.indicators.construct import IndicatorConfig
from evaluation.indicators.enterprise import SUBSIDY_RECEIVED
from evaluation.indicators.files import reference_table
from evaluation.indicators.forms import (
    exclusive_options,
    family,
    icse18_statuses,
    list_column,
    question_items,
    question_tags,
    unmapped_codes,
    wage_brackets,
)
from evaluation.indicators.jobs import (
    CONTRIBUTING_FAMILY_WORKER,
    DEFAULT_WAGE_BRACKETS,
    FIVE_INSURANCES,
)
from evaluation.indicators.labour import EMPLOYEE_STATUSES, STABLE_CONTRACTS
from evaluation.indicators.registry import REGISTRY
from evaluation.indicators.skills import (
    APPR_COMPLETED,
    APPR_DROPPED,
    APPR_ENROLLED,
    APPR_NEVER,
    CORE_SKILL_SCALES,
    QUALITY_ITEMS,
)
from evaluation.instruments.files import read_instruments
from evaluation.instruments.model import Instrument, Question

ROOT = pathlib.Path(__file__).resolve().parents[3]
BL, EL, BE = {"baseline"}, {"endline"}, {"baseline", "endline"}
PHASES = {"pre", "post", "followup"}
FAMILY = {"respondent": "apprentice", "enterprise": "enterprise", "participant": "capacity"}


@dataclasses.dataclass(frozen=True)
class Spec:
    """What an indicator expects of a question.

    ``codes`` maps each code the indicators rely on to the start of its English label (case
    ignored); ``exclusive`` lists the exclusive options of a select_multiple; ``relevant`` the
    questions its skip logic (its own or its groups') must refer to; ``repeat`` the repeat group
    holding it.
    """

    family: str
    rounds: set[str]
    type: str
    list_name: str | None = None
    codes: dict[int, str] = dataclasses.field(default_factory=dict)
    exclusive: set[str] = dataclasses.field(default_factory=set)
    special: tuple[str, ...] = ()
    relevant: tuple[str, ...] = ()
    repeat: str | None = None


def _a(rounds, type_, list_name=None, **kw):
    return Spec("apprentice", rounds, type_, list_name, **kw)


def _e(rounds, type_, list_name=None, **kw):
    return Spec("enterprise", rounds, type_, list_name, **kw)


YES_NO = {1: "yes", 0: "no"}
YES_NO_DK = {1: "yes", 0: "no", -99: "don't know"}
AGREE4 = {1: "strongly disagree", 2: "disagree", 3: "agree", 4: "strongly agree"}
AGREE5 = {1: "strongly disagree", 3: "neither", 4: "agree", 5: "strongly agree"}
SAT5 = {1: "very dissatisfied", 3: "neither", 4: "satisfied", 5: "very satisfied"}
ABILITY5 = {1: "not at all", 5: "very well"}
# DOMAIN.md section 4.3: code -> ISCED 2011 (7 and 8 are the MOHRSS technician classes).
ISCED = {1: 0, 2: 1, 3: 2, 4: 3, 5: 3, 6: 3, 7: 5, 8: 6, 9: 5, 10: 6, 11: 7, 12: 8}
EDU_LEVEL = {
    1: "no schooling",
    2: "primary",
    3: "junior secondary",
    4: "general senior secondary",
    5: "secondary vocational",
    6: "technician school",
    7: "senior technician school",
    8: "technician college",
    9: "junior college",
    10: "bachelor",
    11: "master",
    12: "doctorate",
}
ISCED_F = {0: "generic", 1: "education", 6: "information and communication", 7: "engineering"}
WG = {1: "no difficulty", 2: "some difficulty", 3: "a lot of difficulty", 4: "cannot do"}
ACTIVITY = ("act_work_pay", "act_temp_absent", "act_absent_reason", "act_absent_return3m")
NOT_EMPLOYED = ("act_employed",)
EMPLOYEE_ONLY = ("job_status",)

SPECS: dict[str, Spec] = {
    # M0 metadata and consent
    "meta_consent": _a(BE, "select_one", "yes_no", codes=YES_NO),
    "meta_minor_guardian": _a(BE, "select_one", "yes_no", codes=YES_NO),
    "meta_city": _a(BE, "select_one_from_file"),
    "today": _a(BE, "today"),
    # M2 demographics: sex and birth date at baseline only (time-invariant)
    "dem_sex": _a(BL, "select_one", "sex", codes={1: "male", 2: "female"}),
    "dem_age": _a(BL, "calculate"),
    "dem_hukou_type": _a(
        BE,
        "select_one",
        "hukou_type",
        codes={
            1: "agricultural",
            2: "non-agricultural",
            3: "unified resident hukou, formerly agricultural",
            4: "unified resident hukou, formerly non-agricultural",
        },
    ),
    "dem_hukou_location": _a(
        BE,
        "select_one",
        "hukou_location",
        codes={1: "this county", 2: "another county", 3: "another city", 4: "another province"},
    ),
    **{
        f"dem_wg_{d}": _a(BE, "select_one", "wg_difficulty", codes=WG)
        for d in ("seeing", "hearing", "walking", "cognition", "selfcare", "communication")
    },
    # M3 education
    "edu_level": _a(BE, "select_one", "edu_level", codes=EDU_LEVEL),
    "edu_field": _a(BE, "select_one", "isced_field", codes=ISCED_F, relevant=("edu_level",)),
    "edu_enrolled": _a(BE, "select_one", "yes_no", codes=YES_NO),
    "edu_cert_any": _a(BE, "select_one", "yes_no_dk", codes=YES_NO_DK),
    "edu_cert_level": _a(
        BE,
        "select_one",
        "cert_level",
        codes={1: "apprentice worker", 2: "level 5", 5: "level 2", 8: "chief technician"},
        relevant=("edu_cert_any",),
    ),
    # M4 current activity (19th ICLS)
    "act_work_pay": _a(BE, "select_one", "yes_no", codes=YES_NO),
    "act_temp_absent": _a(BE, "select_one", "yes_no", codes=YES_NO, relevant=("act_work_pay",)),
    "act_absent_reason": _a(
        BE,
        "select_one",
        "absence_reason",
        # the codes that keep the job attachment whatever the duration (19th ICLS para. 29(a))
        codes={1: "annual leave", 2: "own illness", 3: "maternity or paternity"},
        relevant=("act_temp_absent",),
    ),
    "act_absent_return3m": _a(
        BE,
        "select_one",
        "yes_no_dk",
        codes=YES_NO_DK,
        relevant=("act_temp_absent", "act_absent_reason"),
    ),
    "act_search_4wk": _a(BE, "select_one", "yes_no", codes=YES_NO, relevant=NOT_EMPLOYED),
    "act_available_2wk": _a(BE, "select_one", "yes_no", codes=YES_NO, relevant=NOT_EMPLOYED),
    "act_plan_work": _a(
        BE,
        "select_one",
        "yes_no_dk",
        codes=YES_NO_DK,
        relevant=("act_employed", "act_search_4wk", "act_available_2wk"),
    ),
    "act_study_4wk": _a(BE, "select_one", "yes_no", codes=YES_NO),
    # M5 main job
    "job_title_text": _a(BE, "text"),
    "job_tasks_text": _a(BE, "text"),
    "job_occ_major": _a(BE, "select_one", "occ_major", codes={6: "production", 7: "military"}),
    "job_industry": _a(BE, "select_one", "industry_section", codes={3: "manufacturing"}),
    "job_status": _a(
        BE,
        "select_one",
        "job_status",
        codes={
            1: "employee",
            2: "paid apprentice",
            3: "employer",
            4: "own-account",
            5: "dependent contractor",
            6: "helping in a family business",
        },
    ),
    "job_contract_written": _a(
        BE, "select_one", "yes_no_dk", codes=YES_NO_DK, relevant=EMPLOYEE_ONLY
    ),
    "job_contract_type": _a(
        BE,
        "select_one",
        "contract_type",
        codes={
            1: "open-ended",
            2: "fixed-term contract of 1 year or more",
            3: "fixed-term contract of less than 1 year",
            4: "contract for the completion of a task",
            5: "part-time",
            6: "other",
        },
        relevant=("job_contract_written",),
    ),
    "job_dispatch": _a(BE, "select_one", "yes_no_dk", codes=YES_NO_DK, relevant=EMPLOYEE_ONLY),
    "job_hours_usual": _a(BE, "integer", special=("dont_know",)),
    "job_wage": _a(BE, "integer", special=("dont_know", "refused")),
    "job_wage_bracket": _a(
        BE,
        "select_one",
        "wage_bracket",
        codes={
            1: "less than 2,000",
            2: "2,000 to 3,999",
            3: "4,000 to 5,999",
            4: "6,000 to 7,999",
            5: "8,000 to 9,999",
            6: "10,000 yuan or more",
        },
        relevant=("job_wage",),
    ),
    "job_si": _a(
        BE,
        "select_multiple",
        "social_insurance",
        codes={
            1: "basic pension",
            2: "basic medical",
            3: "unemployment",
            4: "work injury",
            5: "maternity",
            6: "housing provident fund",
            0: "none",
            -99: "don't know",
        },
        exclusive={"0", "-99"},
        relevant=EMPLOYEE_ONLY,
    ),
    "job_paid_leave": _a(BE, "select_one", "yes_no_dk", codes=YES_NO_DK, relevant=EMPLOYEE_ONLY),
    "job_sick_leave": _a(BE, "select_one", "yes_no_dk", codes=YES_NO_DK, relevant=EMPLOYEE_ONLY),
    "job_union": _a(BE, "select_one", "yes_no_dk", codes=YES_NO_DK),
    "job_sat_overall": _a(BE, "select_one", "sat5", codes=SAT5),
    # M6 qualification and skills match
    "mm_req_edu_do": _a(
        BE,
        "select_one",
        "edu_required",
        codes={0: "no particular qualification", **EDU_LEVEL, -99: "don't know"},
    ),
    "mm_req_field": _a(BE, "select_one", "isced_field", codes=ISCED_F),
    "mm_field_related": _a(
        BE,
        "select_one",
        "relatedness5",
        codes={1: "to a very high extent", 3: "to some extent", 4: "to a low extent", 5: "not"},
    ),
    "mm_overskilled": _a(BE, "select_one", "agree4", codes=AGREE4),
    "mm_underskilled": _a(BE, "select_one", "agree4", codes=AGREE4),
    **{
        f"mm_use_{u}": _a(
            BE, "select_one", "piaac_freq", codes={1: "never", 2: "less than once a month"}
        )
        for u in (
            "read_manuals",
            "write",
            "calc",
            "digital",
            "problem",
            "instruct",
            "cooperate",
            "plan",
            "green",
        )
    },
    # M7 tracer item (endline)
    "srch_months_to_first_job": _a(EL, "integer", special=("dont_know",)),
    # M8 training: up to three courses in the trn_course repeat
    "trn_any_12m": _a(BE, "select_one", "yes_no", codes=YES_NO),
    "trn_n_courses": _a(BE, "integer", relevant=("trn_any_12m",)),
    "trn_c_hours": _a(BE, "integer", special=("dont_know",), repeat="trn_course"),
    "trn_ilo_attended": _a(BE, "select_one", "yes_no", codes=YES_NO),
    "trn_ilo_hours": _a(BE, "integer", special=("dont_know",), relevant=("trn_ilo_attended",)),
    # M9 apprenticeship
    "appr_status": _a(
        BE,
        "select_one",
        "appr_status",
        codes={1: "currently enrolled", 2: "completed", 3: "started but dropped out", 4: "never"},
    ),
    **{
        item: _a(BE, "select_one", "yes_no_dk", codes=YES_NO_DK, relevant=("appr_status",))
        for item in QUALITY_ITEMS
    },
    "appr_offjob_hours": _a(BE, "integer", special=("dont_know",), relevant=("appr_status",)),
    "appr_study_protected": _a(BE, "select_one", "agree5", codes=AGREE5),
    # M10 core skills
    **{
        item: _a(BE, "select_one", "ability5", codes=ABILITY5)
        for item in REGISTRY["core_skills_index"].items
    },
    # M11 green quiz and practices
    **{
        f"grn_quiz_{i}": _a(BE, "select_one", f"grn_q{i}", codes={-99: "don't know"})
        for i in range(1, 6)
    },
    **{
        f"grn_practice_{p}": _a(BE, "select_one", "freq5", codes={1: "never", 5: "always"})
        for p in ("energy", "waste", "materials", "water", "report")
    },
    # M12 image and awareness
    **{
        f"img_{i}": _a(BE, "select_one", "agree5", codes=AGREE5)
        for i in ("pathway", "respect", "encourage", "equal_degree", "prospects")
    },
    "awr_appr_scheme": _a(BE, "select_one", "yes_no", codes=YES_NO),
    "awr_campaign": _a(BE, "select_one", "yes_no_dk", codes=YES_NO_DK),
    # M13 activity calendar (endline)
    "cal_activity": _a(
        EL,
        "select_one",
        "cal_activity",
        codes={1: "employed", 2: "unemployed", 3: "in education or training", 4: "other"},
        repeat="cal_months",
    ),
    # Enterprise E2-E6
    "ent_employees_total": _e(BE, "integer", special=("dont_know",)),
    "ent_vacancies": _e(BE, "integer", special=("dont_know",)),
    "ent_vacancies_htf": _e(BE, "integer", special=("dont_know",), relevant=("ent_vacancies",)),
    "ent_skill_gap_share": _e(BE, "integer", special=("dont_know",)),
    "ent_appr_participates": _e(BE, "select_one", "yes_no", codes=YES_NO),
    **{
        f"ent_appr_{n}": _e(
            BE, "integer", special=("dont_know",), relevant=("ent_appr_participates",)
        )
        for n in ("total", "female", "rural", "disability", "completed", "dropped")
    },
    "ent_appr_cohort": _e(BE, "integer", special=("dont_know",)),
    "ent_appr_retained_6m": _e(
        BE, "integer", special=("dont_know",), relevant=("ent_appr_cohort",)
    ),
    "ent_appr_retained_12m": _e(
        BE, "integer", special=("dont_know",), relevant=("ent_appr_cohort",)
    ),
    "ent_appr_cost": _e(BE, "integer", special=("dont_know", "refused")),
    "ent_appr_subsidy_status": _e(
        BE,
        "select_one",
        "ent_subsidy_status",
        codes={
            1: "received",
            2: "applied, not yet received",
            3: "applied, not approved",
            4: "did not apply",
        },
    ),
    "ent_appr_subsidy": _e(
        BE, "integer", special=("dont_know", "refused"), relevant=("ent_appr_subsidy_status",)
    ),
    "ent_green_practices": _e(
        BE,
        "select_multiple",
        "ent_green_practice",
        codes={1: "energy-saving", 6: "iso 14001", 0: "none", -99: "don't know"},
        exclusive={"0", "-99"},
    ),
    "ent_sat_apprentices": _e(BE, "select_one", "sat5", codes=SAT5),
    "ent_ilo_tools_used": _e(
        EL,
        "select_multiple",
        "ent_ilo_tool",
        codes={1: "ilo toolkit", 0: "none", -99: "don't know"},
        exclusive={"0", "-99"},
    ),
    # Capacity-building test P1, P2, P4
    **{
        f"cb_q{i:02d}": Spec("capacity", PHASES, "select_one", f"cb_q{i:02d}_opt", {-99: "don't"})
        for i in range(1, 20)
    },
    **{
        f"cb_se_{s}": Spec("capacity", PHASES, "select_one", "agree5", AGREE5)
        for s in (
            "explain",
            "design",
            "mentor",
            "inclusion",
            "core",
            "green",
            "anticipate",
            "evaluate",
        )
    },
    "cb_apply_actions": Spec(
        "capacity",
        {"followup"},
        "select_multiple",
        "cb_action",
        {1: "share what i learned", 0: "none", -99: "don't know"},
        exclusive={"0", "-99"},
    ),
}


@pytest.fixture(scope="module")
def forms() -> dict:
    return read_instruments(ROOT / "surveys")


def _find(form: Instrument, name: str) -> tuple[Question, tuple[Question, ...]] | None:
    for q, parents in form.walk():
        if q.name == name:
            return q, parents
    return None


def test_every_indicator_declares_what_it_reads():
    undeclared = sorted(name for name, ind in REGISTRY.items() if not ind.items)
    assert undeclared == []
    unknown = sorted({item for ind in REGISTRY.values() for item in ind.items} - set(SPECS))
    assert unknown == [], "questions read by an indicator but absent from this test's table"


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_indicator_items_fit_their_instrument(name):
    indicator = REGISTRY[name]
    for item in indicator.items:
        spec = SPECS[item]
        assert spec.family == FAMILY[indicator.level], (name, item)


@pytest.mark.parametrize("item", sorted(SPECS))
def test_question_fits(item, forms):
    spec = SPECS[item]
    family_forms = {rnd: f for (fam, rnd), f in forms.items() if fam == spec.family}
    asked = {rnd for rnd, f in family_forms.items() if _find(f, item) is not None}
    assert asked == spec.rounds, f"{item} is asked in {sorted(asked)}"
    for rnd in sorted(spec.rounds):
        form = family_forms[rnd]
        q, parents = _find(form, item)
        assert q.type == spec.type, (item, rnd, q.type)
        assert q.list_name == (
            spec.list_name if spec.type != "select_one_from_file" else q.list_name
        )
        for key in spec.special:
            assert key in q.special, (item, rnd, q.special)
        relevant = " and ".join(r.relevant for r in (*parents, q) if r.relevant)
        for ref in spec.relevant:
            assert f"${{{ref}}}" in relevant, (item, rnd, relevant)
        repeats = [p.name for p in parents if p.type == "repeat"]
        assert repeats == ([spec.repeat] if spec.repeat else []), (item, rnd, repeats)
        if spec.list_name and spec.type != "select_one_from_file":
            cl = form.choice_list(spec.list_name)
            for code, meaning in spec.codes.items():
                label = cl.choice(str(code)).label.get("en") or ""
                assert label.lower().startswith(meaning), (item, code, label)
            exclusive = {c.name for c in cl.choices if c.exclusive}
            if spec.type == "select_multiple":
                assert exclusive == spec.exclusive, (item, exclusive)


def test_education_lists_carry_isced(forms):
    apprentice = family(list(forms.values()), "apprentice")
    level = {k: int(v) for k, v in list_column(apprentice, "edu_level", "isced").items()}
    assert level == ISCED
    required = {k: int(v) for k, v in list_column(apprentice, "edu_required", "isced").items()}
    assert required == ISCED
    # code 0 "no particular qualification" is the only code without an ISCED level: the
    # indicators give it NO_QUALIFICATION_ISCED (0)
    assert unmapped_codes(apprentice, "edu_required", "isced") == [0]
    years = reference_table("edu_years")
    assert sorted(years["edu_level"].astype(int)) == sorted(ISCED)


def test_status_codes_fit_icse18(forms):
    apprentice = family(list(forms.values()), "apprentice")
    # names.md / DOMAIN.md 2.3: employee 4 (employees), paid apprentice 44, employer 1,
    # own-account 2, dependent contractor 30, contributing family worker 51
    icse = list_column(apprentice, "job_status", "icse18")
    assert icse == {1: "4", 2: "44", 3: "1", 4: "2", 5: "30", 6: "51"}
    groups = list_column(apprentice, "job_status", "icse18_group")
    assert groups == {1: "D", 2: "D", 3: "A", 4: "B", 5: "C", 6: "E"}
    assert icse18_statuses(apprentice) == ((1, 2), (6,))
    assert (tuple(EMPLOYEE_STATUSES), (CONTRIBUTING_FAMILY_WORKER,)) == ((1, 2), (6,))


def test_code_constants_fit_the_lists(forms):
    apprentice = family(list(forms.values()), "apprentice")
    # wage brackets: bounds stated in the labels, and the fallback table agrees with them
    typed = {
        1: (0.0, 2000.0),
        2: (2000.0, 4000.0),
        3: (4000.0, 6000.0),
        4: (6000.0, 8000.0),
        5: (8000.0, 10000.0),
        6: (10000.0, None),
    }
    assert wage_brackets(apprentice) == typed
    assert dict(DEFAULT_WAGE_BRACKETS) == typed
    assert set(STABLE_CONTRACTS) == {1, 2}  # labels checked in SPECS["job_contract_type"]
    assert set(FIVE_INSURANCES) == {1, 2, 3, 4, 5}  # labels checked in SPECS["job_si"]
    assert (APPR_ENROLLED, APPR_COMPLETED, APPR_DROPPED, APPR_NEVER) == (1, 2, 3, 4)
    enterprise = family(list(forms.values()), "enterprise")
    status = enterprise[0].choice_list("ent_subsidy_status").choice(str(SUBSIDY_RECEIVED))
    assert status.label.get("en") == "Received"
    assert exclusive_options(enterprise, "ent_green_practices") == {"0", "-99"}
    assert exclusive_options(apprentice, "job_si") == {"0", "-99"}
    # at most three courses are described (the repeat count calculation)
    calc = forms["apprentice", "baseline"].question("trn_courses_n").calculation
    assert calc == "if(${trn_n_courses} > 3, 3, ${trn_n_courses})"
    # GB/T 4754 section letters on the industry list, 1 = A ... 20 = T
    letters = list_column(apprentice, "industry_section", "gbt4754")
    assert letters == {i: chr(ord("A") + i - 1) for i in range(1, 21)}
    dadian = reference_table("dadian_isco_major")["dadian_major"].astype(int)
    occ = forms["apprentice", "baseline"].choice_list("occ_major")
    assert sorted(dadian) == sorted(int(c.name) for c in occ.choices if c.special is None)


def test_scales_and_items_fit(forms):
    apprentice = family(list(forms.values()), "apprentice")
    # 19 core skills, 4 + 9 + 3 + 3, and the prefixes partition them
    for name, prefix in CORE_SKILL_SCALES.items():
        assert question_items(apprentice, prefix) == list(REGISTRY[name].items)
    assert len(question_items(apprentice, "cs_")) == 19
    # index items: the select_one questions of each prefix, no notes
    for prefix, indicator in (
        ("img_", "image_index"),
        ("grn_practice_", "green_practice_index"),
        ("mm_use_", "skills_use_index"),
    ):
        assert question_items(apprentice, prefix) == list(REGISTRY[indicator].items)
    # every green quiz item has a key among its list's options and a don't-know option
    base = forms["apprentice", "baseline"]
    for item in REGISTRY["green_knowledge_score"].items:
        q = base.question(item)
        cl = base.choice_list(q.list_name)
        assert q.answer_key in cl.codes
        assert cl.choice(q.answer_key).special is None
        assert "dont_know" in cl.special


def test_capacity_items_tagged_and_keyed(forms):
    capacity = family(list(forms.values()), "capacity")
    items = list(REGISTRY["score"].items)
    assert question_items(capacity, "cb_q") == items
    tags = question_tags(capacity, IndicatorConfig().capacity_module_column, items)
    assert set(tags) == set(items)
    for form in capacity:
        for item in items:
            q = form.question(item)
            assert q.answer_key is not None
            assert q.answer_key in form.choice_list(q.list_name).codes
