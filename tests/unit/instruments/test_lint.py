"""Every lint rule has a fixture that breaks it, and a clean form breaks none."""

from __future__ import annotations

import pytest

from evaluation.instruments.lint import RULES, lint_instrument, lint_rounds
from evaluation.instruments.model import Choice, ChoiceList, Instrument, Question, SpecialCode, Text

EN, ZH = "English (en)", "Chinese (zh)"


def T(en: str, zh: str | None = None) -> Text:
    return Text(((EN, en), (ZH, zh if zh is not None else en + "（中）")))


CODES = (
    SpecialCode("dont_know", -99, T("Don't know", "不知道")),
    SpecialCode("refused", -98, T("Refused", "拒绝回答")),
)
YES_NO = ChoiceList("yes_no", (Choice("1", T("Yes", "是")), Choice("0", T("No", "否"))))
TOOLS = ChoiceList(
    "tools",
    (
        Choice("1", T("Hammer", "锤子")),
        Choice("2", T("Saw", "锯")),
        Choice("9", T("None", "没有"), exclusive=True),
        Choice("-99", T("Don't know", "不知道"), special="dont_know", exclusive=True),
    ),
)


def q(name: str, type_: str = "integer", **kw) -> Question:
    defaults = {"label": T(name), "required": "yes"}
    if type_ == "integer":
        defaults["value_range"] = (0, 10)
    defaults.update(kw)
    return Question(name=name, type=type_, **defaults)


def form(*questions: Question, lists=(YES_NO, TOOLS), **kw) -> Instrument:
    base = {
        "form_id": "t",
        "title": "Test",
        "version": "2026010101",
        "languages": (EN, ZH),
        "default_language": EN,
        "questions": (Question("mod", "group", label=T("Module"), children=questions),),
        "choice_lists": lists,
        "special_codes": CODES,
    }
    base.update(kw)
    return Instrument(**base)


CLEAN = form(
    q("age", special=("dont_know",)),
    q("works", "select_one", list_name="yes_no", relevant="${age} >= 16"),
    q(
        "tools_used",
        "select_multiple",
        list_name="tools",
        relevant="${works} = 1",
        constraint="not((selected(., '9') or selected(., '-99')) and count-selected(.) > 1)",
    ),
)

# One form per rule, each broken in exactly the way the rule catches.
BROKEN = {
    "name_format": form(q("Age"), lists=(YES_NO,)),
    "name_length": form(q("a" * 33), lists=(YES_NO,)),
    "name_unique": form(q("age"), q("age"), lists=(YES_NO,)),
    "type_unknown": form(q("age", "intger", value_range=None), lists=(YES_NO,)),
    "label_missing": form(q("age", label=Text()), lists=(YES_NO,)),
    "translation_missing": form(q("age", hint=Text(((EN, "years"),))), lists=(YES_NO,)),
    "whitespace": form(q("age", label=T("Age ", "年龄")), lists=(YES_NO,)),
    "chinese_typography": form(q("age", label=T("Age?", "您的年龄" + "?")), lists=(YES_NO,)),
    "list_missing": form(q("works", "select_one", list_name="yesno"), lists=(YES_NO,)),
    "list_unused": form(q("age"), lists=(YES_NO,)),
    "list_empty": form(
        q("works", "select_one", list_name="empty"), lists=(ChoiceList("empty", ()),)
    ),
    "choice_code_numeric": form(
        q("works", "select_one", list_name="yn"),
        lists=(ChoiceList("yn", (Choice("yes", T("Yes", "是")), Choice("no", T("No", "否")))),),
    ),
    "choice_code_unique": form(
        q("works", "select_one", list_name="yn"),
        lists=(ChoiceList("yn", (Choice("1", T("Yes", "是")), Choice("1", T("No", "否")))),),
    ),
    "choice_label_duplicate": form(
        q("works", "select_one", list_name="yn"),
        lists=(ChoiceList("yn", (Choice("1", T("Yes", "是")), Choice("2", T("Yes", "是")))),),
    ),
    "numeric_range": form(q("age", value_range=(-100, 100)), lists=(YES_NO,)),
    "special_undeclared": form(q("age", special=("not_applicable",)), lists=(YES_NO,)),
    "expression_syntax": form(q("age"), q("b", relevant="${age} >=> 1"), lists=(YES_NO,)),
    "reference_unknown": form(q("age"), q("b", relevant="${agee} > 1"), lists=(YES_NO,)),
    "dependency_cycle": form(
        q("a", relevant="${b} > 1"), q("b", relevant="${a} > 1"), lists=(YES_NO,)
    ),
    "relevant_forward": form(q("a", relevant="${b} > 1"), q("b"), lists=(YES_NO,)),
    "exclusive_options": form(
        q("tools_used", "select_multiple", list_name="tools"), lists=(TOOLS,)
    ),
    "required_note": form(q("a_note", "note", value_range=None, required="yes"), lists=(YES_NO,)),
    "required_missing": form(q("age", required=None), lists=(YES_NO,)),
    "answer_key": form(
        q("quiz", "select_one", list_name="yes_no", answer_key="7"), lists=(YES_NO,)
    ),
    "settings": form(q("age"), lists=(YES_NO,), version="v1"),
}


