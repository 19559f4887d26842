"""Outliers, constraints (hard, soft, bounds as variables), logic assertions and skip logic.

Quartiles in the expected fences are worked out by hand with the linear interpolation rule
(Hyndman and Fan type 7): for sorted values x_0..x_{n-1} the p-quantile is at position
h = (n - 1) p, x_floor(h) + (h - floor(h)) (x_floor(h)+1 - x_floor(h)). Standard deviations come
from Python's :mod:`statistics` (sample SD), independent of numpy and pandas.
"""

from __future__ import annotations

import statistics

import pytest

from evaluation.checks import (
    BoundRule,
    CheckConfig,
    LogicRule,
    OutlierRule,
    check_constraints,
    check_logic,
    check_outliers,
    check_skip_logic,
    prepare_round,
)
from tests.unit.checks.conftest import answers, assert_no_identifiers, raw_round, repeat_table

WAGES = [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000, 20000, 100000]


def _outliers(values, rule, variable="job_wage", cities=None):
    rows = [
        answers(i, **{variable: str(v), "meta_city": (cities[i - 1] if cities else "TJ")})
        for i, v in enumerate(values, start=1)
    ]
    config = CheckConfig(outlier_auto=False, outliers=(rule,))
    return check_outliers(prepare_round(raw_round(rows), config))


def _flagged(result):
    findings = result.findings
    return findings[
        findings["rule"].str.startswith("outlier_") & (findings["severity"] == "warning")
    ]["value"].tolist()


def test_iqr_fences_honour_the_multiplier():
    # n = 12: Q1 at h = 2.75: 3000 + 0.75 * 1000 = 3750; Q3 at h = 8.25: 9000 + 0.25 * 1000 = 9250;
    # IQR = 5500. Multiplier 1.5: upper fence 9250 + 8250 = 17500 flags 20000 and 100000.
    # Multiplier 3: upper fence 9250 + 16500 = 25750 flags only 100000 (ipacheck 4.3.1 used 1.5
    # whatever the multiplier: here both would flag two values).
    loose = _outliers(WAGES, OutlierRule(("job_wage",), "iqr", 1.5, min_n=5))
    strict = _outliers(WAGES, OutlierRule(("job_wage",), "iqr", 3.0, min_n=5))
    assert _flagged(loose) == ["20000", "100000"]
    assert _flagged(strict) == ["100000"]
    table = loose.tables["outlier_values"]
    assert table["upper"].iloc[0] == pytest.approx(17500)
    assert table["lower"].iloc[0] == pytest.approx(3750 - 8250)
    assert strict.tables["outlier_values"]["upper"].iloc[0] == pytest.approx(25750)
    assert (
        "above the upper fence 17,500 (Q3 + 1.5 IQR; all, n=12" in loose.findings["message"].iloc[0]
    )


def test_sd_fences_honour_the_multiplier():
    values = [1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 50000]
    mean, sd = statistics.mean(values), statistics.stdev(values)
    assert mean + 2 * sd < 50000 < mean + 3 * sd  # the data make the multiplier matter
    two = _outliers(values, OutlierRule(("job_wage",), "sd", 2.0, min_n=5))
    three = _outliers(values, OutlierRule(("job_wage",), "sd", 3.0, min_n=5))
    assert _flagged(two) == ["50000"]
    assert _flagged(three) == []
    assert two.tables["outlier_values"]["upper"].iloc[0] == pytest.approx(mean + 2 * sd)


def test_fences_by_group():
    # TJ: 1000..10000 and 30000 (n = 11): Q1 at h = 2.5: 3500, Q3 at h = 7.5: 8500, IQR 5000,
    # upper fence 16000: 30000 is an outlier in TJ. SH: 21000..31000, evenly spread: none.
    # Pooled (n = 22): Q1 = 6250, Q3 = 26750, upper fence 57500: nothing.
    tj = [1000 * k for k in range(1, 11)] + [30000]
    sh = [1000 * k for k in range(21, 32)]
    cities = ["TJ"] * len(tj) + ["SH"] * len(sh)
    by_city = _outliers(
        tj + sh, OutlierRule(("job_wage",), by=("meta_city",), min_n=5), cities=cities
    )
    pooled = _outliers(tj + sh, OutlierRule(("job_wage",), min_n=5), cities=cities)
    assert by_city.findings["value"].tolist() == ["30000"]
    assert by_city.tables["outlier_values"]["group"].tolist() == ["meta_city=TJ"]
    assert pooled.findings.empty
    # Groups smaller than min_n are not judged.
    small = _outliers(
        tj + sh, OutlierRule(("job_wage",), by=("meta_city",), min_n=12), cities=cities
    )
    assert small.findings.empty


