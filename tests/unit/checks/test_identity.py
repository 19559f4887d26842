"""Duplicate IDs (ipacheckids), unique fields (hashed), form versions, source issues.

Expected counts are worked out by hand from the rows below: the small form has 14 questions an
enumerator enters in the main table besides the key ``resp_id`` (meta_enum_id, meta_city,
meta_consent, id_name, id_phone, dem_sex, dem_age, job_status, job_status_other, job_wage,
job_hours, job_benefits, job_title_text, trn_any); a clean employee leaves only
``job_status_other`` empty, so 13 are compared.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac

import pytest

from evaluation.checks import (
    CheckConfig,
    check_form_versions,
    check_ids,
    check_source,
    check_unique,
)
from evaluation.loaders import SourceIssue
from tests.unit.checks.conftest import PHONE, answers, assert_no_identifiers, raw_round


@pytest.fixture
def duplicated():
    rows = [
        answers(1, id_phone=PHONE),
        answers(2),
        answers(1, id_phone=PHONE, dem_age="31", job_wage="5200"),  # conflicting duplicate
        answers(2),  # exact resubmission
        answers(3, id_phone="+86 138-1234-5678"),  # another respondent, the same phone
    ]
    return raw_round(rows)


def test_duplicate_ids_compared_with_the_first_submission(duplicated):
    result = check_ids(duplicated)
    table = result.tables["ids_groups"].set_index("submission")
    # Group TJ001001: s0 first; s2 differs in dem_age and job_wage: 2 of 13 = 15.38%.
    assert table.loc["uuid:s0", ["order", "n_compared", "n_different"]].tolist() == [1, 0, 0]
    assert table.loc["uuid:s2", ["order", "n_compared", "n_different"]].tolist() == [2, 13, 2]
    assert table.loc["uuid:s2", "pct_different"] == pytest.approx(2 / 13)
    assert table.loc["uuid:s2", "differing"] == "dem_age, job_wage"
    # Group TJ001002: s3 repeats s1 exactly.
    assert table.loc["uuid:s3", ["n_compared", "n_different"]].tolist() == [13, 0]
    findings = result.findings.set_index("submission")
    assert findings.loc["uuid:s2", "rule"] == "duplicate_id"
    assert findings.loc["uuid:s2", "severity"] == "error"
    assert findings.loc["uuid:s0", "rule"] == "duplicate_id"  # the group needs a decision
    assert findings.loc["uuid:s3", "rule"] == "duplicate_id_identical"
    assert findings.loc["uuid:s3", "severity"] == "warning"
    assert "all 13 answers equal the first" in findings.loc["uuid:s3", "message"]
    assert "2 of 13 answers differ from the first (15.4%)" in findings.loc["uuid:s2", "message"]
    assert "uuid:s4" not in findings.index
    assert_no_identifiers(result.findings.to_csv() + result.tables["ids_groups"].to_csv())


def test_a_clean_round_has_no_duplicates():
    result = check_ids(raw_round([answers(i) for i in range(1, 6)]))
    assert result.findings.empty
    assert result.tables["ids_groups"].empty


def test_unique_fields_are_compared_normalised_and_never_printed(duplicated):
    result = check_unique(duplicated)
    findings = result.findings.set_index("submission")
    # TJ001001 (s0, s2) and TJ001003 (s4) share the phone: two respondents, three rows.
    assert sorted(findings.index) == ["uuid:s0", "uuid:s2", "uuid:s4"]
    assert set(findings["value"]) == {"group 1"}
    assert set(findings["rule"]) == {"duplicate_value"}
    assert findings.loc["uuid:s4", "message"] == (
        "id_phone: the same value as 1 other respondent(s): TJ001001"
    )
    assert result.tables["unique_groups"]["keys"].tolist() == ["TJ001001, TJ001003"]
    assert_no_identifiers(result.findings.to_csv() + result.tables["unique_groups"].to_csv())


def test_unique_values_are_shown_as_a_keyed_hash(duplicated):
    key = b"run key"
    result = check_unique(duplicated, run_key=key)
    expected = "hmac:" + hmac.new(key, PHONE.encode(), hashlib.sha256).hexdigest()[:12]
    assert set(result.findings["value"]) == {expected}


def test_special_codes_are_not_shared_values():
    rows = [answers(1, id_phone="-98"), answers(2, id_phone="拒绝回答"), answers(3)]
    assert check_unique(raw_round(rows)).findings.empty


def test_outdated_form_versions():
    raw = raw_round([answers(i) for i in range(1, 6)], versions=["v1", "v1", "v2", "v1", "v2"])
    result = check_form_versions(raw)
    # v2 is the version put into use last (first seen at s2); s3 still used v1 after that.
    assert result.findings["submission"].tolist() == ["uuid:s3"]
    assert result.findings["value"].tolist() == ["v1"]
    versions = result.tables["versions"].set_index("form_version")
    assert versions["submissions"].to_dict() == {"v1": 3, "v2": 2}
    assert versions["current"].to_dict() == {"v1": False, "v2": True}
    configured = raw_round(
        [answers(i) for i in range(1, 6)], versions=["v1", "v1", "v2", "v1", "v2"]
    )
    from evaluation.checks import prepare_round

    prepared = prepare_round(configured, CheckConfig(current_versions=("v1",)))
    assert check_form_versions(prepared).findings["submission"].tolist() == ["uuid:s2", "uuid:s4"]


def test_the_instrument_version_is_current_when_submissions_carry_it():
    raw = raw_round([answers(i) for i in range(1, 4)], versions=["2026120101", "old", "2026120101"])
    assert check_form_versions(raw).findings["submission"].tolist() == ["uuid:s1"]


def test_source_issues_become_findings():
    raw = raw_round([answers(1)])
    raw = dataclasses.replace(
        raw,
        issues=(
            SourceIssue("duplicate_instance_id", "main", None, 2, (3, 4), "2 rows repeat a KEY"),
            SourceIssue("unknown_column", "main", "q_extra", 1, (), "column 'q_extra' unknown"),
        ),
    )
    findings = check_source(raw).findings
    assert findings[["rule", "severity", "value"]].values.tolist() == [
        ["duplicate_instance_id", "error", "2"],
        ["unknown_column", "warning", "1"],
    ]
    assert findings["message"].iloc[0] == "small.csv: 2 rows repeat a KEY"
