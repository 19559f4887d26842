"""Duplicates, decisions, drop rules, waves, consent and IDs (DATA.md #1, #2, #5, #27, #28).

Every fixture is written by hand; every expectation is worked out from the rows in the test.
"""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.cleaning import (
    DecisionsError,
    LinkageError,
    UnresolvedDuplicatesError,
    clean_round,
    parse_rules,
)
from tests.unit.cleaning.conftest import (
    NAME_2,
    PHONE_2,
    assert_no_identifiers,
    decisions_from,
    person,
)


def _reasons(result):
    return result.exclusions[["source_row", "key", "reason"]].values.tolist()


def _conserved(result, rows):
    assert len(result.data) + len(result.exclusions[result.exclusions["table"] == "main"]) == rows


def test_exact_resubmission_is_excluded_automatically(export, baseline):
    rows = [
        person("TJ001001"),
        person("TJ001002", id_name=NAME_2, id_phone=PHONE_2),
        person("TJ001001"),
    ]
    result = clean_round(export(baseline, rows), baseline)
    # the first submission is kept (earlier submission date), the identical copy excluded
    assert result.data["resp_id"].tolist() == ["TJ001001", "TJ001002"]
    assert result.data.loc[0, "instance_id"] == "uuid:baseline.csv-1"
    assert _reasons(result) == [[4, "TJ001001", "exact_resubmission"]]
    assert "uuid:baseline.csv-1" in result.exclusions["detail"].iloc[0]
    _conserved(result, 3)


def test_duplicate_download_is_excluded(export, baseline):
    rows = [person("TJ001001"), person("TJ001001")]
    rows[1]["KEY"] = "uuid:baseline.csv-1"
    rows[1]["SubmissionDate"] = "Mar 2, 2026 10:00:00 AM"
    result = clean_round(export(baseline, rows), baseline)
    assert _reasons(result) == [[3, "TJ001001", "duplicate_download"]]
    _conserved(result, 2)


def _conflict_rows():
    return [
        person("TJ001001", job_wage="4500"),  # edited: one answer differs
        person("TJ001001", job_wage="5400"),
        person(
            "TJ001002", id_name=NAME_2, id_phone=PHONE_2
        ),  # two people: sex and birth year differ
        person("TJ001002", id_name=NAME_2, id_phone=PHONE_2, dem_sex="2", dem_birth_year="2001"),
        person("TJ001003", id_name="王五", id_phone="13700000000"),
    ]


def test_conflicting_duplicates_stop_the_run_with_a_report(export, baseline):
    with pytest.raises(UnresolvedDuplicatesError) as caught:
        clean_round(export(baseline, _conflict_rows()), baseline)
    report = caught.value.report
    assert report[["key", "instance_id", "classification"]].values.tolist() == [
        ["TJ001001", "uuid:baseline.csv-1", "edited"],
        ["TJ001001", "uuid:baseline.csv-2", "edited"],
        ["TJ001002", "uuid:baseline.csv-3", "different_person"],
        ["TJ001002", "uuid:baseline.csv-4", "different_person"],
    ]
    # fields compared: meta_enum_id, meta_city, meta_consent, dem_sex, dem_birth_year, job_work,
    # job_wage, job_si, job_title_text, job_start, trn_n (11; identifiers and calculations aside)
    assert report["n_compared"].tolist() == [11, 11, 11, 11]
    assert report["fields_different"].tolist()[0] == "job_wage"
    assert report["fields_different"].tolist()[2] == "dem_sex;dem_birth_year"
    assert (report[["action", "newid", "initials", "notes"]] == "").all().all()
    message = str(caught.value)
    assert "TJ001001" in message
    assert "TJ001002" in message
    assert "duplicates.csv" in message
    assert_no_identifiers(message, report.to_csv())


def _decide(*rows):
    return [
        {
            "instrument": "survey",
            "round": "baseline",
            "initials": "LW",
            "notes": "field team",
            **row,
        }
        for row in rows
    ]


