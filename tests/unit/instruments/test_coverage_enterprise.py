"""The enterprise questionnaire covers DOMAIN.md section 3.3 and the names.md contract.

Every expectation below is written out from DOMAIN.md section 3.3 (modules E0-E6 and their
items), section 4.1 (the 2021 New Apprenticeship guideline) and /work/notes/names.md (the
variable-name contract), never derived from the YAML. Count cross-checks are evaluated on
hand-built answers with :mod:`evaluation.instruments.expressions`, as a device would.
"""

from __future__ import annotations

import pytest

from evaluation.instruments.backcheck import backcheck_instrument
from evaluation.instruments.build import build_outputs
from evaluation.instruments.codebook import DRAFT_STATUS, codebook_markdown
from evaluation.instruments.expressions import holds, parse
from evaluation.instruments.lint import lint_instrument
from evaluation.instruments.model import full_constraint

ROUNDS = ("baseline", "endline")

# DOMAIN.md section 3.3: E0-E5 at baseline and endline, E6 at endline only.
MODULE_ROUNDS = {
    "ent_metadata": ("baseline", "endline"),  # E0
    "ent_profile": ("baseline", "endline"),  # E1
    "ent_skills": ("baseline", "endline"),  # E2
    "ent_appr": ("baseline", "endline"),  # E3
    "ent_green": ("baseline", "endline"),  # E4
    "ent_satisfaction": ("baseline", "endline"),  # E5
    "ent_ilo": ("endline",),  # E6 [E]
}

# names.md, section "Enterprise questionnaire": name -> (type, list or file, rounds).
CONTRACT = {
    "enterprise_id": ("select_one_from_file", "enterprises.csv", ROUNDS),
    "meta_enum_id": ("text", None, ROUNDS),
    "meta_city": ("select_one_from_file", "cities.csv", ROUNDS),
    "meta_consent": ("select_one", "yes_no", ROUNDS),
    "meta_round": ("calculate", None, ROUNDS),
    "ent_resp_role": ("select_one", "ent_resp_role", ROUNDS),
    "ent_ownership": ("select_one", "ownership", ROUNDS),
    "ent_industry": ("select_one", "industry_section", ROUNDS),
    "ent_size": ("select_one", "firm_size", ROUNDS),
    "ent_employees_total": ("integer", None, ROUNDS),
    "ent_employees_female": ("integer", None, ROUNDS),
    "ent_vacancies": ("integer", None, ROUNDS),
    "ent_vacancies_htf": ("integer", None, ROUNDS),
    "ent_skill_gap_share": ("integer", None, ROUNDS),
    "ent_appr_participates": ("select_one", "yes_no", ROUNDS),
    "ent_appr_total": ("integer", None, ROUNDS),
    "ent_appr_female": ("integer", None, ROUNDS),
    "ent_appr_rural": ("integer", None, ROUNDS),
    "ent_appr_disability": ("integer", None, ROUNDS),
    "ent_appr_completed": ("integer", None, ROUNDS),
    "ent_appr_dropped": ("integer", None, ROUNDS),
    "ent_appr_retained_12m": ("integer", None, ROUNDS),
    "ent_appr_cost": ("integer", None, ROUNDS),
    "ent_appr_subsidy": ("integer", None, ROUNDS),
    "ent_green_practices": ("select_multiple", None, ROUNDS),
    "ent_sat_apprentices": ("select_one", "sat5", ROUNDS),
    "ent_ilo_tools_used": ("select_multiple", None, ("endline",)),
}

# DOMAIN.md section 3.3, item by item (beyond the contract): module -> items it must hold.
DOMAIN_ITEMS = {
    "ent_profile": [
        "ent_founding_year",  # founding year (baseline only: time-invariant)
        "ent_emp_cert_junior",  # employees by skill level: 初级
        "ent_emp_cert_inter",  # 中级
        "ent_emp_cert_senior",  # 高级工
        "ent_emp_cert_tech",  # 技师
        "ent_emp_cert_srtech",  # 高级技师
        "ent_rural_share",  # share of rural-hukou workers
        "ent_migrant_share",  # share of migrant workers
        "ent_union",  # union
        "ent_collective_contract",  # collective contract
    ],
    "ent_skills": [
        "ent_htf_occ1",  # top three hard-to-fill occupations
        "ent_htf_occ2",
        "ent_htf_occ3",
        "ent_htf_reasons",  # reasons
        "ent_gap_types",  # skill types lacking
        "ent_need_change",  # expected change over 3 years
        "ent_need_digital",  # ... digital
        "ent_need_green",  # ... green
        "ent_anticip_methods",  # anticipation methods
    ],
    "ent_appr": [
        "ent_appr_since_year",  # in 新型学徒制 since when
        "ent_appr_occ_text",  # occupations
        "ent_appr_levels",  # target levels
        "ent_appr_partner",  # partner institution
        "ent_mentor_n",  # mentors
        "ent_mentor_trained",  # and their training
        "ent_appr_agreement",  # agreements
        "ent_appr_plan",  # training plans
        "ent_appr_wage_pct",  # apprentice wage as % of a regular worker's
        "ent_appr_si",  # social insurance
        "ent_appr_subsidy_status",  # subsidies received
        "ent_appr_retained_6m",  # retention at 6 months
        "ent_appr_benefits",  # benefits
        "ent_appr_barriers",  # barriers
    ],
    "ent_green": ["ent_trn_core", "ent_green_practices"],
    "ent_satisfaction": ["ent_appr_vs_hires", "ent_hire_again"],
    "ent_ilo": ["ent_ilo_usefulness", "ent_ilo_changes"],
}