def test_clean_form_has_no_findings():
    assert lint_instrument(CLEAN) == ()


def test_every_rule_has_a_failing_fixture():
    assert set(BROKEN) | {"panel_identical"} == set(RULES)


@pytest.mark.parametrize("rule", sorted(BROKEN))
def test_rule_fires_on_its_fixture(rule):
    findings = lint_instrument(BROKEN[rule])
    fired = {f.rule for f in findings}
    assert rule in fired, findings
    # the form is otherwise clean: nothing but the rule under test (and its direct consequences)
    allowed = {rule, "list_unused", "reference_unknown", "relevant_forward"}
    assert fired <= allowed, findings
    finding = next(f for f in findings if f.rule == rule)
    assert finding.severity == RULES[rule][0]
    assert finding.message


def test_exclusive_rule_checks_the_constraint_semantically():
    # a constraint that forgets the special code lets "-99 1" through
    partial = form(
        q(
            "tools_used",
            "select_multiple",
            list_name="tools",
            constraint="not(selected(., '9') and count-selected(.) > 1)",
        ),
        lists=(TOOLS,),
    )
    messages = [f.message for f in lint_instrument(partial) if f.rule == "exclusive_options"]
    assert messages == ["the constraint accepts option '-99' together with '1'"]


def test_range_must_exclude_every_special_code():
    findings = lint_instrument(form(q("wage", value_range=(-100, 0)), lists=(YES_NO,)))
    expected = (
        "range [-100, 0] contains the special codes [-99, -98]; answers with those values "
        "could not be told from a valid answer"
    )
    assert [f.message for f in findings if f.rule == "numeric_range"] == [expected]


def test_repeat_suffix_counts_towards_the_name_length():
    inner = q("x" * 30)
    repeated = form(Question("r", "repeat", label=T("Roster"), children=(inner,)), lists=(YES_NO,))
    assert any(f.rule == "name_length" for f in lint_instrument(repeated))
    clash = form(
        Question("r", "repeat", label=T("Roster"), children=(q("hours"),)),
        q("hours_1"),
        lists=(YES_NO,),
    )
    assert any(f.rule == "name_unique" and "hours_1" in f.subject for f in lint_instrument(clash))