def test_combined_variables_share_their_fences():
    # dem_age 20..29 and job_hours 20..28 and 100, pooled (n = 20): Q1 at h = 4.75: 22,
    # Q3 at h = 14.25: 27, IQR 5, fences 14.5 and 34.5.
    rows = [
        answers(i, dem_age=str(19 + i), job_hours=str(19 + i) if i < 10 else "100")
        for i in range(1, 11)
    ]
    rule = OutlierRule(("dem_age", "job_hours"), "iqr", 1.5, min_n=5)
    result = check_outliers(
        prepare_round(raw_round(rows), CheckConfig(outlier_auto=False, outliers=(rule,)))
    )
    assert result.findings[["variable", "value"]].values.tolist() == [["job_hours", "100"]]
    table = result.tables["outlier_values"]
    assert (table["n"].iloc[0], table["lower"].iloc[0], table["upper"].iloc[0]) == (20, 14.5, 34.5)
    assert "pooled with dem_age" in result.findings["message"].iloc[0]


def test_special_codes_are_never_outliers():
    values = [*WAGES[:10], -99, -98]
    result = _outliers(values, OutlierRule(("job_wage",), "iqr", 1.5, min_n=5))
    assert result.findings.empty


def test_a_rule_that_flags_too_much_is_reported():
    result = _outliers(WAGES, OutlierRule(("job_wage",), "iqr", 0.1, min_n=5))
    info = result.findings[result.findings["rule"] == "outlier_rule_flags_many"]
    assert len(info) == 1
    assert info["severity"].iloc[0] == "info"


def _findings(rows, config=None, check=check_constraints, **options):
    return check(prepare_round(raw_round(rows, **options), config or CheckConfig())).findings


def test_hard_and_soft_constraints():
    rows = [
        answers(1),  # clean
        answers(2, dem_age="80"),  # above the hard range [15, 70]
        answers(3, dem_age="６５"),  # full width: 65, above the soft range [16, 64]
        answers(4, dem_age="thirty"),
        answers(5, dem_age="-99"),  # accepted special code: no finding
        answers(6, job_hours="-99"),  # job_hours accepts no special code
        answers(7, dem_sex="3"),
        answers(8, job_benefits="1 5"),
        answers(9, job_benefits="0 1"),  # the exclusive option with another: constraint
        answers(10, job_status="2", job_hours="90"),  # constraint . <= 84 or employee
        answers(11, job_status="-98"),  # refused is not an option of job_status
        answers(12, resp_id="TJ1012"),
        answers(13, id_phone="12345"),
        answers(14, job_wage="200"),  # below the soft range of wages
        answers(15, job_title_text="电工，电话１３８１２３４５６７８"),  # a phone in free text
    ]
    result = check_constraints(prepare_round(raw_round(rows))).findings
    findings = result[result["check"] == "constraints"]
    got = sorted(zip(findings["key"], findings["variable"], findings["rule"], strict=True))
    assert got == sorted(
        [
            ("TJ001002", "dem_age", "hard_range"),
            ("TJ001004", "dem_age", "not_a_number"),
            ("TJ001006", "job_hours", "special_code_not_allowed"),  # not also a range error
            ("TJ001007", "dem_sex", "unknown_choice"),
            ("TJ001008", "job_benefits", "unknown_choice"),
            ("TJ001009", "job_benefits", "constraint"),
            ("TJ001010", "job_hours", "constraint"),
            ("TJ001011", "job_status", "special_code_not_allowed"),
            ("TJ1012", "resp_id", "constraint"),
            ("TJ001013", "id_phone", "constraint"),
            ("TJ001015", "job_title_text", "identifier_in_text"),
        ]
    )
    assert set(findings[findings["rule"] != "identifier_in_text"]["severity"]) == {"error"}
    # 80 breaks the hard range: it is not reported again against the soft range.
    soft = result[result["check"] == "soft_constraints"]
    assert soft[["key", "variable", "value", "rule", "severity"]].values.tolist() == [
        ["TJ001003", "dem_age", "６５", "soft_range", "warning"],
        ["TJ001014", "job_wage", "200", "soft_range", "warning"],
    ]
    hard = findings.set_index("key")
    assert hard.loc["TJ001002", "message"] == "80 is above the hard bound 70 ([15, 70])"
    assert hard.loc["TJ001013", "value"] == "[redacted]"  # a direct identifier is never shown
    assert hard.loc["TJ001015", "value"] == "电工,电话[phone]"
    assert_no_identifiers(findings.to_csv())


def test_bounds_may_be_other_variables():
    config = CheckConfig(
        constraints=(
            BoundRule("job_wage", hard_max="${dem_age} * 1000", soft_min="${dem_age} * 100"),
        )
    )
    rows = [
        answers(1, dem_age="30", job_wage="29000"),  # fine
        answers(2, dem_age="30", job_wage="31000"),  # above 30 * 1000
        answers(3, dem_age="40", job_wage="3000"),  # below 40 * 100 = 4000 (soft)
        answers(4, dem_age="-99", job_wage="90000"),  # no bound when the age is a code
    ]
    result = check_constraints(prepare_round(raw_round(rows), config)).findings
    bound = result[result["rule"].isin(["hard_bound", "soft_bound"])]
    assert bound[["key", "rule", "severity"]].values.tolist() == [
        ["TJ001002", "hard_bound", "error"],
        ["TJ001003", "soft_bound", "warning"],
    ]
    assert "31,000 is above the hard bound 30,000" in bound["message"].iloc[0]