@pytest.fixture(scope="module")
def forms(project_forms):
    return {r: project_forms[("enterprise", r)] for r in ROUNDS}


def _english(form, question):
    q = form.question(question)
    return [c.label.get("en") for c in form.choice_list(q.list_name).choices]


def test_every_module_is_asked_in_its_rounds(forms):
    for round_name, form in forms.items():
        modules = [q.name for q in form.questions]
        expected = [m for m, rounds in MODULE_ROUNDS.items() if round_name in rounds]
        assert modules == expected, round_name


def test_contract_names_exist_with_their_types(forms):
    for name, (kind, list_name, rounds) in CONTRACT.items():
        for round_name, form in forms.items():
            present = name in {q.name for q in form.all_questions()}
            assert present == (round_name in rounds), (name, round_name)
            if present:
                q = form.question(name)
                assert q.type == kind, name
                if list_name is not None:
                    assert q.list_name == list_name, name
    baseline, endline = forms["baseline"], forms["endline"]
    assert baseline.question("meta_round").calculation == "'baseline'"
    assert endline.question("meta_round").calculation == "'endline'"
    # percentages and money: valid answers never include the special codes
    assert baseline.question("ent_skill_gap_share").value_range == (0, 100)
    for name in ("ent_appr_cost", "ent_appr_subsidy"):
        assert baseline.question(name).value_range[0] >= 0


def test_domain_items_are_in_their_modules(forms):
    baseline, endline = forms["baseline"], forms["endline"]
    for module, names in DOMAIN_ITEMS.items():
        for name in names:
            # founding year is time-invariant: baseline only; E6 is endline only
            form = baseline if name == "ent_founding_year" else endline
            assert form.module_of(name) == module, name
    assert "ent_founding_year" not in {q.name for q in endline.all_questions()}


def test_answer_options_cover_domain_categories(forms):
    form = forms["endline"]
    # DOMAIN.md 3.3 E3 barriers: production pressure, cost, administration, poaching, trainers
    barriers = " ".join(_english(form, "ent_appr_barriers")).lower()
    for word in ("production pressure", "cost", "administrative", "poached", "mentors or trainers"):
        assert word in barriers, word
    # social insurance: the five insurances plus the housing fund, 'none' exclusive, codes as job_si
    si = form.choice_list(form.question("ent_appr_si").list_name)
    expected = {
        "1": "Pension",
        "2": "Medical",
        "3": "Unemployment",
        "4": "Work injury",
        "5": "Maternity",
        "6": "Housing provident fund",
    }
    for code, start in expected.items():
        assert si.choice(code).label.get("en").startswith(start)
    assert si.choice("0").exclusive
    assert si.choice("-99").special == "dont_know"
    # E4 green practices: energy, waste, cleaner production, ISO 14001
    practices = " ".join(_english(form, "ent_green_practices"))
    for word in ("Energy-saving", "Waste", "Cleaner production", "ISO 14001"):
        assert word in practices, word
    # E4 core-skills training: the four ILO categories (DOMAIN.md 2.6)
    core = " ".join(_english(form, "ent_trn_core"))
    for category in (
        "Social and emotional",
        "Cognitive and metacognitive",
        "Basic digital",
        "Basic skills for green jobs",
    ):
        assert category in core, category
    # E6 changes: training plan, mentor training, assessment, inclusion
    changes = " ".join(_english(form, "ent_ilo_changes"))
    for word in ("training plans", "mentors", "assessment", "women, rural workers"):
        assert word in changes, word
    # target levels: 中级工 to 高级技师 (DOMAIN.md 4.1), with the codes of the shared cert_level
    levels = form.choice_list(form.question("ent_appr_levels").list_name)
    assert [c.label.get("zh") for c in levels.choices if not c.special] == [
        "四级/中级工",
        "三级/高级工",
        "二级/技师",
        "一级/高级技师",
    ]
    assert levels.codes[:4] == ("3", "4", "5", "6")  # cert_level codes (education.yaml)


