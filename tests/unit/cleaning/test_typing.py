"""Typing, special codes, select_multiple, skip logic and constraints (DATA.md #10-#15).

Fixtures are hand-written rows read with the real loaders; expected values are written out in
each test (hand calculation from the rows).
"""

from __future__ import annotations

import pandas as pd
import pytest

from evaluation.cleaning import TypingError, clean_round
from tests.unit.cleaning.conftest import (
    assert_no_identifiers,
    decisions_from,
    person,
)


def _row(result, key):
    return result.data.set_index(result.key).loc[key]


def _problems(result, kind):
    return result.problems[result.problems["kind"] == kind]


def _conserved(result, raw_rows):
    assert len(result.data) + int((result.exclusions["table"] == "main").sum()) == raw_rows
    for counts in result.summary().values():
        assert counts["rows_in"] == counts["rows_kept"] + counts["rows_excluded"]


def test_types_follow_the_xlsform_type(export, baseline):
    result = clean_round(export(baseline, [person("TJ001001")]), baseline)
    data = result.data
    assert str(data["dem_sex"].dtype) == "Int64"
    assert str(data["dem_birth_year"].dtype) == "Int64"
    assert str(data["job_title_text"].dtype) == "string"
    assert str(data["job_si"].dtype) == "string"
    assert str(data["job_si__1"].dtype) == "Int64"
    assert str(data["job_start"].dtype) == "datetime64[us]"
    assert str(data["submitted_at"].dtype) == "datetime64[us, UTC]"
    assert str(data["dem_sex__reason"].dtype) == "string"
    assert data.loc[0, "job_start"] == pd.Timestamp("2024-03-05")
    assert data.loc[0, "round"] == "baseline"
    # no direct identifier in the clean data, and the key first
    assert "id_name" not in data.columns
    assert "id_phone" not in data.columns
    assert data.columns[0] == "resp_id"
    _conserved(result, 1)


def test_full_width_digits_are_normalised_counted_and_logged(export, baseline):
    rows = [
        person("TJ001001", dem_birth_year="１９９８", job_wage="４５００"),
        person("TJ001002", dem_birth_year=" 1999 ", job_wage="3,500"),
    ]
    result = clean_round(export(baseline, rows), baseline)
    assert _row(result, "TJ001001")["dem_birth_year"] == 1998
    assert _row(result, "TJ001001")["job_wage"] == 4500
    assert _row(result, "TJ001002")["dem_birth_year"] == 1999
    assert _row(result, "TJ001002")["job_wage"] == 3500
    log = result.log.set_index(["key", "variable"])
    assert log.loc[("TJ001001", "dem_birth_year"), "old"] == "１９９８"
    assert log.loc[("TJ001001", "dem_birth_year"), "new"] == "1998"
    assert log.loc[("TJ001001", "dem_birth_year"), "rule"] == "normalised"
    assert log.loc[("TJ001002", "job_wage"), "rule"] == "thousands_separator"
    # three normalised cells and one regrouped number, each logged once
    assert (result.log["rule"] == "normalised").sum() == 3
    assert result.summary()["baseline.csv"]["values_changed"] == 4


def test_special_codes_become_value_and_reason(export, baseline):
    rows = [
        person("TJ001001", dem_birth_year="-99", job_wage="-98", job_wage_bracket="2"),
        person("TJ001002", dem_birth_year="不知道", job_wage="拒绝", job_wage_bracket="1"),
        person("TJ001003", job_wage="4000"),
    ]
    result = clean_round(export(baseline, rows), baseline)
    for key in ("TJ001001", "TJ001002"):
        row = _row(result, key)
        assert pd.isna(row["dem_birth_year"])
        assert row["dem_birth_year__reason"] == "dont_know"
        assert pd.isna(row["job_wage"])
        assert row["job_wage__reason"] == "refused"
    assert pd.isna(_row(result, "TJ001003")["job_wage__reason"])
    # skip logic sees the codes: the bracket is asked after a refused wage, skipped otherwise
    assert _row(result, "TJ001002")["job_wage_bracket"] == 1
    assert _row(result, "TJ001003")["job_wage_bracket__reason"] == "skipped"
    texts = result.log[result.log["rule"] == "special_text"]
    assert sorted(texts["old"]) == ["不知道", "拒绝"]
    assert sorted(texts["new"]) == ["-98", "-99"]
    assert _problems(result, "required_missing").empty


