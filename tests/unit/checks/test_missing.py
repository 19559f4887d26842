"""Missing, don't-know and refused rates per variable and per enumerator; distinct values.

Hand counts: a clean employee row of the small form asks 14 questions (all but
``job_status_other``). E001 interviews rows 1-4 (56 questions asked), E002 rows 5-10 (84).
"""

from __future__ import annotations

import pytest

from evaluation.checks import answer_counts, check_missing, prepare_round
from tests.unit.checks.conftest import answers, raw_round

AGES = ["-99", "不知道", "－９９", "拒绝回答", "", "30", "31", "30", "３０", "32"]


@pytest.fixture
def prepared():
    rows = [
        answers(i, dem_age=age, meta_enum_id="E001" if i <= 4 else "E002")
        for i, age in enumerate(AGES, start=1)
    ]
    return prepare_round(raw_round(rows))


def test_rates_per_variable(prepared):
    result = check_missing(prepared)
    table = result.tables["missing_by_variable"].set_index("variable")
    age = table.loc["dem_age"]
    assert age[["asked", "answered", "missing", "dont_know", "refused"]].tolist() == [
        10,
        5,
        1,
        3,
        1,
    ]
    # Distinct regular answers: 30, 31, 32 ("３０" is 30; codes in any form are not answers).
    assert age["distinct"] == 3
    assert age["pct_dont_know"] == pytest.approx(0.3)
    assert table.loc["job_status_other", "asked"] == 0
    by_rule = result.findings.set_index("rule")
    assert by_rule.loc["high_dont_know", "variable"] == "dem_age"
    assert by_rule.loc["high_dont_know", "message"] == (
        "don't know in 3 of 10 rows asked (30.0%; threshold 10%)"
    )
    assert by_rule.loc["high_refused", "value"] == "10.0%"
    assert "high_missing" not in by_rule.index  # 10% is not above the 10% threshold


def test_rates_per_enumerator(prepared):
    findings = check_missing(prepared).findings
    flagged = findings[findings["rule"].str.startswith("enumerator_")]
    # E001: don't know 3/56 = 5.4% vs 3/140 = 2.1% overall (2.5 times); refused 1/56 = 1.8% vs
    # 0.7% (2.5 times, 1.1 points above). E002: missing 1/84 = 1.2% vs 0.7% (1.7 times): fine.
    assert flagged[["enumerator", "rule"]].values.tolist() == [
        ["E001", "enumerator_high_dont_know"],
        ["E001", "enumerator_high_refused"],
    ]
    assert flagged["message"].iloc[0] == (
        "don't know in 5.4% of 56 questions asked, 2.5 times the overall 2.1%"
    )


def test_special_codes_typed_in_other_forms_are_listed(prepared):
    forms = check_missing(prepared).tables["special_forms"]
    assert forms.values.tolist() == [
        ["dem_age", "不知道", "dont_know", "-99", 1],
        ["dem_age", "拒绝回答", "refused", "-98", 1],
        ["dem_age", "－９９", "dont_know", "-99", 1],
    ]


def test_answer_counts_per_submission(prepared):
    counts = answer_counts(prepared)
    assert counts.loc[0, ["asked", "missing", "dont_know", "refused"]].tolist() == [14, 0, 1, 0]
    assert counts.loc[4, ["asked", "missing"]].tolist() == [14, 1]
    # Selects with an "other" option: job_status, answered 1 (not other) in every row.
    assert counts["selects"].tolist() == [1] * 10
    assert counts["other"].sum() == 0