def test_panel_items_must_be_identical_across_rounds():
    baseline = CLEAN.replace(round="baseline", form_id="t_b")
    changed = CLEAN.questions[0].replace(
        children=(
            CLEAN.questions[0].children[0].replace(value_range=(0, 99)),
            *CLEAN.questions[0].children[1:],
        )
    )
    endline = CLEAN.replace(round="endline", form_id="t_e", questions=(changed,))
    assert lint_rounds([baseline, baseline.replace(round="endline")]) == ()
    findings = lint_rounds([baseline, endline])
    assert [(f.rule, f.subject, f.message) for f in findings] == [
        ("panel_identical", "age", "value_range differs between baseline and endline")
    ]
    relabelled = YES_NO.__class__(
        "yes_no", (Choice("1", T("Yes", "是")), Choice("0", T("No", "不是")))
    )
    endline = CLEAN.replace(round="endline", choice_lists=(relabelled, TOOLS))
    findings = lint_rounds([baseline, endline])
    assert [f.message for f in findings] == ["choice list 'yes_no' differs between rounds"]


def test_round_marker_is_the_only_calculation_allowed_to_differ_between_rounds():
    def with_rows(round_name: str, *rows: Question) -> Instrument:
        return CLEAN.replace(
            round=round_name,
            form_id=f"t_{round_name}",
            questions=(CLEAN.questions[0].replace(children=(*CLEAN.questions[0].children, *rows)),),
        )

    def marker(value: str) -> Question:
        return Question("meta_round", "calculate", calculation=f"'{value}'")

    # each form records its own round: not a panel difference
    assert lint_rounds([with_rows("pre", marker("pre")), with_rows("post", marker("post"))]) == ()
    # a constant that is not the form's round is an ordinary calculation, and must agree
    wrong = lint_rounds([with_rows("pre", marker("pre")), with_rows("post", marker("pre2"))])
    assert [(f.subject, f.message) for f in wrong] == [
        ("meta_round", "calculation differs between pre and post")
    ]
    other = Question("x_calc", "calculate", calculation="${age} * 2")
    changed = other.replace(calculation="${age} * 3")
    assert [
        f.subject for f in lint_rounds([with_rows("pre", other), with_rows("post", changed)])
    ] == ["x_calc"]


def test_answer_keys_and_extra_columns_are_panel_fields():
    item = q("quiz", "select_one", list_name="yes_no", answer_key="1", value_range=None)
    first = CLEAN.replace(round="pre", questions=(CLEAN.questions[0].replace(children=(item,)),))
    rekeyed = first.replace(
        round="post",
        questions=(first.questions[0].replace(children=(item.replace(answer_key="0"),)),),
    )
    retagged = first.replace(
        round="post",
        questions=(
            first.questions[0].replace(children=(item.replace(extra=(("cb_module", "x"),)),)),
        ),
    )
    assert [f.message for f in lint_rounds([first, rekeyed])] == [
        "answer_key differs between pre and post"
    ]
    assert [f.message for f in lint_rounds([first, retagged])] == [
        "extra differs between pre and post"
    ]


def test_round_markers_may_differ_but_derived_calculations_may_not():
    def marker(value: str) -> Question:
        return Question("round_marker", "calculate", calculation=value)

    def derived(value: str) -> Question:
        return Question("adult", "calculate", calculation=value)

    def with_(*extra: Question, round_: str) -> Instrument:
        module = CLEAN.questions[0]
        return CLEAN.replace(
            round=round_, questions=(module.replace(children=(*module.children, *extra)),)
        )

    baseline = with_(marker("'baseline'"), derived("${age} >= 18"), round_="baseline")
    endline = with_(marker("'endline'"), derived("${age} >= 18"), round_="endline")
    assert lint_rounds([baseline, endline]) == ()
    # a calculation that uses answers is a derived panel variable: it must not drift
    drifted = with_(marker("'endline'"), derived("${age} >= 16"), round_="endline")
    findings = lint_rounds([baseline, drifted])
    assert [(f.subject, f.message) for f in findings] == [
        ("adult", "calculation differs between baseline and endline")
    ]
    # and a constant that becomes a derived value is a change too
    became = with_(marker("${age}"), derived("${age} >= 18"), round_="endline")
    assert [f.subject for f in lint_rounds([baseline, became])] == ["round_marker"]