def test_code_aliases_and_not_accepted_codes(export, baseline):
    rules = '[code_aliases]\n"-999" = "dont_know"\n'
    rows = [
        person("TJ001001", dem_birth_year="-999"),
        person("TJ001002", job_work="-97", job_wage="", job_si="", job_title_text="", job_start=""),
    ]
    result = clean_round(export(baseline, rows), baseline, decisions_from(rules))
    assert _row(result, "TJ001001")["dem_birth_year__reason"] == "dont_know"
    alias = result.log[result.log["rule"] == "code_alias"]
    assert alias[["old", "new"]].values.tolist() == [["-999", "-99"]]
    row = _row(result, "TJ001002")
    assert row["job_work__reason"] == "not_applicable"
    flagged = _problems(result, "special_code_not_accepted")
    assert flagged[["key", "variable"]].values.tolist() == [["TJ001002", "job_work"]]


def test_unknown_text_in_a_numeric_question_is_an_error(export, baseline):
    rows = [
        person("TJ001001", job_wage="四千"),
        person("TJ001002", job_wage="/", id_phone="13912345678"),
        person("TJ001003", dem_birth_year="1998年"),
    ]
    with pytest.raises(TypingError) as caught:
        clean_round(export(baseline, rows), baseline)
    message = str(caught.value)
    assert "job_wage" in message
    assert "'四千'" in message
    assert "'/'" in message
    assert "baseline.csv row 2" in message
    assert "dem_birth_year" in message
    assert "'1998年'" in message
    assert "whole number" in message
    assert "[text_codes]" in message
    assert_no_identifiers(message)


def test_text_codes_can_be_configured(export, baseline):
    rules = '[text_codes]\ndont_know = ["说不好", "DK"]\n'
    rows = [
        person("TJ001001", job_wage="说不好", job_wage_bracket="1"),
        person("TJ001002", job_wage="dk", job_wage_bracket="1"),
    ]
    result = clean_round(export(baseline, rows), baseline, decisions_from(rules))
    assert result.data["job_wage__reason"].tolist() == ["dont_know", "dont_know"]


def test_unknown_select_one_code_is_an_error(export, baseline):
    with pytest.raises(TypingError) as caught:
        clean_round(
            export(baseline, [person("TJ001001", dem_sex="3"), person("TJ001002", dem_sex="male")]),
            baseline,
        )
    message = str(caught.value)
    assert "dem_sex" in message
    assert "'3'" in message
    assert "'male'" in message
    assert "list 'sex'" in message


def test_dates_use_the_declared_format(export, baseline):
    rows = [person("TJ001001", job_start="2024/3/5")]
    with pytest.raises(TypingError, match=r"job_start.*'2024/3/5'.*iso8601"):
        clean_round(export(baseline, rows), baseline)
    result = clean_round(
        export(baseline, rows), baseline, decisions_from('[dates]\njob_start = "%Y/%m/%d"\n')
    )
    assert result.data.loc[0, "job_start"] == pd.Timestamp("2024-03-05")


def test_today_follows_the_declared_default_date_format(export, baseline):
    # SurveyCTO writes the 'today' metadata like its date questions ("Mar 20, 2025"); the
    # project declares that once as the default date format.
    import dataclasses

    from evaluation.instruments.model import Question

    form = dataclasses.replace(
        baseline, questions=(Question("today", "today"), *baseline.questions)
    )
    rows = [person("TJ001001", today="Mar 20, 2025", job_start="Mar 5, 2024")]
    with pytest.raises(TypingError, match=r"today.*'Mar 20, 2025'.*iso8601"):
        clean_round(export(form, rows), form)
    result = clean_round(
        export(form, rows), form, decisions_from('[dates]\ndefault = "%b %d, %Y"\n')
    )
    assert result.data.loc[0, "today"] == pd.Timestamp("2025-03-20")
    assert result.data.loc[0, "job_start"] == pd.Timestamp("2024-03-05")