def test_logic_assertions_with_conditions():
    config = CheckConfig(
        logic=(
            LogicRule(
                "adult_employee",
                "${dem_age} >= 18",
                condition="${job_status} = 1",
                severity="warning",
                show=("dem_age", "job_status"),
            ),
        )
    )
    rows = [
        answers(1, dem_age="16"),  # employee aged 16: fails
        answers(2, dem_age="16", job_status="2"),  # apprentice: the rule does not apply
        answers(3, dem_age="-99"),  # a special code is not judged
        answers(4),
    ]
    findings = check_logic(prepare_round(raw_round(rows), config)).findings
    assert findings[["key", "rule", "severity", "value"]].values.tolist() == [
        ["TJ001001", "adult_employee", "warning", "dem_age=16; job_status=1"],
    ]
    assert findings["message"].iloc[0] == "expected ${dem_age} >= 18 where ${job_status} = 1"


def test_skip_logic_in_both_directions():
    rows = [
        answers(1),
        answers(2, job_status="96", job_status_other="保安", job_wage="3000", job_hours=""),
        answers(3, job_hours=""),  # an employee without hours: required and asked
        answers(4, meta_consent="0", id_phone="", dem_sex="", dem_age="", job_status=""),
        answers(5, trn_any="0"),
    ]
    repeats = {"trn_course": repeat_table([(4, {"trn_hours": "12"})], "trn_course")}
    result = check_skip_logic(prepare_round(raw_round(rows, repeats=repeats)))
    got = sorted(
        zip(
            result.findings["key"],
            result.findings["variable"],
            result.findings["rule"],
            strict=True,
        )
    )
    # Row 4 refused consent: every answer in the consent-gated groups is out of place
    # (id_name, and job_wage, job_hours, job_benefits, job_title_text, trn_any left filled).
    assert got == sorted(
        [
            ("TJ001002", "job_wage", "answered_not_relevant"),
            ("TJ001002", "job_benefits", "answered_not_relevant"),
            ("TJ001002", "job_title_text", "answered_not_relevant"),
            ("TJ001003", "job_hours", "required_missing"),
            ("TJ001004", "id_name", "answered_not_relevant"),
            ("TJ001004", "job_wage", "answered_not_relevant"),
            ("TJ001004", "job_hours", "answered_not_relevant"),
            ("TJ001004", "job_benefits", "answered_not_relevant"),
            ("TJ001004", "job_title_text", "answered_not_relevant"),
            ("TJ001004", "trn_any", "answered_not_relevant"),
            ("TJ001005", "trn_hours", "answered_not_relevant"),
        ]
    )
    repeat = result.findings[result.findings["variable"] == "trn_hours"]
    assert repeat["submission"].tolist() == ["uuid:s4/trn_course[1]"]
    table = result.tables["skip_logic_by_variable"].set_index("variable")
    assert table.loc["job_wage", ["asked", "answered_not_relevant"]].tolist() == [3, 2]
    assert_no_identifiers(result.findings.to_csv())


def test_a_clean_round_has_no_constraint_or_skip_findings():
    rows = [answers(i, dem_age=str(20 + i), job_wage=str(3000 + 100 * i)) for i in range(1, 13)]
    rows += [
        answers(
            20,
            job_status="96",
            job_status_other="个体",
            job_wage="",
            job_hours="",
            job_benefits="",
            job_title_text="",
        )
    ]
    rows += [
        answers(
            21,
            meta_consent="0",
            id_name="",
            id_phone="",
            dem_sex="",
            dem_age="",
            job_status="",
            job_wage="",
            job_hours="",
            job_benefits="",
            job_title_text="",
            trn_any="",
        )
    ]
    rows += [answers(22, trn_any="1")]
    repeats = {"trn_course": repeat_table([(14, {"trn_hours": "8"})], "trn_course")}
    prepared = prepare_round(raw_round(rows, repeats=repeats))
    assert check_constraints(prepared).findings.empty
    assert check_skip_logic(prepared).findings.empty
    assert check_logic(prepared).findings.empty


def test_one_flagged_value_is_never_many():
    # Twelve wages, quartiles (type 7) Q1 = 3000 + 0.75 * 1000 = 3750, Q3 = 9000 + 0.25 * 1000
    # = 9250, IQR 5500. Multiplier 3: upper fence 25750, only 100000 is flagged: 1 of 12 (8.3%)
    # is above max_share 5% but one value is not "many". Multiplier 1.5: fence 17500, 20000 and
    # 100000 flagged: 2 of 12, reported.
    for multiplier, flagged, reported in ((3.0, 1, 0), (1.5, 2, 1)):
        result = _outliers(WAGES, OutlierRule(("job_wage",), "iqr", multiplier, min_n=5))
        rules = result.findings["rule"]
        assert (rules == "outlier_iqr").sum() == flagged
        assert (rules == "outlier_rule_flags_many").sum() == reported
