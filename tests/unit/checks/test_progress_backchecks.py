"""Progress against the sample list, and back-check comparisons with their statistics.

Counts are worked out by hand from the rows below. The tests of differences are checked against
statsmodels (two-sample proportion test) and the textbook formulas written out here (paired
t-test, IPA's simple response variance and reliability ratio).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from statsmodels.stats.proportion import proportions_ztest

from evaluation.checks import (
    CheckConfig,
    Tolerance,
    check_progress,
    compare_backchecks,
    prepare_round,
    prtest,
    reliability,
)
from evaluation.instruments.model import Choice, ChoiceList, Instrument, Question, Text
from tests.unit.checks.conftest import (
    FRAME,
    NAME,
    PHONE,
    answers,
    assert_no_identifiers,
    backcheck_answers,
    backcheck_round,
    raw_round,
    sample_frame,
)


def test_progress_by_stratum_and_treatment():
    rows = [
        answers(1),
        answers(2, meta_consent="0"),
        answers(2),  # a second visit: completed, the best status wins
        answers(1, resp_id="TJ002004"),
        answers(1, resp_id="TJ009999"),  # not in the sample list
        answers(1, resp_id="SH003001", meta_consent="0"),
    ]
    result = check_progress(prepare_round(raw_round(rows)), sample_frame(FRAME))
    assert result.findings[["key", "rule", "severity"]].values.tolist() == [
        ["TJ009999", "not_in_sample", "error"]
    ]
    table = result.tables["progress_by_group"].set_index(["treatment", "city"])
    columns = ["units", "submitted", "completed", "refused", "pending"]
    assert table.loc[("0", "TJ"), columns].tolist() == [3, 1, 1, 0, 2]
    assert table.loc[("1", "SH"), columns].tolist() == [2, 1, 0, 1, 1]
    assert table.loc[("1", "TJ"), columns].tolist() == [3, 2, 2, 0, 1]
    assert table.loc[("all", "all"), columns].tolist() == [8, 4, 3, 1, 4]
    assert table.loc[("all", "all"), "pct_completed"] == pytest.approx(3 / 8)
    units = result.tables["progress_units"].set_index("key")
    assert units.loc["TJ001002", ["status", "submissions"]].tolist() == ["completed", 2]
    assert list(units.columns) == ["treatment", "city", "status", "submissions", "last_day"]
    # The frame's names and phones are never read into the outputs.
    assert_no_identifiers(result.findings.to_csv() + result.tables["progress_units"].to_csv())


def _tracking_form() -> Instrument:
    track = ChoiceList(
        "track_status",
        tuple(Choice(str(k), Text.of({"English (en)": str(k)})) for k in range(1, 6)),
    )
    yes_no = ChoiceList("yes_no", (Choice("1"), Choice("0")))
    return Instrument(
        form_id="track",
        title="Tracking",
        version="1",
        languages=("English (en)",),
        default_language="English (en)",
        questions=(
            Question("resp_id", "text"),
            Question("trk_status", "select_one", list_name="track_status"),
            Question(
                "meta_consent",
                "select_one",
                list_name="yes_no",
                relevant="${trk_status} = 1 or ${trk_status} = 2",
            ),
        ),
        choice_lists=(track, yes_no),
        instrument="small",
        round="endline",
    )


def test_progress_from_tracking_outcomes():
    form = _tracking_form()
    rows = [
        {"resp_id": "TJ001001", "trk_status": "2", "meta_consent": "1"},
        {"resp_id": "TJ001002", "trk_status": "4", "meta_consent": ""},
        {"resp_id": "TJ001003", "trk_status": "5", "meta_consent": ""},
        {"resp_id": "TJ002004", "trk_status": "3", "meta_consent": ""},
        {"resp_id": "TJ002005", "trk_status": "1", "meta_consent": "0"},  # found, then refused
    ]
    result = check_progress(prepare_round(raw_round(rows, form=form)), sample_frame(FRAME))
    units = result.tables["progress_units"].set_index("key")["status"]
    assert units.to_dict() == {
        "SH003001": "pending",
        "SH003002": "pending",
        "TJ001001": "completed",
        "TJ001002": "not_found",
        "TJ001003": "deceased",
        "TJ002004": "refused",
        "TJ002005": "refused",  # found (trk_status 1), then declined consent
        "TJ002006": "pending",
    }


def test_progress_of_enterprises_and_of_untracked_forms():
    form = _tracking_form()
    enterprise = Instrument(
        form_id="ent",
        title="Enterprise",
        version="1",
        languages=form.languages,
        default_language=form.default_language,
        questions=(Question("enterprise_id", "text"),),
        instrument="enterprise",
        round="baseline",
    )
    result = check_progress(
        prepare_round(raw_round([{"enterprise_id": "TJ001"}], form=enterprise)), sample_frame(FRAME)
    )
    units = result.tables["progress_units"].set_index("key")["status"]
    assert units.to_dict() == {"SH003": "pending", "TJ001": "completed", "TJ002": "pending"}
    # A form keyed otherwise is not tracked.
    other = enterprise.replace(questions=(Question("participant_id", "text"),))
    empty = check_progress(
        prepare_round(raw_round([{"participant_id": "P00001"}], form=other)), sample_frame(FRAME)
    )
    assert empty.findings.empty
    assert not empty.tables


# --------------------------------------------------------------------------------------------
# Back-checks
# --------------------------------------------------------------------------------------------


@pytest.fixture
def compared():
    survey = raw_round(
        [
            answers(1),
            answers(2),
            answers(3, meta_enum_id="E002"),
            answers(4, meta_enum_id="E002", id_name=NAME, job_title_text=f"电工{PHONE}"),
        ]
    )
    backcheck = backcheck_round(
        [
            backcheck_answers(
                "TJ001001", "B001", job_wage="5400", job_title_text=" 电工。"
            ),  # within 10%
            backcheck_answers(
                "TJ001002", "B001", dem_sex="2", job_wage="6000", job_title_text="焊工"
            ),
            backcheck_answers("TJ001003", "B002", job_wage="-99"),
            backcheck_answers("TJ009999", "B002"),
        ]
    )
    config = CheckConfig(bc_tolerance={"job_wage": Tolerance(-10, 10, percent=True)})
    return compare_backchecks(prepare_round(survey, config), backcheck, config)


def test_backcheck_differences_by_type(compared):
    findings = compared.findings
    got = sorted(
        zip(
            findings["key"],
            findings["variable"],
            findings["rule"],
            findings["severity"],
            strict=True,
        )
    )
    assert got == sorted(
        [
            ("TJ001002", "dem_sex", "backcheck_should_not_change", "error"),
            ("TJ001002", "job_wage", "backcheck_enumerator_sensitive", "warning"),
            ("TJ001002", "job_title_text", "backcheck_stable", "info"),
            ("TJ001002", "", "backcheck_high_error", "warning"),  # 3 of 5 differ (60%)
            ("TJ001003", "job_wage", "backcheck_enumerator_sensitive", "warning"),
            ("TJ009999", "resp_id", "backcheck_not_in_survey", "warning"),
        ]
    )
    wage = findings[(findings["key"] == "TJ001002") & (findings["variable"] == "job_wage")]
    assert wage["value"].iloc[0] == "survey: 5000 | back-check: 6000"
    assert wage["enumerator"].iloc[0] == "E001"
    assert "by B001" in wage["message"].iloc[0]


def test_backcheck_error_rates(compared):
    # Compared per respondent: resp_id and dem_sex (type 1), job_wage (type 2), job_status and
    # job_title_text (type 3). E001: TJ001001 (0 different) and TJ001002 (3); E002: TJ001003 (1).
    enumerators = compared.tables["bc_enumerators"].set_index("enumerator")
    assert enumerators.loc["E001", ["compared", "different"]].tolist() == [10, 3]
    assert enumerators.loc["E001", ["compared_1", "different_1"]].tolist() == [4, 1]
    assert enumerators.loc["E001", ["compared_2", "different_2"]].tolist() == [2, 1]
    assert enumerators.loc["E001", ["compared_3", "different_3"]].tolist() == [4, 1]
    assert enumerators.loc["E001", "error_rate"] == pytest.approx(0.3)
    assert enumerators.loc["E002", ["surveys", "backchecked", "pct_backchecked"]].tolist() == [
        2,
        1,
        0.5,
    ]
    checkers = compared.tables["bc_backcheckers"].set_index("backchecker")
    assert checkers.loc["B001", ["backchecks", "compared", "different"]].tolist() == [2, 10, 3]
    assert checkers.loc["B002", "average_days"] == pytest.approx(3)  # 12-05 to 12-08
    variables = compared.tables["bc_variables"].set_index("variable")
    assert variables.loc["job_wage", ["type", "compared", "different"]].tolist() == [2, 3, 2]
    assert variables.loc["resp_id", "error_rate"] == 0
    table = compared.tables["bc_comparisons"]
    assert set(table["result"]) == {"same", "different"}
    assert_no_identifiers(compared.findings.to_csv() + table.to_csv())


def test_paired_t_test_and_reliability_of_numeric_answers(compared):
    # job_wage pairs with numbers on both sides: (5000, 5400) and (5000, 6000).
    d = np.array([5000 - 5400, 5000 - 6000], dtype=float)
    t = d.mean() / (math.sqrt(((d - d.mean()) ** 2).sum() / (len(d) - 1)) / math.sqrt(len(d)))
    row = compared.tables["bc_variables"].set_index("variable").loc["job_wage"]
    assert row["test"] == "ttest"
    assert row["statistic"] == pytest.approx(t)
    assert row["difference"] == pytest.approx(-700)
    srv = ((d - d.mean()) ** 2).sum() / (len(d) - 1) / 2
    b = np.array([5400.0, 6000.0])
    assert row["srv"] == pytest.approx(srv)
    assert row["reliability"] == pytest.approx(
        1 - srv / (((b - b.mean()) ** 2).sum() / (len(b) - 1))
    )


def test_proportion_test_matches_statsmodels():
    survey = np.array([1, 1, 1, 0, 1, 0, 1, 1], dtype=float)
    backcheck = np.array([1, 0, 1, 0, 0, 0, 1, 1], dtype=float)
    z, p = prtest(survey, backcheck)
    expected_z, expected_p = proportions_ztest(
        [survey.sum(), backcheck.sum()], [len(survey), len(backcheck)]
    )
    assert z == pytest.approx(expected_z)
    assert p == pytest.approx(expected_p)
    assert all(math.isnan(v) for v in prtest(np.ones(3), np.ones(3)))


def test_reliability_formula():
    survey = np.array([1.0, 2.0, 3.0, 4.0])
    backcheck = np.array([1.0, 2.5, 2.5, 4.5])
    # Differences 0, -0.5, 0.5, -0.5: mean -0.125, sample variance 0.229167; SRV half of it.
    srv, ratio = reliability(survey, backcheck)
    assert srv == pytest.approx(0.2291666667 / 2)
    variance = np.var(backcheck, ddof=1)
    assert ratio == pytest.approx(1 - srv / variance)