def test_out_of_range_values_are_flagged_never_changed(export, baseline):
    rows = [
        person("TJ001001", dem_birth_year="1890"),
        person("TJ001002", job_wage="-5"),
        person("TJ001003", job_wage="45000"),
        person("TJ001004", job_wage="300000"),
    ]
    result = clean_round(export(baseline, rows), baseline)
    assert _row(result, "TJ001001")["dem_birth_year"] == 1890
    assert _row(result, "TJ001002")["job_wage"] == -5
    hard = _problems(result, "out_of_range")
    assert sorted(hard[["key", "variable"]].values.tolist()) == [
        ["TJ001001", "dem_birth_year"],
        ["TJ001002", "job_wage"],
        ["TJ001004", "job_wage"],
    ]
    assert set(hard["severity"]) == {"error"}
    soft = _problems(result, "soft_range")
    # 1890 and 300000 are outside the hard range (flagged there); 45000 and -5 ... -5 is hard
    assert soft[["key", "variable", "value"]].values.tolist() == [["TJ001003", "job_wage", "45000"]]
    assert set(soft["severity"]) == {"warning"}
    # a reviewed "okay" decision stops the flag
    decided = decisions_from(
        corrections=[
            {
                "instrument": "survey",
                "round": "baseline",
                "key": "TJ001004",
                "variable": "job_wage",
                "action": "okay",
                "initials": "LW",
                "notes": "confirmed by call-back",
            }
        ]
    )
    again = clean_round(export(baseline, rows), baseline, decided)
    assert "TJ001004" not in set(_problems(again, "out_of_range")["key"])
    assert _row(again, "TJ001004")["job_wage"] == 300000


def test_skip_logic_violations_both_directions(export, baseline):
    rows = [
        # answers where job_work = 0 says the job questions are not asked
        person("TJ001001", job_work="0", job_wage="3000", job_si="1"),
        # job_work = 1 but the required wage and insurance are blank
        person("TJ001002", job_wage="", job_si=""),
        # not working: nothing asked, nothing answered
        person("TJ001003", job_work="0", job_wage="", job_si="", job_title_text="", job_start=""),
    ]
    result = clean_round(export(baseline, rows), baseline)
    wrong = _problems(result, "not_relevant_value")
    assert sorted(wrong[["key", "variable"]].values.tolist()) == [
        ["TJ001001", "job_si"],
        ["TJ001001", "job_start"],
        ["TJ001001", "job_title_text"],
        ["TJ001001", "job_wage"],
    ]
    kept = _row(result, "TJ001001")
    assert kept["job_wage"] == 3000  # flagged, kept: blanked only by decision
    missing = _problems(result, "required_missing")
    assert sorted(missing[["key", "variable"]].values.tolist()) == [
        ["TJ001002", "job_si"],
        ["TJ001002", "job_wage"],
    ]
    assert _row(result, "TJ001002")["job_wage__reason"] == "missing"
    assert _row(result, "TJ001003")["job_wage__reason"] == "skipped"
    assert _row(result, "TJ001003")["job_si__reason"] == "skipped"
    assert _row(result, "TJ001003")["job_title_text__reason"] == "skipped"
    # the decision blanks the value; the flag goes and the reason is "skipped"
    decided = decisions_from(
        corrections=[
            {
                "instrument": "survey",
                "round": "baseline",
                "key": "TJ001001",
                "variable": "job_wage",
                "action": "blank",
                "old": "3000",
                "initials": "LW",
                "notes": "not working",
            }
        ]
    )
    again = clean_round(export(baseline, rows), baseline, decided)
    row = _row(again, "TJ001001")
    assert pd.isna(row["job_wage"])
    assert row["job_wage__reason"] == "skipped"
    blanked = again.log[again.log["rule"] == "blanked"]
    assert blanked[["key", "variable", "old", "new"]].values.tolist() == [
        ["TJ001001", "job_wage", "3000", ""]
    ]


def test_constraints_are_flagged(export, baseline):
    rows = [person("TJ001001", meta_enum_id="X12"), person("TJ001002", job_si="0 1")]
    result = clean_round(export(baseline, rows), baseline)
    failed = _problems(result, "constraint_failed")
    assert sorted(failed[["key", "variable"]].values.tolist()) == [
        ["TJ001001", "meta_enum_id"],
        ["TJ001002", "job_si"],
    ]
    combined = _problems(result, "exclusive_combined")
    assert combined[["key", "variable"]].values.tolist() == [["TJ001002", "job_si"]]