def test_duplicate_decisions_keep_drop_and_newid(export, baseline):
    decided = decisions_from(
        duplicates=_decide(
            {"key": "TJ001001", "instance_id": "uuid:baseline.csv-1", "action": "drop"},
            {"key": "TJ001001", "instance_id": "uuid:baseline.csv-2", "action": "keep"},
            {"key": "TJ001002", "instance_id": "uuid:baseline.csv-3", "action": "keep"},
            {
                "key": "TJ001002",
                "instance_id": "uuid:baseline.csv-4",
                "action": "newid",
                "newid": "TJ001009",
            },
        )
    )
    result = clean_round(export(baseline, _conflict_rows()), baseline, decided)
    data = result.data.set_index("resp_id")
    assert sorted(data.index) == ["TJ001001", "TJ001002", "TJ001003", "TJ001009"]
    assert data.loc["TJ001001", "job_wage"] == 5400
    assert data.loc["TJ001009", "dem_sex"] == 2
    assert _reasons(result) == [[2, "TJ001001", "duplicate_dropped"]]
    newid = result.log[result.log["rule"] == "duplicate_newid"]
    assert newid[["old", "new"]].values.tolist() == [["TJ001002", "TJ001009"]]
    _conserved(result, 5)


def test_partial_group_decisions_are_refused(export, baseline):
    decided = decisions_from(
        duplicates=_decide(
            {"key": "TJ001001", "instance_id": "uuid:baseline.csv-1", "action": "drop"}
        )
    )
    with pytest.raises(DecisionsError, match=r"TJ001001.*only in part.*uuid:baseline.csv-2"):
        clean_round(export(baseline, _conflict_rows()), baseline, decided)


def test_decisions_that_keep_two_are_refused(export, baseline):
    decided = decisions_from(
        duplicates=_decide(
            {"key": "TJ001001", "instance_id": "uuid:baseline.csv-1", "action": "keep"},
            {"key": "TJ001001", "instance_id": "uuid:baseline.csv-2", "action": "keep"},
            {"key": "TJ001002", "instance_id": "uuid:baseline.csv-3", "action": "drop"},
            {"key": "TJ001002", "instance_id": "uuid:baseline.csv-4", "action": "keep"},
        )
    )
    with pytest.raises(DecisionsError, match=r"still held by more than one.*TJ001001"):
        clean_round(export(baseline, _conflict_rows()), baseline, decided)


def test_decision_files_must_be_signed_and_valid():
    with pytest.raises(DecisionsError, match=r"line 2: column 'initials' is empty"):
        decisions_from(
            duplicates=[
                {
                    "instrument": "survey",
                    "round": "baseline",
                    "key": "A",
                    "instance_id": "x",
                    "action": "drop",
                    "notes": "n",
                }
            ]
        )
    with pytest.raises(DecisionsError, match=r"action 'delete' is not one of"):
        decisions_from(duplicates=_decide({"key": "A", "instance_id": "x", "action": "delete"}))
    with pytest.raises(DecisionsError, match=r"newid is required"):
        decisions_from(duplicates=_decide({"key": "A", "instance_id": "x", "action": "newid"}))
    with pytest.raises(DecisionsError, match=r"decided twice"):
        decisions_from(
            duplicates=_decide(
                {"key": "A", "instance_id": "x", "action": "drop"},
                {"key": "A", "instance_id": "x", "action": "keep"},
            )
        )


def test_stale_duplicate_decision_is_refused(export, baseline):
    decided = decisions_from(
        duplicates=_decide(
            {"key": "TJ001005", "instance_id": "uuid:baseline.csv-1", "action": "drop"},
        )
    )
    with pytest.raises(DecisionsError, match=r"has key 'TJ001001' in the data, not 'TJ001005'"):
        clean_round(export(baseline, _conflict_rows()), baseline, decided)