def test_subsidy_range_allows_the_guideline_floor(forms):
    # 2021 guideline: in principle at least RMB 5,000 per apprentice per year (not "up to")
    q = forms["baseline"].question("ent_appr_subsidy")
    assert q.value_range[0] <= 5000 < q.value_range[1]
    assert q.soft_range[0] <= 5000 <= q.soft_range[1]
    assert q.special == ("dont_know", "refused")


def _accepts(form, name, value, **answers):
    """Whether the device accepts ``value`` for ``name`` given the other answers."""
    q = form.question(name)
    expression = full_constraint(q, form.special_codes)
    row = dict.fromkeys(parse(expression).references, "")
    row.update({k: str(v) for k, v in answers.items()})
    return holds(expression, row, current=str(value))


def test_count_cross_checks_refuse_impossible_answers(forms):
    form = forms["baseline"]
    # women <= total (a row with women > total is refused); unknown total: nothing to check
    assert not _accepts(form, "ent_employees_female", 11, ent_employees_total=10)
    assert _accepts(form, "ent_employees_female", 10, ent_employees_total=10)
    assert _accepts(form, "ent_employees_female", 11, ent_employees_total=-99)
    assert _accepts(form, "ent_employees_female", -99, ent_employees_total=10)
    # exact headcount inside the size band (2 = 10-49 persons)
    assert _accepts(form, "ent_employees_total", 30, ent_size=2)
    assert not _accepts(form, "ent_employees_total", 60, ent_size=2)
    assert not _accepts(form, "ent_employees_total", 999, ent_size=5)
    assert _accepts(form, "ent_employees_total", 60, ent_size=-99)
    assert not _accepts(form, "ent_employees_total", -98, ent_size=2)  # refused is not offered
    # certificate holders: each and all levels together at most the headcount
    levels = {
        "ent_emp_cert_junior": 20,
        "ent_emp_cert_inter": 20,
        "ent_emp_cert_senior": 20,
        "ent_emp_cert_tech": 20,
    }
    assert not _accepts(form, "ent_emp_cert_junior", 101, ent_employees_total=100)
    assert not _accepts(form, "ent_emp_cert_srtech", 21, ent_employees_total=100, **levels)
    assert _accepts(form, "ent_emp_cert_srtech", 20, ent_employees_total=100, **levels)
    assert _accepts(
        form,
        "ent_emp_cert_srtech",
        21,
        ent_employees_total=100,
        **{**levels, "ent_emp_cert_tech": -99},
    )
    # hard-to-fill vacancies <= vacancies; occupations <= hard-to-fill vacancies
    assert not _accepts(form, "ent_vacancies_htf", 6, ent_vacancies=5)
    assert _accepts(form, "ent_vacancies_htf", 5, ent_vacancies=5)
    assert not _accepts(form, "ent_htf_occ_n", 4, ent_vacancies_htf=3)
    # apprentices: total <= employees; women, rural, disability <= total
    assert not _accepts(form, "ent_appr_total", 101, ent_employees_total=100)
    for name in ("ent_appr_female", "ent_appr_rural", "ent_appr_disability"):
        assert not _accepts(form, name, 11, ent_appr_total=10), name
        assert _accepts(form, name, 10, ent_appr_total=10), name
        assert _accepts(form, name, 11, ent_appr_total=-99), name
    # completed + dropped <= total
    assert not _accepts(form, "ent_appr_dropped", 5, ent_appr_total=10, ent_appr_completed=6)
    assert _accepts(form, "ent_appr_dropped", 4, ent_appr_total=10, ent_appr_completed=6)
    assert _accepts(form, "ent_appr_dropped", 5, ent_appr_total=10, ent_appr_completed=-99)
    assert not _accepts(form, "ent_appr_dropped", 11, ent_appr_total=10, ent_appr_completed=-99)
    assert not _accepts(form, "ent_appr_completed", 11, ent_appr_total=10)
    assert not _accepts(form, "ent_appr_certified", 7, ent_appr_completed=6)
    # retention: 12 months <= 6 months <= cohort
    assert not _accepts(form, "ent_appr_retained_6m", 9, ent_appr_cohort=8)
    assert not _accepts(form, "ent_appr_retained_12m", 7, ent_appr_cohort=8, ent_appr_retained_6m=6)
    assert _accepts(form, "ent_appr_retained_12m", 6, ent_appr_cohort=8, ent_appr_retained_6m=6)
    assert _accepts(form, "ent_appr_retained_12m", 7, ent_appr_cohort=8, ent_appr_retained_6m=-99)
    assert not _accepts(
        form, "ent_appr_retained_12m", 9, ent_appr_cohort=8, ent_appr_retained_6m=-99
    )
    # trained mentors <= mentors
    assert not _accepts(form, "ent_mentor_trained", 4, ent_mentor_n=3)
    # select_multiple: 'none' excludes everything else
    assert not _accepts(form, "ent_green_practices", "0 4")
    assert _accepts(form, "ent_green_practices", "1 4 6")


