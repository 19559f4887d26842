"""The capacity-building test covers DOMAIN.md section 3.4 and the names.md contract.

Expectations are written out from DOMAIN.md section 3.4 (phases P0-P4), sections 2.6-2.8 and 4.1
(the facts the knowledge items test) and /work/notes/names.md, never derived from the YAML.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from evaluation.instruments.build import build_outputs
from evaluation.instruments.codebook import DRAFT_STATUS, codebook_markdown
from evaluation.instruments.expressions import holds
from evaluation.instruments.lint import lint_instrument
from evaluation.instruments.model import full_constraint

PHASES = ("pre", "post", "followup")

# DOMAIN.md section 3.4: P0-P2 in every phase (profile at pre only, as it does not change),
# P3 reaction at post only, P4 application at follow-up only.
MODULE_PHASES = {
    "cb_metadata": ("pre", "post", "followup"),  # P0 keys, event, consent
    "cb_profile": ("pre", "followup"),  # P0 profile (involvement re-asked at follow-up)
    "cb_knowledge": ("pre", "post", "followup"),  # P1
    "cb_selfefficacy": ("pre", "post", "followup"),  # P2
    "cb_reaction": ("post",),  # P3
    "cb_application": ("followup",),  # P4
}

# names.md, section "Capacity-building test" plus DOMAIN.md P0: name -> (type, list, phases).
CONTRACT = {
    "participant_id": ("text", None, PHASES),
    "participant_id_check": ("text", None, PHASES),
    "event_id": ("select_one_from_file", "events.csv", PHASES),
    "meta_round": ("calculate", None, PHASES),
    "meta_consent": ("select_one", "yes_no", PHASES),
    "cb_org_type": ("select_one", "cb_org_type", ("pre",)),
    "cb_sex": ("select_one", "sex", ("pre",)),
    "cb_position": ("select_one", "cb_position", ("pre",)),
    "cb_experience": ("integer", None, ("pre",)),
    "cb_prior_ilo": ("select_one", "yes_no", ("pre",)),
}

# The training modules a knowledge item may be tagged with (DOMAIN.md section 3.4 and the
# project's capacity-building curriculum), as the cb_module column spells them.
ALLOWED_TAGS = {
    "appr_systems",  # apprenticeship systems / building blocks (incl. China's 新型学徒制)
    "r208",  # Recommendation No. 208
    "core_skills",  # ILO core skills framework
    "green_skills",  # green skills
    "anticipation",  # skills anticipation and matching
    "tracer_me",  # tracer studies and M&E
}

# DOMAIN.md section 2.7: the six building blocks of the ILO Toolkit vol. 1 (2017).
BUILDING_BLOCKS = {
    "social dialogue",
    "regulatory framework",
    "roles and responsibilities",
    "equitable funding arrangements",
    "labour-market relevance",
    "inclusiveness",
}

# The correct answer of each item, as its English option text, with the source of the fact.
KEYS = {
    "cb_q01": "A uniform national wage for all apprentices",  # not a building block (2.7)
    "cb_q02": (  # ILO/R208 definition of apprenticeship (2.7)
        "Structured learning on the job in an enterprise, combined with off-the-job learning at "
        "a training institution"
    ),
    "cb_q03": "An enterprise mentor and a mentor from the training institution",  # 双导师 (4.1)
    "cb_q04": "At least RMB 5,000 per apprentice per year",  # 原则上5000元以上 (4.1)
    "cb_q05": "A Recommendation, which gives guidance and is not binding",  # R208 (2.7)
    "cb_q06": "A written apprenticeship agreement",  # R208 (2.7)
    "cb_q07": "Remuneration, social protection and safe and healthy working conditions",  # R208
    "cb_q08": "Four",  # four categories (2.6)
    "cb_q09": "Social and emotional skills",  # conflict resolution and negotiation (2.6)
    "cb_q10": "19",  # 19 core skills (2.6)
    "cb_q11": "Decent jobs that contribute to preserving or restoring the environment",  # ILO
    "cb_q12": "Preventing and reducing waste at source",  # waste hierarchy: prevention first
    "cb_q13": "Environmental management systems",  # ISO 14001
    "cb_q14": "Over-qualified",  # 20th ICLS mismatch guidelines (2.1)
    "cb_q15": "Current employees are not fully proficient in their jobs",  # skill gap
    "cb_q16": "Foresight workshops and scenarios with employers and experts",  # anticipation
    "cb_q17": "Tracer study",  # DOMAIN.md 3.4 example item (2.8)
    "cb_q18": "Behaviour",  # Kirkpatrick level 3 (3.4)
    "cb_q19": "A comparable group of people who did not take part",  # counterfactual (6)
}


@pytest.fixture(scope="module")
def forms(project_forms):
    return {p: project_forms[("capacity", p)] for p in PHASES}


def _names(form):
    return [q.name for q in form.all_questions()]


def _items(form):
    return [n for n in _names(form) if re.fullmatch(r"cb_q[0-9]{2}", n)]


def test_every_module_is_asked_in_its_phases(forms):
    for phase, form in forms.items():
        expected = [m for m, phases in MODULE_PHASES.items() if phase in phases]
        assert [q.name for q in form.questions] == expected, phase
        assert form.question("meta_round").calculation == f"'{phase}'"


def test_contract_names_exist_with_their_types(forms):
    for name, (kind, list_name, phases) in CONTRACT.items():
        for phase, form in forms.items():
            assert (name in _names(form)) == (phase in phases), (name, phase)
            if phase in phases:
                q = form.question(name)
                assert q.type == kind, name
                if list_name is not None:
                    assert q.list_name == list_name, name
    pre = forms["pre"]
    org = [c.label.get("en") for c in pre.choice_list("cb_org_type").choices]
    for kind in ("social security", "Enterprise: human resources", "trainer", "TVET"):
        assert any(kind in label for label in org), kind
    for kind in ("ACFTU", "CEC", "Other"):
        assert any(kind in label for label in org), kind


def test_participant_id_pattern_and_reentry(forms):
    form = forms["post"]
    pid = full_constraint(form.question("participant_id"), form.special_codes)
    assert holds(pid, {}, current="P01234")
    for bad in ("P1234", "p01234", "P012345", "E01234", ""):
        assert not holds(pid, {}, current=bad), bad
    check = full_constraint(form.question("participant_id_check"), form.special_codes)
    assert holds(check, {"participant_id": "P01234"}, current="P01234")
    assert not holds(check, {"participant_id": "P01234"}, current="P01243")


def test_knowledge_items_have_one_key_a_dont_know_and_a_module_tag(forms):
    form = forms["pre"]
    items = _items(form)
    assert 15 <= len(items) <= 20
    assert items == [f"cb_q{i:02d}" for i in range(1, len(items) + 1)]
    assert set(items) == set(KEYS)
    positions = Counter()
    for name in items:
        q = form.question(name)
        assert q.type == "select_one", name
        assert form.module_of(name) == "cb_knowledge", name
        options = form.choice_list(q.list_name)
        ordinary = [c for c in options.choices if not c.special]
        assert len(ordinary) == 4, name
        assert [c.special for c in options.choices if c.special] == ["dont_know"], name
        assert options.choice("-99").name != q.answer_key  # don't know is never right
        key = options.choice(q.answer_key)
        assert key.label.get("en") == KEYS[name], name
        assert key.label.get("zh"), name
        assert q.get("cb_module") in ALLOWED_TAGS, name
        positions[q.answer_key] += 1
    # each of the six modules is tested by at least two items
    tags = Counter(form.question(n).get("cb_module") for n in items)
    assert set(tags) == ALLOWED_TAGS
    assert min(tags.values()) >= 2
    # keys are spread over the four positions (no position-guessing strategy pays)
    assert set(positions) == {"1", "2", "3", "4"}
    assert max(positions.values()) <= 7


def test_building_block_item_is_right(forms):
    form = forms["pre"]
    q = form.question("cb_q01")
    for choice in form.choice_list(q.list_name).choices:
        if choice.special:
            continue
        label = choice.label.get("en").lower()
        is_block = any(block in label or label in block for block in BUILDING_BLOCKS)
        assert is_block == (choice.name != q.answer_key), label


def test_knowledge_and_self_efficacy_items_are_identical_across_phases(forms):
    pre = forms["pre"]
    panel = _items(pre) + [n for n in _names(pre) if n.startswith("cb_se_")]
    assert len([n for n in panel if n.startswith("cb_se_")]) >= 5
    for phase in ("post", "followup"):
        other = forms[phase]
        for name in panel:
            assert other.question(name) == pre.question(name), (name, phase)
            list_name = pre.question(name).list_name
            if list_name:
                assert other.choice_list(list_name) == pre.choice_list(list_name), name
    for name in panel:
        if name.startswith("cb_se_"):
            assert pre.question(name).list_name == "agree5", name


def test_reaction_post_only_and_application_followup_only(forms):
    for phase, form in forms.items():
        reaction = [n for n in _names(form) if n.startswith("cb_react_")]
        application = [n for n in _names(form) if n.startswith("cb_apply_")]
        assert bool(reaction) == (phase == "post"), phase
        assert bool(application) == (phase == "followup"), phase
    post, followup = forms["post"], forms["followup"]
    assert post.question("cb_react_intend").list_name == "agree5"
    # planned (post) and actual (follow-up) actions on the same list, 'none' exclusive
    assert post.question("cb_react_plan").list_name == "cb_action"
    assert followup.question("cb_apply_actions").list_name == "cb_action"
    assert followup.choice_list("cb_action").choice("0").exclusive
    constraint = full_constraint(followup.question("cb_apply_actions"), followup.special_codes)
    assert not holds(constraint, {}, current="0 4")
    assert holds(constraint, {}, current="1 4")
    assert {"cb_apply_barriers", "cb_apply_extent"} <= set(_names(followup))


def test_no_direct_identifiers_and_draft_outputs(forms):
    for form in forms.values():
        assert [q.name for q in form.all_questions() if q.pii == "direct"] == []
        assert DRAFT_STATUS in codebook_markdown(form)
        assert [f for f in lint_instrument(form) if f.rule == "chinese_typography"] == []
    files = build_outputs({("capacity", p): form for p, form in forms.items()})
    for phase in PHASES:
        assert f"qall2_capacity_{phase}.xlsx" in files
        assert f"qall2_capacity_{phase}.html" in files
        assert f"qall2_capacity_{phase}_backcheck.xlsx" not in files  # nothing to back-check
    # answer keys never reach the printed form handed to participants
    page = files["qall2_capacity_pre.html"].decode()
    assert "answer_key" not in page
    assert "cb_module" not in page