def test_id_normalisation_and_corrections(export, baseline):
    rows = [
        person("ｔｊ００１００１"),
        person("TJ001002 ", id_name=NAME_2, id_phone=PHONE_2),
        person("TJ00103", id_name="王五", id_phone="13700000000"),  # a digit lost
    ]
    decided = decisions_from(
        id_corrections=[
            {
                "instrument": "survey",
                "round": "baseline",
                "instance_id": "uuid:baseline.csv-3",
                "old_id": "TJ00103",
                "new_id": "TJ001003",
                "initials": "LW",
                "notes": "roster",
            }
        ]
    )
    result = clean_round(export(baseline, rows), baseline, decided)
    assert result.data["resp_id"].tolist() == ["TJ001001", "TJ001002", "TJ001003"]
    log = result.log.set_index("rule")
    assert log.loc["id_normalised", "old"].tolist() == ["ｔｊ００１００１", "TJ001002 "]
    assert log.loc["id_correction", ["old", "new"]].tolist() == ["TJ00103", "TJ001003"]
    # without the correction the constraint flags the malformed ID
    plain = clean_round(export(baseline, rows), baseline)
    failed = plain.problems[plain.problems["kind"] == "constraint_failed"]
    assert failed[["key", "variable"]].values.tolist() == [["TJ00103", "resp_id"]]


def test_stale_id_correction_is_refused(export, baseline):
    decided = decisions_from(
        id_corrections=[
            {
                "instrument": "survey",
                "round": "baseline",
                "instance_id": "uuid:baseline.csv-1",
                "old_id": "TJ009999",
                "new_id": "TJ001003",
                "initials": "LW",
                "notes": "x",
            }
        ]
    )
    with pytest.raises(DecisionsError, match=r"holds ID 'TJ001001', not old_id 'TJ009999'"):
        clean_round(export(baseline, [person("TJ001001")]), baseline, decided)


def test_submission_without_an_id_stops_the_run(export, baseline):
    rows = [person("TJ001001"), person("", id_name=NAME_2, id_phone=PHONE_2)]
    with pytest.raises(LinkageError) as caught:
        clean_round(export(baseline, rows), baseline)
    message = str(caught.value)
    assert "baseline.csv row 3" in message
    assert "uuid:baseline.csv-2" in message
    assert "id_corrections.csv" in message
    assert_no_identifiers(message)


def test_test_training_and_pilot_submissions_are_dropped_by_rule(export, baseline):
    rules = """
[[drop]]
reason = "test"
column = "meta_enum_id"
values = ["E999"]

[[drop]]
reason = "pilot"
field = "submitted_at"
before = "2026-03-03"

[[drop]]
reason = "training"
column = "resp_id"
pattern = "^XX"
"""
    rows = [
        person("TJ001001"),  # submitted Mar 2: pilot
        person("TJ001002", id_name=NAME_2, id_phone=PHONE_2),  # Mar 3: kept
        person("TJ001003", meta_enum_id="E999", id_name="王五", id_phone="13700000000"),
        person("XX000001", id_name="赵六", id_phone="13600000000"),
        person(
            "", meta_enum_id="E999", id_name="钱七", id_phone="13500000000"
        ),  # no ID, but a test
    ]
    result = clean_round(export(baseline, rows), baseline, decisions_from(rules))
    assert result.data["resp_id"].tolist() == ["TJ001002"]
    assert sorted(_reasons(result), key=lambda r: r[0]) == [
        [2, "TJ001001", "pilot"],
        [4, "TJ001003", "test"],
        [5, "XX000001", "training"],
        [6, pd.NA, "test"],
    ]
    counts = result.exclusions.groupby("reason").size().to_dict()
    assert counts == {"pilot": 1, "test": 2, "training": 1}
    _conserved(result, 5)