def test_stale_correction_is_refused(export, baseline):
    decided = decisions_from(
        corrections=[
            {
                "instrument": "survey",
                "round": "baseline",
                "key": "TJ001001",
                "variable": "job_wage",
                "action": "replace",
                "old": "5000",
                "new": "5500",
                "initials": "LW",
                "notes": "call-back",
            }
        ]
    )
    from evaluation.cleaning import DecisionsError

    with pytest.raises(
        DecisionsError, match=r"line 2: job_wage of 'TJ001001' is '4500', not the old value"
    ):
        clean_round(export(baseline, [person("TJ001001")]), baseline, decided)


def test_correction_after_call_back(export, baseline):
    decided = decisions_from(
        corrections=[
            {
                "instrument": "survey",
                "round": "baseline",
                "key": "TJ001001",
                "variable": "job_wage",
                "action": "replace",
                "old": "4500",
                "new": "5400",
                "initials": "LW",
                "notes": "digits swapped",
            }
        ]
    )
    result = clean_round(export(baseline, [person("TJ001001")]), baseline, decided)
    assert result.data.loc[0, "job_wage"] == 5400
    entry = result.log[result.log["rule"] == "correction"]
    assert entry[["key", "variable", "old", "new"]].values.tolist() == [
        ["TJ001001", "job_wage", "4500", "5400"]
    ]


# --- select_multiple in every encoding (DATA.md #15) -------------------------------------


def _si(result):
    columns = [
        "job_si",
        "job_si__reason",
        "job_si__1",
        "job_si__2",
        "job_si__3",
        "job_si__0",
        "job_si__dont_know",
    ]
    return result.data.set_index("resp_id")[columns]


def test_select_multiple_from_a_space_list(export, baseline):
    rows = [
        person("TJ001001", job_si="2 1"),
        person("TJ001002", job_si="-99"),
        person(
            "TJ001003", job_si="不清楚"
        ),  # [text_codes]; the label 不知道 would be a label export
        person("TJ001004", job_work="0", job_si="", job_wage="", job_title_text="", job_start=""),
        person("TJ001005", job_si="0"),
    ]
    si = _si(clean_round(export(baseline, rows), baseline))
    assert si.loc["TJ001001"].tolist() == ["2 1", pd.NA, 1, 1, 0, 0, 0]
    assert si.loc["TJ001002"].tolist() == [pd.NA, "dont_know", 0, 0, 0, 0, 1]
    assert si.loc["TJ001003"].tolist() == [pd.NA, "dont_know", 0, 0, 0, 0, 1]
    # not asked: the dummies are <NA>, not 0
    assert si.loc["TJ001004"].tolist() == [pd.NA, "skipped", pd.NA, pd.NA, pd.NA, pd.NA, pd.NA]
    assert si.loc["TJ001005"].tolist() == ["0", pd.NA, 0, 0, 0, 1, 0]


def test_select_multiple_kobo_indicators_blank_when_unanswered(export, baseline):
    rows = [
        person(
            "TJ001001",
            job_si="1 3",
            **{"job_si/1": "1", "job_si/2": "0", "job_si/3": "1", "job_si/0": "0"},
        ),
        person(
            "TJ001002",
            job_work="0",
            job_si="",
            job_wage="",
            job_title_text="",
            job_start="",
            **{"job_si/1": "", "job_si/2": "", "job_si/3": "", "job_si/0": ""},
        ),
        # the indicators disagree with the codes: the codes win, the row is flagged
        person(
            "TJ001003",
            job_si="2",
            **{"job_si/1": "1", "job_si/2": "1", "job_si/3": "0", "job_si/0": "0"},
        ),
    ]
    result = clean_round(export(baseline, rows), baseline)
    si = _si(result)
    assert si.loc["TJ001001", ["job_si__1", "job_si__2", "job_si__3"]].tolist() == [1, 0, 1]
    assert si.loc["TJ001002", "job_si__1"] is pd.NA
    assert si.loc["TJ001003", ["job_si__1", "job_si__2"]].tolist() == [0, 1]
    mismatch = _problems(result, "select_multiple_mismatch")
    assert mismatch["key"].tolist() == ["TJ001003"]
    assert "options 1" in mismatch["message"].iloc[0]


def test_select_multiple_odk_zero_when_skipped(export, baseline):
    # ODK Central writes 0 in every indicator when the question was skipped: not a mismatch
    rows = [
        person(
            "TJ001001",
            job_work="0",
            job_si="",
            job_wage="",
            job_title_text="",
            job_start="",
            **{"job_si/1": "0", "job_si/2": "0"},
        ),
        person("TJ001002", job_si="1", **{"job_si/1": "1", "job_si/2": "0"}),
    ]
    result = clean_round(export(baseline, rows), baseline)
    assert _problems(result, "select_multiple_mismatch").empty
    assert _si(result).loc["TJ001001", "job_si__reason"] == "skipped"
    assert _si(result).loc["TJ001001", "job_si__1"] is pd.NA


