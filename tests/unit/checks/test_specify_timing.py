"""Other-specify listings, interview durations and hours, and the dashboards.

Expected values are worked out by hand from the rows written in each test.
"""

from __future__ import annotations

import datetime as dt

import pytest

from evaluation.checks import (
    CheckConfig,
    check_durations,
    check_other_specify,
    durations,
    enumerator_dashboard,
    prepare_round,
    survey_dashboard,
)
from tests.unit.checks.conftest import NAME, PHONE, answers, assert_no_identifiers, raw_round

OTHER = {
    "job_status": "96",
    "job_wage": "",
    "job_hours": "",
    "job_benefits": "",
    "job_title_text": "",
}


def test_other_specify_listing_and_recoding_candidates():
    rows = [
        answers(1, id_name=NAME, job_status_other="保安", **OTHER),
        answers(2, job_status_other="雇员", **OTHER),  # the Chinese label of option 1
        answers(3, job_status_other="  APPRENTICE. ", **OTHER),  # option 2, any case/punctuation
        answers(4, job_status_other=f"找{NAME}，电话{PHONE}", meta_enum_id="E002", **OTHER),
        answers(5),
        answers(6, meta_enum_id="E002"),
    ]
    result = check_other_specify(prepare_round(raw_round(rows)))
    findings = result.findings.set_index("key")
    assert findings.loc["TJ001001", ["rule", "severity", "value"]].tolist() == [
        "other_specify",
        "info",
        "保安",
    ]
    assert findings.loc["TJ001002", "rule"] == "specify_matches_option"
    assert findings.loc["TJ001002", "message"] == (
        "job_status = 96; the text is option 1 (Employee): recode"
    )
    assert findings.loc["TJ001003", "message"].startswith("job_status = 96; the text is option 2")
    # The name typed by the enumerator is the round's own id_name: masked, as is the phone.
    assert findings.loc["TJ001004", "value"] == "找[redacted],电话[phone]"
    assert_no_identifiers(result.findings.to_csv())
    summary = result.tables["specify_by_parent"].iloc[0]
    assert summary[["answered", "other", "texts", "matching_option"]].tolist() == [6, 4, 4, 2]
    by_enumerator = result.tables["other_by_enumerator"].set_index("enumerator")
    assert by_enumerator.loc["E001", ["answered", "other"]].tolist() == [4, 3]
    assert by_enumerator.loc["E002", "pct_other"] == pytest.approx(0.5)


def _times(start: str, minutes: float) -> dict[str, str]:
    begin = dt.datetime.fromisoformat(start)
    end = begin + dt.timedelta(minutes=minutes)
    return {
        "start": begin.isoformat(timespec="milliseconds"),
        "end": end.isoformat(timespec="milliseconds"),
        "today": begin.date().isoformat(),
    }


def test_durations_and_times():
    rows = [
        answers(1, **_times("2026-12-05T09:00:00+08:00", 40)),
        answers(2, **_times("2026-12-05T10:00:00+08:00", 10)),  # short
        answers(3, meta_consent="0", **_times("2026-12-05T11:00:00+08:00", 3)),  # refusal
        answers(4, **_times("2026-12-05T12:00:00+08:00", 200)),  # long
        answers(5, **_times("2026-12-05T14:00:00+08:00", -5)),  # end before start
        answers(6, **_times("2026-12-05T23:30:00+08:00", 40)),  # night
        answers(7, **_times("2026-11-30T09:00:00+08:00", 40)),  # before the fieldwork
        answers(8, **_times("2026-12-06T09:00:00+08:00", 40)),  # submitted before it started
    ]
    submitted = ["2026-12-05T12:00:00+08:00"] * 7 + ["2026-12-06T08:00:00+08:00"]
    config = CheckConfig(fieldwork_start=dt.date(2026, 12, 1))
    prepared = prepare_round(raw_round(rows, submitted=submitted), config)
    assert durations(prepared).tolist() == [40, 10, 3, 200, -5, 40, 40, 40]
    result = check_durations(prepared)
    got = sorted(zip(result.findings["key"], result.findings["rule"], strict=True))
    assert got == sorted(
        [
            ("TJ001002", "short_interview"),
            ("TJ001004", "long_interview"),
            ("TJ001004", "submitted_before_end"),  # ended 15:20, submitted at 12:00
            ("TJ001005", "end_before_start"),
            ("TJ001005", "submitted_before_start"),
            ("TJ001006", "night_interview"),
            ("TJ001006", "submitted_before_start"),
            ("TJ001007", "before_fieldwork"),
            ("TJ001008", "submitted_before_start"),
        ]
    )
    messages = result.findings.set_index(["key", "rule"])["message"]
    assert messages[("TJ001005", "end_before_start")] == (
        "end 2026-12-05 13:55 is before start 2026-12-05 14:00"
    )
    assert (
        messages[("TJ001007", "before_fieldwork")] == "dated before the fieldwork start 2026-12-01"
    )
    table = result.tables["interview_durations"]
    assert table["minutes"].tolist() == [40, 10, 200, 40, 40, 40]  # completed, not negative
    hours = result.tables["activity_by_hour"].set_index("day")
    assert hours.loc["2026-12-05", "23"] == 1
    assert hours.loc["2026-12-05"].sum() == 6