def _asked(form, name, **answers):
    """Whether ``name`` is asked given the answers (its own and its groups' relevance)."""
    for q, parents in form.walk():
        if q.name == name:
            conditions = [p.relevant for p in (*parents, q) if p.relevant]
            break
    row = {}
    for condition in conditions:
        row.update(dict.fromkeys(parse(condition).references, ""))
    row.update({k: str(v) for k, v in answers.items()})
    return all(holds(c, row) for c in conditions)


def test_skip_logic_follows_the_questionnaire(forms):
    form = forms["endline"]
    # the interview goes on only after a reached enterprise agrees
    assert _asked(form, "meta_consent", ent_visit_status=1)
    assert not _asked(form, "meta_consent", ent_visit_status=3)
    assert not _asked(form, "ent_ownership", meta_consent=0)
    # hard-to-fill follow-ups only with vacancies; the 2nd and 3rd occupation when there are more
    assert not _asked(form, "ent_vacancies_htf", meta_consent=1, ent_vacancies=0)
    assert _asked(form, "ent_htf_occ2", meta_consent=1, ent_vacancies_htf=3, ent_htf_occ_n=2)
    assert not _asked(form, "ent_htf_occ3", meta_consent=1, ent_vacancies_htf=3, ent_htf_occ_n=2)
    # apprenticeship details for participants; reasons for never having taken part otherwise
    assert _asked(form, "ent_appr_total", meta_consent=1, ent_appr_participates=1)
    assert not _asked(form, "ent_appr_total", meta_consent=1, ent_appr_participates=0)
    assert _asked(
        form, "ent_appr_nonpart", meta_consent=1, ent_appr_participates=0, ent_appr_ever=0
    )
    assert not _asked(
        form, "ent_appr_nonpart", meta_consent=1, ent_appr_participates=0, ent_appr_ever=1
    )
    # E5 satisfaction: current or past participants
    assert _asked(
        form, "ent_sat_apprentices", meta_consent=1, ent_appr_participates=0, ent_appr_ever=1
    )
    assert not _asked(
        form, "ent_sat_apprentices", meta_consent=1, ent_appr_participates=0, ent_appr_ever=0
    )
    # E6: usefulness only after some tool was used
    assert _asked(form, "ent_ilo_usefulness", meta_consent=1, ent_ilo_tools_used="1 3")
    assert not _asked(form, "ent_ilo_usefulness", meta_consent=1, ent_ilo_tools_used="0")


def test_pii_flags_and_backcheck_form(forms):
    for form in forms.values():
        direct = {q.name for q in form.all_questions() if q.pii == "direct"}
        assert direct == {"ent_resp_name", "ent_resp_phone"}
        assert form.question("enterprise_id").pii == "indirect"
    baseline = forms["baseline"]
    tags = {q.name: q.backcheck for q in baseline.all_questions() if q.backcheck}
    for name in ("enterprise_id", "ent_ownership", "ent_industry", "ent_founding_year"):
        assert tags[name] == "should_not_change", name
    for name in ("ent_size", "ent_employees_total"):
        assert tags[name] == "stable", name
    assert "enumerator_sensitive" in tags.values()
    for form in forms.values():
        check = backcheck_instrument(form)
        names = {q.name for q in check.all_questions()}
        assert {"enterprise_id", "meta_consent", "ent_visit_status", "ent_ownership"} <= names
        assert not names & {"ent_resp_name", "ent_resp_phone"}


def test_outputs_are_drafts_with_backcheck_forms(forms):
    for form in forms.values():
        assert DRAFT_STATUS in codebook_markdown(form)
        assert [f for f in lint_instrument(form) if f.rule == "chinese_typography"] == []
    files = build_outputs({("enterprise", r): form for r, form in forms.items()})
    for round_name in ROUNDS:
        for suffix in (".xlsx", ".codebook.md", ".codebook.csv", ".html"):
            assert f"qall2_enterprise_{round_name}{suffix}" in files
            assert f"qall2_enterprise_{round_name}_backcheck{suffix}" in files