def test_drop_rules_are_validated():
    with pytest.raises(DecisionsError, match=r"#1.*exactly one of column"):
        parse_rules('[[drop]]\nreason = "test"\nvalues = ["x"]\n')
    with pytest.raises(DecisionsError, match=r"dates apply only to field"):
        parse_rules('[[drop]]\nreason = "test"\ncolumn = "x"\nbefore = "2026-01-01"\n')
    with pytest.raises(DecisionsError, match=r"unknown key"):
        parse_rules('[[drop]]\nreason = "test"\ncolumn = "x"\nvalue = ["x"]\n')


def test_a_file_holding_another_wave_is_refused(export, baseline):
    rows = [
        person("TJ001001"),
        person("TJ001002", meta_round="endline", id_name=NAME_2, id_phone=PHONE_2),
    ]
    with pytest.raises(
        LinkageError, match=r"baseline.csv: declared round 'baseline'.*\['endline'\].*rows 3"
    ):
        clean_round(export(baseline, rows), baseline)
    rules = '[[drop]]\nreason = "other_round"\ncolumn = "meta_round"\nvalues = ["endline"]\n'
    result = clean_round(export(baseline, rows), baseline, decisions_from(rules))
    assert _reasons(result) == [[3, "TJ001002", "other_round"]]


def test_duplicates_across_two_files_of_a_round(export, baseline):
    first = export(baseline, [person("TJ001001")], name="city_a.csv")
    second = export(
        baseline,
        [person("TJ001001", job_wage="9000"), person("TJ001002", id_name=NAME_2, id_phone=PHONE_2)],
        name="city_b.csv",
    )
    with pytest.raises(UnresolvedDuplicatesError) as caught:
        clean_round([first, second], baseline)
    assert caught.value.report["source"].tolist() == ["city_a.csv", "city_b.csv"]
    decided = decisions_from(
        duplicates=_decide(
            {"key": "TJ001001", "instance_id": "uuid:city_a.csv-1", "action": "keep"},
            {"key": "TJ001001", "instance_id": "uuid:city_b.csv-1", "action": "drop"},
        )
    )
    result = clean_round([first, second], baseline, decided)
    summary = result.summary()
    assert summary["city_a.csv"]["rows_kept"] == 1
    assert summary["city_b.csv"] == {
        **summary["city_b.csv"],
        "rows_in": 2,
        "rows_kept": 1,
        "rows_excluded": 1,
    }


def test_consent_refusals_are_excluded_at_baseline(export, baseline):
    rows = [
        person("TJ001001"),
        {
            "meta_enum_id": "E001",
            "meta_city": "TJ",
            "meta_round": "baseline",
            "resp_id": "TJ001002",
            "meta_consent": "0",
        },
    ]
    result = clean_round(export(baseline, rows), baseline)
    assert result.data["resp_id"].tolist() == ["TJ001001"]
    assert _reasons(result) == [[3, "TJ001002", "not_interviewed"]]
    assert "meta_consent" in result.exclusions["detail"].iloc[0]


def _endline_row(resp_id, status, **answers):
    row = {
        "meta_enum_id": "E001",
        "meta_city": "TJ",
        "meta_round": "endline",
        "resp_id": resp_id,
        "trk_status": status,
    }
    row.update(answers)
    return row


def test_tracking_records_are_kept_for_attrition(export, endline):
    rows = [
        {**person("TJ001001"), "meta_round": "endline", "trk_status": "1"},
        _endline_row("TJ001002", "3"),
        _endline_row("TJ001003", "4"),
        _endline_row("TJ001004", "1", meta_consent="0"),
    ]
    result = clean_round(export(endline, rows), endline)
    data = result.data.set_index("resp_id")
    assert data["interviewed"].to_dict() == {
        "TJ001001": 1,
        "TJ001002": 0,
        "TJ001003": 0,
        "TJ001004": 0,
    }
    assert result.exclusions.empty
    assert data.loc["TJ001002", "meta_consent__reason"] == "skipped"
    assert data.loc["TJ001002", "dem_sex__reason"] == "skipped"
    # no skip-logic or required flags for the tracking records
    flagged = set(result.problems.dropna(subset=["key"])["key"])
    assert flagged <= {"TJ001001"}