def test_the_rushing_enumerator():
    rows = [
        answers(i, meta_enum_id="E001", **_times(f"2026-12-05T{8 + i:02d}:00:00+08:00", 40 + i))
        for i in range(1, 6)
    ] + [
        answers(10 + i, meta_enum_id="E009", **_times(f"2026-12-05T{8 + i:02d}:00:00+08:00", 12))
        for i in range(1, 4)
    ]
    findings = check_durations(prepare_round(raw_round(rows))).findings
    rushing = findings[findings["rule"] == "rushing_enumerator"]
    # Completed durations 41..45 and 12, 12, 12: overall median 41.5; E009's median 12 is below
    # 60% of it (24.9); E001's 43 is not.
    assert rushing[["enumerator", "value", "key"]].values.tolist() == [["E009", "12.0 min", ""]]
    assert "below 60% of the overall median 41.5" in rushing["message"].iloc[0]
    assert (findings["rule"] == "short_interview").sum() == 3


def test_dashboards():
    rows = [
        answers(1, **_times("2026-12-05T09:00:00+08:00", 40)),
        answers(2, **_times("2026-12-06T09:00:00+08:00", 30), dem_age="-99"),
        answers(
            3,
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
            **_times("2026-12-06T10:00:00+08:00", 2),
        ),
        answers(4, meta_enum_id="E002", meta_city="SH", **_times("2026-12-05T09:00:00+08:00", 50)),
        answers(5, meta_enum_id="E002", meta_city="SH", **_times("2026-12-05T11:00:00+08:00", 60)),
    ]
    prepared = prepare_round(raw_round(rows))
    tables = enumerator_dashboard(prepared)
    e1 = tables["enumerators"].set_index("enumerator").loc["E001"]
    assert e1[["submissions", "completed", "days", "first_day", "last_day"]].tolist() == [
        3,
        2,
        2,
        "2026-12-05",
        "2026-12-06",
    ]
    assert e1["pct_consent"] == pytest.approx(2 / 3)
    assert e1["minutes_median"] == pytest.approx(35)  # completed interviews only: 40 and 30
    assert e1["per_day"] == pytest.approx(1.5)
    # Questions asked: 14 in each completed interview, 4 in the refusal (metadata and consent).
    assert e1["pct_dont_know"] == pytest.approx(1 / 32)
    productivity = tables["productivity"].set_index("enumerator")
    assert productivity.loc["E001", ["2026-12-05", "2026-12-06", "total"]].tolist() == [1, 2, 3]
    assert productivity.loc["E002", ["2026-12-05", "2026-12-06", "total"]].tolist() == [2, 0, 2]
    survey = survey_dashboard(prepared)
    overall = survey["survey"].iloc[0]
    assert overall[["submissions", "completed", "enumerators", "days"]].tolist() == [5, 4, 2, 2]
    assert overall["minutes_median"] == pytest.approx(45)  # 30, 40, 50, 60
    by_city = survey["survey_by_city"].set_index("city")
    assert by_city.loc["SH", "minutes_mean"] == pytest.approx(55)
    by_day = survey["survey_by_day"].set_index("day")
    assert by_day["submissions"].to_dict() == {"2026-12-05": 3, "2026-12-06": 2}
    assert by_day.loc["2026-12-06", "minutes_max"] == pytest.approx(
        30
    )  # the refusal is no interview
