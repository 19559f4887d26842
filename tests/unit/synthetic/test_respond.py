"""The generic answering engine obeys every construct of an instrument; the checker finds breaks.

Each property is checked directly on the answers with pandas (an independent reading of the
form's rules written out in the test), and the whole result with ``check_responses``, which uses
only the expression evaluator.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from evaluation.synthetic.respond import (
    EngineOptions,
    Responses,
    SimulationError,
    Table,
    answer_instrument,
    check_responses,
    sample_regex,
)

from .conftest import generic_rows

N = 1500


@pytest.fixture(scope="module")
def generic(constructs):
    form, attachments = constructs
    options = EngineOptions(dont_know_rate=0.05, refused_rate=0.03)
    responses = answer_instrument(
        form, generic_rows(N), np.random.default_rng(11), attachments=attachments, options=options
    )
    return responses, attachments


def _int(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.replace("", np.nan))


def test_generic_answers_break_no_rule(generic):
    responses, attachments = generic
    assert responses.notes == ()
    violations = check_responses(responses, attachments=attachments)
    assert violations.empty, violations.head(20).to_string()


def test_skip_logic_chain(generic):
    main = generic[0].main
    consent = main["consent"] == "1"
    assert (main.loc[~consent, ["income", "works", "hh_size", "insurance"]] == "").all().all()
    assert (main.loc[consent, ["works", "hh_size", "head_age"]] != "").all().all()
    hours = _int(main["works_hours"])
    assert ((main["works"] == "1") == hours.notna()).all()
    overtime_asked = hours > 44
    assert (main.loc[overtime_asked, "works_overtime"] != "").all()
    assert (main.loc[~overtime_asked, "works_overtime"] == "").all()
    assert overtime_asked.any()
    assert (~overtime_asked & hours.notna()).any()


def test_constraint_on_another_answer(generic):
    main = generic[0].main
    spend, income = _int(main["spend"]), _int(main["income"])
    asked = spend.notna()
    assert asked.sum() > 100
    assert (spend[asked] <= income[asked]).all()
    assert (income[income < 0].isin([-99, -98])).all()
    assert (spend[income < 0].isna()).all()


def test_ranges_soft_ranges_and_special_codes(generic):
    main = generic[0].main
    income = _int(main["income"])
    valid = income[income >= 0]
    assert valid.between(0, 50000).all()
    share_soft = valid.between(500, 20000).mean()
    assert 0.9 < share_soft <= 1.0
    asked = income.notna().sum()
    dont_know = (income == -99).sum() / asked
    refused = (income == -98).sum() / asked
    assert 0.02 < dont_know < 0.09
    assert 0.005 < refused < 0.06
    weight = _int(main["weight"]).dropna()
    assert weight.between(30, 150).all()
    assert (weight != weight.round()).any()  # decimals, not integers


def test_select_multiple_exclusive_and_special(generic):
    answers = generic[0].main["insurance"]
    asked = answers[answers != ""]
    parts = asked.str.split()
    alone = parts.map(lambda p: "0" in p or "-99" in p)
    assert (parts[alone].map(len) == 1).all()
    assert alone.any()
    assert (~alone).any()
    assert parts.map(lambda p: set(p) <= {"1", "2", "3", "0", "-99"}).all()
    assert (parts.map(lambda p: p == sorted(p, key=["1", "2", "3", "0", "-99"].index))).all()


def test_regex_and_copy_constraints(generic):
    main = generic[0].main
    assert main["hh_id"].str.fullmatch(r"H[0-9]{5}").all()
    assert (main["hh_id_check"] == main["hh_id"]).all()


def test_choice_filters(generic, constructs):
    main = generic[0].main
    firms = constructs[1]["enterprises.csv"].set_index("name")["city"]
    assert (main["firm"].map(firms) == main["city"]).all()
    assert set(main["city"]) == {"TJ", "RZ"}
    assert ((main["county"].astype(int) // 10).astype(str) == main["province"]).all()


def test_repeat_sizes_nested_rules_and_calculations(generic):
    responses = generic[0]
    main = responses.main
    members = responses.table("members").data
    size = _int(main["hh_size"]).fillna(0).astype(int)
    counts = members.groupby("_parent").size().reindex(range(len(main)), fill_value=0)
    assert (counts.to_numpy() == size.to_numpy()).all()
    positions = members.groupby("_parent")["_position"].apply(list)
    assert all(p == list(range(1, len(p) + 1)) for p in positions)
    head = _int(main["head_age"]).to_numpy()[members["_parent"].to_numpy()]
    ages = _int(members["m_age"]).to_numpy()
    assert (ages <= head).all()
    school_asked = (ages >= 6) & (ages <= 18)
    assert ((members["m_school"] != "").to_numpy() == school_asked).all()
    total = pd.Series(ages).groupby(members["_parent"].to_numpy()).sum()
    asked = main["hh_size"] != ""
    expected_total = total.reindex(range(len(main)), fill_value=0)[asked.to_numpy()]
    assert (_int(main.loc[asked, "age_total"]).to_numpy() == expected_total.to_numpy()).all()
    assert (_int(main.loc[asked, "n_members"]) == size[asked]).all()
    assert (_int(main.loc[asked, "head_next"]) == _int(main.loc[asked, "head_age"]) + 1).all()


def test_notes_and_metadata(generic):
    main = generic[0].main
    assert (main["intro"] == "").all()
    assert main["deviceid"].str.fullmatch(r"collect:[A-Za-z0-9]{16}").all()
    start = pd.to_datetime(main["start"].str.slice(0, 19))
    end = pd.to_datetime(main["end"].str.slice(0, 19))
    assert (end > start).all()
    assert (main["today"] == main["start"].str.slice(0, 10)).all()


def test_same_seed_same_answers_other_seed_differs(constructs):
    form, attachments = constructs
    first = answer_instrument(
        form, generic_rows(50), np.random.default_rng(5), attachments=attachments
    )
    again = answer_instrument(
        form, generic_rows(50), np.random.default_rng(5), attachments=attachments
    )
    other = answer_instrument(
        form, generic_rows(50), np.random.default_rng(6), attachments=attachments
    )
    pd.testing.assert_frame_equal(first.main, again.main)
    assert not first.main.equals(other.main)


def test_fixed_values_are_used_checked_and_counted(constructs):
    form, attachments = constructs
    fixed = pd.DataFrame(
        {
            "hh_id": ["H00001", "H00002", "bad", "H00004"],
            "consent": ["1", "1", "1", "0"],
            "works": ["0", "1", "", "1"],  # row 2 blank: generic; row 3 skipped by consent
            "head_next": ["99", "", "", ""],  # a calculate: the form's value wins
            "not_in_form": ["x", "y", "z", "w"],
        },
        dtype=object,
    )
    responses = answer_instrument(form, fixed, np.random.default_rng(0), attachments=attachments)
    main = responses.main
    assert list(main["hh_id"][[0, 1, 3]]) == ["H00001", "H00002", "H00004"]
    assert re.fullmatch(r"H[0-9]{5}", main["hh_id"][2])
    assert list(main["consent"]) == ["1", "1", "1", "0"]
    assert main["works"][0] == "0"
    assert main["works"][1] == "1"
    assert main["works"][3] == ""
    notes = {(n.question, n.kind): n.count for n in responses.notes}
    assert notes[("hh_id", "invalid")] == 1
    assert notes[("works", "blank_relevant")] == 1
    assert notes[("works", "skipped_by_logic")] == 1
    assert notes[("not_in_form", "absent")] == 4
    assert notes[("head_next", "calculation")] == 1
    assert check_responses(responses, attachments=attachments).empty


def test_repeat_values_from_the_process(constructs):
    form, attachments = constructs
    fixed = pd.DataFrame({"consent": ["1", "1"], "hh_size": ["3", "1"]}, dtype=object)
    cells = np.empty(2, dtype=object)
    cells[:] = [("20", "30", "40"), ("5",)]
    fixed["m_age"] = cells
    fixed["head_age"] = pd.Series(["60", "70"], dtype=object)
    responses = answer_instrument(form, fixed, np.random.default_rng(0), attachments=attachments)
    members = responses.table("members").data
    assert list(members["m_age"]) == ["20", "30", "40", "5"]
    assert list(members["_parent"]) == [0, 0, 0, 1]
    assert list(responses.main["age_total"]) == ["90", "5"]


def test_unsatisfiable_required_question_is_a_clear_error(constructs):
    form, attachments = constructs
    impossible = form.replace(
        questions=tuple(
            m.replace(
                children=tuple(
                    q.replace(constraint=". > 60000") if q.name == "spend" else q
                    for q in m.children
                )
            )
            for m in form.questions
        )
    )
    fixed = pd.DataFrame({"consent": ["1"] * 5, "income": ["100"] * 5}, dtype=object)
    with pytest.raises(SimulationError, match="'spend'"):
        answer_instrument(impossible, fixed, np.random.default_rng(0), attachments=attachments)


def test_missing_attachment_is_named(constructs):
    form, _ = constructs
    with pytest.raises(SimulationError, match=r"cities\.csv"):
        answer_instrument(form, generic_rows(3), np.random.default_rng(0), attachments={})


def test_checker_finds_every_kind_of_break(generic):
    responses, attachments = generic
    main = responses.main.copy()
    consent = main.index[main["consent"] == "1"]
    refused = main.index[main["consent"] == "0"]
    a, b, c, d, e = consent[:5]
    main.loc[refused[0], "income"] = "100"  # answered although skipped
    main.loc[a, "works"] = ""  # required and asked, blank
    main.loc[b, "weight"] = "200"  # out of range
    main.loc[c, "province"] = "9"  # not an option
    main.loc[d, "insurance"] = "0 1"  # exclusive option combined
    main.loc[e, "head_next"] = "1"  # calculation differs
    broken = Responses(
        responses.instrument,
        (Table("main", None, main), *responses.tables[1:]),
        (),
    )
    found = check_responses(broken, attachments=attachments)
    got = {(int(r.row), r.question, r.kind) for r in found.itertuples()}
    expected = {
        (refused[0], "income", "not_relevant"),
        (a, "works", "required"),
        (b, "weight", "constraint"),
        (c, "province", "choice"),
        (d, "insurance", "constraint"),
        (e, "head_next", "calculation"),
    }
    assert expected <= got
    # Side effects only: the answers that depend on the broken ones (county filtered by the
    # province, works_hours without works).
    assert {q for (_, q, _) in got - expected} <= {"county", "works_hours", "works_overtime"}


@pytest.mark.parametrize(
    "pattern",
    [r"^[A-Z]{2}[0-9]{6}$", r"^1[3-9][0-9]{9}$", r"^E[0-9]{3}$", r"^P\d{5}$", r"a[bc]?d+"],
)
def test_sample_regex_matches_its_pattern(pattern):
    drawn = sample_regex(pattern, 200, np.random.default_rng(0))
    assert all(re.fullmatch(pattern.strip("^$"), s) for s in drawn)
    assert len(set(drawn)) > 1


def test_sample_regex_refuses_alternation():
    with pytest.raises(SimulationError):
        sample_regex("^(a|b)$", 3, np.random.default_rng(0))


# --------------------------------------------------------------------------------------------
# pulldata(), computed selects and repeats sized by a calculation
# --------------------------------------------------------------------------------------------


def test_pulldata_reads_the_attached_roster(preload):
    form, attachments = preload
    fixed = pd.DataFrame({"pid": ["P002", "P001", "P009", "P003"]}, dtype=object)
    responses = answer_instrument(form, fixed, np.random.default_rng(1), attachments=attachments)
    main = responses.main
    # Independent look-up: a left merge of the answers with the roster (ODK returns '' when
    # the key is not in the file, and for an empty cell).
    expected = fixed.merge(attachments["roster.csv"], on="pid", how="left").fillna("")
    assert list(main["group"]) == list(expected["grp"])
    assert list(main["birth"]) == list(expected["birth"])
    assert responses.notes == ()
    assert check_responses(responses, attachments=attachments).query("row != 2").empty
    # P009 is not in the roster: the read-only select is empty, which the form does not accept.
    found = check_responses(responses, attachments=attachments)
    assert set(zip(found["row"], found["question"], found["kind"], strict=True)) == {
        (2, "group", "required")
    }


def test_pulldata_values_given_by_the_process_are_checked(preload):
    form, attachments = preload
    fixed = pd.DataFrame({"pid": ["P001", "P002"], "group": ["0", "0"]}, dtype=object)
    responses = answer_instrument(form, fixed, np.random.default_rng(1), attachments=attachments)
    assert list(responses.main["group"]) == ["1", "0"]  # the form's look-up wins
    assert {(n.question, n.kind): n.count for n in responses.notes} == {("group", "calculation"): 1}
    tampered = responses.main.copy()
    tampered.loc[0, "birth"] = "1991"
    broken = responses.replace_tables((Table("main", None, tampered), *responses.tables[1:]))
    found = check_responses(broken, attachments=attachments)
    assert (0, "birth", "calculation") in set(
        zip(found["row"], found["question"], found["kind"], strict=True)
    )
    # Side effects only: the repeat's months are computed from the (tampered) birth year.
    assert set(found["question"]) <= {"birth", "job_month"}
    assert set(found.loc[found["question"] == "job_month", "table"]) <= {"jobs"}


def test_pulldata_without_the_file_is_named(preload):
    form, _ = preload
    with pytest.raises(SimulationError, match=r"'roster'.*not passed in attachments"):
        answer_instrument(form, generic_rows(2), np.random.default_rng(0), attachments={})


def test_repeat_sized_by_a_calculation_with_positions(preload):
    form, attachments = preload
    fixed = pd.DataFrame(
        {"pid": ["P001", "P002", "P003", "P001"], "n_jobs": ["0", "1", "5", "2"]}, dtype=object
    )
    responses = answer_instrument(form, fixed, np.random.default_rng(3), attachments=attachments)
    jobs = responses.table("jobs").data
    # min(n_jobs, 2) instances, numbered 1..k in each submission, in submission order
    assert list(jobs["_parent"]) == [1, 2, 2, 3, 3]
    assert list(jobs["_position"]) == [1, 1, 2, 1, 2]
    assert list(jobs["job_pos"]) == ["1", "1", "2", "1", "2"]
    # birth * 12 + position, by hand: 2001*12+1, 1990*12+1 ...; P003 has no birth year ('')
    assert list(jobs["job_month"]) == ["24013", "", "", "23881", "23882"]
    assert check_responses(responses, attachments=attachments).empty


def test_repeat_values_in_long_form(preload):
    form, attachments = preload
    fixed = pd.DataFrame({"pid": ["P001", "P002"], "n_jobs": ["2", "1"]}, dtype=object)
    long = pd.DataFrame(
        {"_row": [0, 0, 1], "_position": [1, 2, 1], "job_kind": ["0", "1", "1"]}, dtype=object
    )
    responses = answer_instrument(
        form,
        fixed,
        np.random.default_rng(0),
        attachments=attachments,
        repeats={"jobs": long.astype({"_row": int, "_position": int})},
    )
    assert list(responses.table("jobs").data["job_kind"]) == ["0", "1", "1"]
    assert responses.notes == ()


def test_join_codes_matches_a_hand_join():
    from evaluation.synthetic.respond import join_codes

    chosen = np.array([[True, False, True], [False, False, False], [True, True, True]])
    codes = np.array(["1", "2", "-99"], dtype=object)
    assert list(join_codes(chosen, codes)) == ["1 -99", "", "1 2 -99"]