def test_select_multiple_surveycto_indicators_only(export, baseline):
    # a file with only q_<code> indicator columns (SurveyCTO, odkmeta): the codes are rebuilt
    rows = []
    for number, (ones, answered) in enumerate(
        [({"1", "2"}, True), (set(), True), ({"3"}, True), (set(), False)], start=1
    ):
        row = person(f"TJ00100{number}")
        del row["job_si"]
        for code in ("1", "2", "3", "0"):
            row[f"job_si_{code}"] = ("1" if code in ones else "0") if answered else ""
        if number == 2:
            row["job_si_0"] = "1"
        if not answered:
            row.update(job_work="0", job_wage="", job_title_text="", job_start="")
        rows.append(row)
    result = clean_round(export(baseline, rows), baseline)
    si = _si(result)
    assert si.loc["TJ001001", "job_si"] == "1 2"
    assert si.loc["TJ001002", "job_si"] == "0"
    assert si.loc["TJ001003", "job_si"] == "3"
    assert si.loc["TJ001004", "job_si__reason"] == "skipped"
    assert si.loc["TJ001004", "job_si__3"] is pd.NA


def test_select_multiple_special_indicator_named_by_its_key(export, baseline):
    # SPSS and Stata files from a survey firm: q_<code> dummies, and the don't-know option
    # (code -99, not allowed in a variable name) as q_dont_know
    rows = []
    for number, ones in enumerate([{"1"}, {"dont_know"}], start=1):
        row = person(f"TJ00100{number}")
        del row["job_si"]
        for option in ("1", "2", "3", "0", "dont_know"):
            row[f"job_si_{option}"] = "1" if option in ones else "0"
        rows.append(row)
    si = _si(clean_round(export(baseline, rows), baseline))
    assert si.loc["TJ001001", "job_si"] == "1"
    assert si.loc["TJ001002", "job_si"] is pd.NA
    assert si.loc["TJ001002", "job_si__reason"] == "dont_know"
    assert si.loc["TJ001002", "job_si__dont_know"] == 1


def test_select_multiple_unknown_codes_are_an_error(export, baseline):
    with pytest.raises(TypingError) as caught:
        clean_round(
            export(
                baseline, [person("TJ001001", job_si="1 7"), person("TJ001002", job_si="pension")]
            ),
            baseline,
        )
    message = str(caught.value)
    assert "job_si" in message
    assert "'7'" in message
    assert "'pension'" in message


def test_repeats_keyed_by_parent_and_index(export, baseline):
    rows = [person("TJ001001", trn_n="2"), person("TJ001002", trn_n="1")]
    repeats = {
        "trn": [
            {
                "PARENT_KEY": "uuid:baseline.csv-1",
                "KEY": "uuid:baseline.csv-1/trn[1]",
                "trn_hours": "８",
                "trn_topics": "1 3",
            },
            {
                "PARENT_KEY": "uuid:baseline.csv-1",
                "KEY": "uuid:baseline.csv-1/trn[2]",
                "trn_hours": "-99",
                "trn_topics": "2",
            },
            {
                "PARENT_KEY": "uuid:baseline.csv-2",
                "KEY": "uuid:baseline.csv-2/trn[1]",
                "trn_hours": "900",
                "trn_topics": "3",
            },
            {
                "PARENT_KEY": "uuid:baseline.csv-2",
                "KEY": "uuid:baseline.csv-2/trn[2]",
                "trn_hours": "5",
                "trn_topics": "3",
            },
        ]
    }
    result = clean_round(export(baseline, rows, repeats=repeats), baseline)
    trn = result.repeats["trn"]
    assert trn[["resp_id", "trn_index"]].values.tolist() == [
        ["TJ001001", 1],
        ["TJ001001", 2],
        ["TJ001002", 1],
        ["TJ001002", 2],
    ]
    assert trn["trn_hours"].tolist()[:1] == [8]
    assert trn["trn_hours__reason"].tolist()[1] == "dont_know"
    assert trn["trn_topics__3"].tolist() == [1, 0, 1, 1]
    out = _problems(result, "out_of_range")
    assert out[["table", "key", "variable"]].values.tolist() == [["trn", "TJ001002", "trn_hours"]]
    count = _problems(result, "repeat_count_mismatch")
    assert count[["key", "variable"]].values.tolist() == [["TJ001002", "trn"]]
    summary = result.summary()["baseline.csv"]
    assert summary["repeats"]["trn"] == {"rows_in": 4, "rows_kept": 4, "rows_excluded": 0}


