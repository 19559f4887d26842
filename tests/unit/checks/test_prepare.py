"""Preparing a raw round: normalised text, special codes in their raw forms, skip logic, times."""

from __future__ import annotations

import numpy as np
import pandas as pd

from evaluation.checks import CheckConfig, prepare_round
from evaluation.checks.prepare import ANSWERED, EMPTY, as_text, normalise_text
from tests.unit.checks.conftest import answers, raw_round, repeat_table


def test_special_codes_are_recognised_in_every_raw_form():
    # The instrument's codes: 1 dont_know (-99), 2 refused (-98), 3 not_applicable (-97).
    forms = {
        "-99": 1,
        "-99.0": 1,
        "－９９": 1,  # full-width minus and digits
        " -99 ": 1,
        "\u221299": 1,  # MINUS SIGN
        "- 99": 1,
        "不知道": 1,  # the label, in Chinese
        "Don't know": 1,
        "don't KNOW": 1,
        "不清楚": 1,  # a default alias
        "-98": 2,
        "拒绝回答": 2,
        "拒绝": 2,  # a default alias
        "-97": 3,
        "30": ANSWERED,
        "３０": ANSWERED,
        "": EMPTY,
    }
    rows = [answers(i, dem_age=text) for i, text in enumerate(forms, start=1)]
    prepared = prepare_round(raw_round(rows))
    assert prepared.main.status["dem_age"].tolist() == list(forms.values())
    # Expressions see the code the form would have stored.
    assert prepared.main.frame["dem_age"].tolist()[:4] == ["-99", "-99", "-99", "-99"]
    assert prepared.main.frame["dem_age"].iloc[15] == "30"  # "３０" normalised
    numbers = prepared.main.numbers["dem_age"]
    assert np.isnan(numbers[:14]).all()
    assert numbers[14:16].tolist() == [30.0, 30.0]


def test_configured_aliases_are_codes_too():
    config = CheckConfig(special_aliases={"dont_know": ("-999", "说不清")})
    rows = [answers(1, dem_age="-999"), answers(2, dem_age="说不清"), answers(3, dem_age="不清楚")]
    status = prepare_round(raw_round(rows), config).main.status["dem_age"]
    # Replacing the aliases drops the default "不清楚": it is then an answer (text).
    assert status.tolist() == [1, 1, ANSWERED]


def test_as_text_of_typed_columns():
    values = pd.Series([25.0, 2.5, np.nan, -99.0])
    assert as_text(values).tolist() == ["25", "2.5", "", "-99"]
    assert as_text(pd.Series(["a", None], dtype="str")).tolist() == ["a", ""]
    assert normalise_text(pd.Series(["\u200b１２ ", "—", "A"])).tolist() == ["12", "—", "A"]


def test_skip_logic_groups_and_required():
    rows = [
        answers(1),
        answers(2, meta_consent="0", id_name="", id_phone="", dem_sex="", dem_age=""),
        answers(3, job_status="96", job_status_other="保安", job_wage="", job_hours=""),
    ]
    prepared = prepare_round(raw_round(rows))
    relevant = prepared.main.relevant
    # The groups are relevant only with consent; job_wage only for employees/apprentices.
    assert relevant["id_name"].tolist() == [True, False, True]
    assert relevant["job_wage"].tolist() == [True, False, False]
    assert relevant["job_status_other"].tolist() == [False, False, True]
    assert prepared.main.required["job_wage"].tolist() == [True, True, True]
    assert prepared.completed.tolist() == [True, False, True]


def test_times_keys_and_repeats():
    rows = [answers(1), answers(2, trn_any="1", meta_enum_id="E002")]
    repeats = {
        "trn_course": repeat_table([(1, {"trn_hours": "12"}), (1, {"trn_hours": ""})], "trn_course")
    }
    prepared = prepare_round(raw_round(rows, repeats=repeats))
    assert prepared.key.tolist() == ["TJ001001", "TJ001002"]
    assert prepared.enumerator.tolist() == ["E001", "E002"]
    assert prepared.day.tolist() == ["2026-12-05", "2026-12-05"]
    assert prepared.start.dt.hour.tolist() == [9, 9]  # Asia/Shanghai
    course = prepared.repeats["trn_course"]
    assert course.parent.tolist() == [1, 1]
    assert course.ids.tolist() == ["uuid:s1/trn_course[1]", "uuid:s1/trn_course[2]"]
    # The repeat's skip logic reads the submission's trn_any.
    assert course.relevant["trn_hours"].tolist() == [True, True]
    assert course.status["trn_hours"].tolist() == [ANSWERED, EMPTY]