def test_other_specify_recodes(export, baseline):
    # job_si has no "other" option in this form: the recode targets a select_one with a text
    rows = [
        person("TJ001001", job_si="3", job_title_text="公积金"),
        person("TJ001002", job_si="3", job_title_text="别的"),
    ]
    decided = decisions_from(
        specify=[
            {
                "instrument": "survey",
                "parent": "job_si",
                "other_code": "3",
                "variable": "job_title_text",
                "text": "公积金",
                "code": "2",
                "initials": "LW",
                "notes": "coded by hand",
            }
        ]
    )
    result = clean_round(export(baseline, rows), baseline, decided)
    si = result.data.set_index("resp_id")["job_si"]
    assert si.to_dict() == {"TJ001001": "2", "TJ001002": "3"}
    entry = result.log[result.log["rule"] == "specify_recode"]
    assert entry[["key", "variable", "old", "new"]].values.tolist() == [
        ["TJ001001", "job_si", "3", "2"]
    ]
    bad = decisions_from(
        specify=[
            {
                "instrument": "survey",
                "parent": "job_si",
                "other_code": "3",
                "variable": "job_title_text",
                "text": "x",
                "code": "9",
                "initials": "LW",
                "notes": "n",
            }
        ]
    )
    from evaluation.cleaning import DecisionsError

    with pytest.raises(DecisionsError, match=r"code '9' is not in list 'si'"):
        clean_round(export(baseline, rows), baseline, bad)


def test_conservation_is_checked_when_a_round_is_built(export, baseline):
    import dataclasses

    from evaluation.cleaning import ConservationError

    result = clean_round(export(baseline, [person("TJ001001")]), baseline)
    with pytest.raises(
        ConservationError, match=r"baseline\.csv \(main\): 2 rows in, 1 kept, 0 excluded"
    ):
        dataclasses.replace(result, rows_in={("baseline.csv", "main"): 2})


def test_interview_durations_are_flagged_never_dropped(export, baseline):
    times = {
        "TJ001001": ("2026-03-01T10:00:00+08:00", "2026-03-01T10:45:00+08:00"),  # 45 minutes
        "TJ001002": ("2026-03-01T10:00:00+08:00", "2026-03-01T10:06:00+08:00"),  # 6 minutes
        "TJ001003": ("2026-03-01T10:00:00+08:00", "2026-03-01T14:00:00+08:00"),  # 240 minutes
        "TJ001004": ("2026-03-01T10:00:00+08:00", "2026-03-01T09:00:00+08:00"),  # ends first
    }
    rows = [person(key, start=start, end=end) for key, (start, end) in times.items()]
    result = clean_round(export(baseline, rows), baseline)
    assert len(result.data) == 4
    assert result.data.loc[0, "start"] == pd.Timestamp("2026-03-01T02:00:00Z")
    flagged = result.problems[result.problems["variable"] == "end"]
    assert flagged[["key", "kind", "value"]].values.tolist() == [
        ["TJ001002", "short_interview", "6.0"],
        ["TJ001003", "long_interview", "240.0"],
        ["TJ001004", "end_before_start", "-60.0"],
    ]


def test_select_multiple_special_code_outside_the_list(export, baseline):
    # "refused" is a special code of the instrument but not an option of the insurance list
    rows = [person("TJ001001", job_si="拒绝"), person("TJ001002", job_si="-98")]
    result = clean_round(export(baseline, rows), baseline)
    si = _si(result)
    for key in ("TJ001001", "TJ001002"):
        assert si.loc[key, "job_si__reason"] == "refused"
        assert pd.isna(si.loc[key, "job_si"])
        assert si.loc[key, ["job_si__1", "job_si__0", "job_si__dont_know"]].isna().all()
    flagged = _problems(result, "special_code_not_accepted")
    assert flagged[["key", "variable"]].values.tolist() == [
        ["TJ001001", "job_si"],
        ["TJ001002", "job_si"],
    ]
